// `hfaudit lock` (write/update hfaudit.lock) and `hfaudit pull --locked`.
#include "cli/lock_command.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <optional>

#include "app/lock.hpp"
#include "cache/layout.hpp"
#include "cache/lock.hpp"
#include "cli/commands.hpp"
#include "cli/env.hpp"
#include "cli/hub_setup.hpp"
#include "cli/policy_setup.hpp"
#include "cli/pull_output.hpp"
#include "lockfile/lockfile.hpp"
#include "lockfile/requirements.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/text.hpp"

namespace hfaudit::cli {

namespace {

struct LockArgs {
  std::vector<std::string> repos;
  std::string requirements;  // -r FILE
  std::string lockfile = std::string(lockfile::k_default_file_name);
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  std::string policy;
  size_t jobs = 8;
};

constexpr const char* k_lock_footer =
    R"(Pins each repository to a commit and every selected file to its path, size,
sha256 and git oid, with the policy verdict, in a lock file (default
./hfaudit.lock; format in docs/lockfile.md). Each repository is pulled for real
(downloaded, verified, scanned and gated into the cache, as 'hfaudit pull'
does), so the sha256 of every file is known and the cache is warm afterwards.

Re-locking changes only what changed: entries of repositories not named are
kept, and a repository whose commit, files, globs and verdict did not change
keeps a byte-identical entry. A repository named without @REV or globs keeps the
revision and globs of its entry. With no REPO and no -r, every entry of the lock
file is re-locked. A repository the policy blocks (exit 6) or that fails (Hub,
integrity) is not written, and its existing entry is kept as it was; the others
are still locked.

Examples:
  hfaudit lock org/encoder org/reranker@v1.2
  hfaudit lock -r models.txt --exclude '*.bin' --exclude '*.pt'
  hfaudit lock                     # re-lock every entry of ./hfaudit.lock
  hfaudit lock org/encoder --lockfile ci/hfaudit.lock --json

models.txt holds one org/name[@rev] per line; '#' starts a comment.

Exit codes: 0 every repository locked, 2 usage error or invalid lock or
requirements file, 3 a file could not be read or written, 4 Hub error (also
with HF_HUB_OFFLINE: locking needs the Hub), 5 integrity error, 6 a repository
was blocked by the policy.)";

constexpr const char* k_requirements_hint =
    "write one org/name[@rev] per line; '#' starts a comment";

// The part of a lockfile/util error message after "<path>: ", which the
// error line names already.
std::string without_path(const std::string& message, const std::string& path) {
  const std::string prefix = path + ": ";
  return message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
}

enum class IfMissing { empty, error };

// Reads a lock file, printing the contract's error line on failure and
// setting `code` (2 invalid, 3 unreadable or missing).
std::optional<lockfile::Lockfile> read_lockfile(const std::string& path, IfMissing if_missing,
                                                ExitCode& code) {
  auto lock = lockfile::read(path);
  if (lock) return std::move(*lock);
  const util::Error& error = lock.error();
  if (error.code == util::ErrorCode::not_found && if_missing == IfMissing::empty)
    return lockfile::Lockfile{};
  if (error.code == util::ErrorCode::invalid_argument) {
    print_error("invalid lock file", path, without_path(error.message, path),
                "fix it or re-create it with 'hfaudit lock' (format: docs/lockfile.md)");
    code = ExitCode::usage;
  } else {
    print_error("cannot read lock file", path, without_path(error.message, path),
                error.code == util::ErrorCode::not_found
                    ? "create it with 'hfaudit lock org/name', or name it: --locked FILE"
                    : "");
    code = ExitCode::input;
  }
  return std::nullopt;
}

// The requests of one lock run: the REPO arguments, then -r FILE, or every
// entry of the lock when neither is given. Errors are printed; `code` set.
std::optional<std::vector<app::LockRequest>> gather_requests(const LockArgs& args,
                                                             const lockfile::Lockfile& existing,
                                                             ExitCode& code) {
  code = ExitCode::usage;
  std::vector<app::LockRequest> requests;
  std::map<std::string, std::string> seen;  // lowercase id -> where it was named
  const auto add = [&](const hub::RepoRef& ref, const std::string& where) {
    if (auto [it, inserted] = seen.emplace(util::ascii_lower(ref.repo.str()), where); !inserted) {
      print_error("repository named twice", where,
                  fmt::format("{} was already named ({})", ref.repo.str(), it->second),
                  "lock one revision per repository");
      return false;
    }
    requests.push_back(app::lock_request(ref, args.include, args.exclude, existing));
    return true;
  };

  for (const auto& repo : args.repos) {
    auto ref = parse_repo_argument(repo, "");
    if (!ref || !add(*ref, "command line")) return std::nullopt;
  }
  if (!args.requirements.empty()) {
    auto text = util::read_file(args.requirements);
    if (!text) {
      print_error("cannot read requirements", args.requirements,
                  without_path(text.error().message, args.requirements));
      code = ExitCode::input;
      return std::nullopt;
    }
    auto lines = lockfile::parse_requirements(*text, args.requirements);
    if (!lines) {
      const std::string& message = lines.error().message;
      const size_t colon = message.find(": ", args.requirements.size());
      print_error("invalid requirements", message.substr(0, colon), message.substr(colon + 2),
                  k_requirements_hint);
      return std::nullopt;
    }
    for (const auto& line : *lines) {
      const std::string where = fmt::format("{}:{}", args.requirements, line.line);
      auto ref = hub::parse_repo_ref(line.spec);
      if (!ref) {
        print_error("invalid requirement", where, ref.error().message, k_requirements_hint);
        return std::nullopt;
      }
      if (!add(*ref, where)) return std::nullopt;
    }
    if (lines->empty() && args.repos.empty()) {
      print_error("nothing to lock", args.requirements, "the file names no repository");
      return std::nullopt;
    }
  }
  if (args.repos.empty() && args.requirements.empty()) {
    if (existing.repos.empty()) {
      print_error("nothing to lock", args.lockfile, "no REPO, no -r FILE and no lock entries",
                  "run 'hfaudit lock org/name' or 'hfaudit lock -r FILE'");
      return std::nullopt;
    }
    auto all = app::lock_requests(existing);
    if (!all) {
      print_error("invalid lock file", args.lockfile, all.error().message);
      return std::nullopt;
    }
    // Re-locking everything: each entry keeps its globs unless new ones are given.
    for (auto& request : *all)
      request = app::lock_request(request.ref, args.include, args.exclude, existing);
    requests = std::move(*all);
  }
  code = ExitCode::ok;
  return requests;
}

// Saves what this run pinned and returns whether the file changed. Another
// `hfaudit lock` may have rewritten the file while this one was pulling, so it
// is read again under a lock (in HFAUDIT_HOME, keyed on the file's absolute
// path) and only this run's added or updated entries are applied to it:
// neither run's entries are lost.
util::Result<bool> save_lock(const std::string& path,
                             const std::vector<app::RepoLockResult>& results,
                             const lockfile::Lockfile& ours, const Environment& env) {
  const cache::Layout layout({env.hfaudit_home, env.hf_hub_cache});
  HFAUDIT_TRY(layout.create_directories());
  const std::string absolute = std::filesystem::absolute(path).lexically_normal().string();
  const auto guard = HFAUDIT_TRY(
      cache::lock_named(layout, "lockfile-" + util::sha256_hex(absolute).substr(0, 16)));
  lockfile::Lockfile current;
  if (auto read = lockfile::read(path)) {
    current = std::move(*read);
  } else if (read.error().code != util::ErrorCode::not_found) {
    return read.error();
  }
  const lockfile::Lockfile before = current;
  for (const auto& r : results)
    if (r.outcome == app::LockOutcome::added || r.outcome == app::LockOutcome::updated)
      current.upsert(*ours.find(r.request.ref.repo.str()));
  if (current == before) return false;
  HFAUDIT_TRY(lockfile::write(path, current));
  return true;
}

ExitCode exit_code_of(const app::RepoLockResult& r) {
  switch (r.outcome) {
    case app::LockOutcome::added:
    case app::LockOutcome::updated:
    case app::LockOutcome::unchanged:
      return ExitCode::ok;
    case app::LockOutcome::blocked:
      return ExitCode::policy_blocked;
    case app::LockOutcome::failed:
      break;
  }
  // A pull that went through with nothing wrong but nothing to pin: the
  // globs selected no file, a usage error.
  const ExitCode code = pull_exit_code(r.pull);
  return code == ExitCode::ok ? ExitCode::usage : code;
}

nlohmann::json lock_json(const std::string& path, bool written,
                         const std::vector<app::RepoLockResult>& results,
                         const lockfile::Lockfile& lock) {
  nlohmann::json repos = nlohmann::json::array();
  for (const auto& r : results) {
    const lockfile::LockedRepo* entry = lock.find(r.request.ref.repo.str());
    const bool pinned = r.outcome == app::LockOutcome::added ||
                        r.outcome == app::LockOutcome::updated ||
                        r.outcome == app::LockOutcome::unchanged;
    repos.push_back(
        {{"repo", r.request.ref.repo.str()},
         {"revision", r.request.ref.revision},
         {"outcome", app::to_string(r.outcome)},
         {"commit", pinned ? nlohmann::json(entry->commit) : nlohmann::json(nullptr)},
         {"previous_commit",
          r.previous_commit ? nlohmann::json(*r.previous_commit) : nlohmann::json(nullptr)},
         {"files", pinned ? nlohmann::json(entry->files.size()) : nlohmann::json(nullptr)},
         {"verdict", pinned ? nlohmann::json(lockfile::to_string(entry->policy.verdict))
                            : nlohmann::json(nullptr)},
         {"reason", r.reason},
         {"exit_code", static_cast<int>(exit_code_of(r))},
         {"pull", pull_json(r.pull)}});
  }
  return {{"lockfile", path}, {"written", written}, {"repos", repos}};
}

std::string lock_text(const std::string& path, bool written,
                      const std::vector<app::RepoLockResult>& results,
                      const lockfile::Lockfile& lock) {
  std::string out;
  size_t counts[5] = {0, 0, 0, 0, 0};
  for (const auto& r : results) {
    ++counts[static_cast<size_t>(r.outcome)];
    const std::string name = r.request.ref.repo.str() + "@" + r.request.ref.revision;
    const lockfile::LockedRepo* entry = lock.find(r.request.ref.repo.str());
    switch (r.outcome) {
      case app::LockOutcome::added:
      case app::LockOutcome::unchanged:
      case app::LockOutcome::updated:
        out += fmt::format("{:<9} {} -> {}{} ({} files, policy {}: {})\n",
                           app::to_string(r.outcome), name,
                           r.outcome == app::LockOutcome::updated && r.previous_commit &&
                                   *r.previous_commit != entry->commit
                               ? r.previous_commit->substr(0, 12) + " -> "
                               : "",
                           entry->commit, entry->files.size(), entry->policy.name,
                           lockfile::to_string(entry->policy.verdict));
        break;
      case app::LockOutcome::blocked:
      case app::LockOutcome::failed:
        out += fmt::format("{:<9} {}: {}{}\n", app::to_string(r.outcome), name, r.reason,
                           r.previous_commit ? " (entry kept at " + *r.previous_commit + ")" : "");
        break;
    }
  }
  out += fmt::format("{}: {} added, {} updated, {} unchanged, {} blocked, {} failed ({})\n", path,
                     counts[0], counts[1], counts[2], counts[3], counts[4],
                     written ? "written" : "not rewritten");
  return out;
}

}  // namespace

CommandRunner add_lock_command(CLI::App& app, OutputOptions& output) {
  auto args = std::make_shared<LockArgs>();
  CLI::App* cmd = app.add_subcommand("lock", "Pin repositories and their files in hfaudit.lock");
  cmd->footer(k_lock_footer);
  cmd->add_option("REPO", args->repos, "Repositories as org/name or org/name@revision");
  cmd->add_option("-r,--requirements", args->requirements,
                  "File with one org/name[@rev] per line ('#' comments)");
  cmd->add_option("--lockfile", args->lockfile, "Lock file to write or update")
      ->default_str(std::string(lockfile::k_default_file_name));
  cmd->add_option("--include", args->include,
                  "Only files matching this glob (repeatable; replaces the entry's globs)");
  cmd->add_option("--exclude", args->exclude,
                  "Skip files matching this glob (repeatable; replaces the entry's globs)");
  add_policy_option(*cmd, args->policy);
  add_jobs_option(*cmd, args->jobs, "Files downloaded in parallel");
  cmd->add_flag("--json", output.json, "Write the hfaudit.lock/1 JSON document");
  cmd->add_option("-o,--output", output.output_file,
                  "Write the document to FILE instead of stdout");

  return [args, &output]() {
    ExitCode code = ExitCode::ok;
    auto existing = read_lockfile(args->lockfile, IfMissing::empty, code);
    if (!existing) return code;
    auto requests = gather_requests(*args, *existing, code);
    if (!requests) return code;

    const Environment env = read_environment();
    if (env.offline) {
      print_error("cannot lock", args->lockfile,
                  "HF_HUB_OFFLINE is set, and locking asks the Hub for the current commit, files "
                  "and verdict",
                  "lock online; 'hfaudit pull --locked' then works offline");
      return ExitCode::hub;
    }
    const auto policy = load_selected_policy(args->policy, env, code);
    if (!policy) return code;
    auto client = make_hub_client(env, output.verbose);
    if (!client) return ExitCode::usage;

    app::PullOptions options = pull_options(env, policy->policy, args->jobs);
    options.actor = "hfaudit lock";
    ProgressDisplay progress(output);
    lockfile::Lockfile lock = *existing;
    std::vector<app::RepoLockResult> results;
    for (const auto& request : *requests) {
      options.on_progress = progress.callback("locking " + request.ref.repo.str());
      results.push_back(app::lock_repo(*client, request, options, lock));
      progress.clear();
      const app::RepoLockResult& r = results.back();
      print_pull_errors(r.pull, r.request.ref.repo.str() + ": ");
      if (r.outcome == app::LockOutcome::blocked || r.outcome == app::LockOutcome::failed)
        print_error(
            "not locked", r.request.ref.repo.str(), r.reason,
            r.previous_commit ? "its entry in " + args->lockfile + " was kept as it was" : "");
      code = most_serious(code, exit_code_of(r));
    }

    auto saved = save_lock(args->lockfile, results, lock, env);
    if (!saved) {
      const bool invalid = saved.error().code == util::ErrorCode::invalid_argument;
      print_error(invalid ? "invalid lock file" : "cannot write lock file", args->lockfile,
                  without_path(saved.error().message, args->lockfile),
                  invalid ? "it changed while locking; fix it and lock again" : "");
      return most_serious(code, invalid ? ExitCode::usage : ExitCode::input);
    }
    const bool changed = *saved;
    const std::string document =
        output.json
            ? machine_document("hfaudit.lock/1", lock_json(args->lockfile, changed, results, lock))
            : lock_text(args->lockfile, changed, results, lock);
    if (!write_document(output, document)) return most_serious(code, ExitCode::input);
    return code;
  };
}

ExitCode run_locked_pull(const std::string& lockfile_path, const std::string& policy_flag,
                         bool offline, size_t jobs, OutputOptions& output) {
  ExitCode code = ExitCode::ok;
  const auto lock = read_lockfile(lockfile_path, IfMissing::error, code);
  if (!lock) return code;
  const Environment env = read_environment();
  const auto policy = load_selected_policy(policy_flag, env, code);
  if (!policy) return code;
  auto client = make_hub_client(env, output.verbose);
  if (!client) return ExitCode::usage;

  app::PullOptions options = pull_options(env, policy->policy, jobs);
  options.offline = options.offline || offline;
  options.actor = "hfaudit pull --locked";
  ProgressDisplay progress(output);
  options.on_progress = progress.callback("pulling " + lockfile_path);
  const std::vector<app::PullResult> results = app::pull_locked(*client, *lock, options);
  progress.clear();

  bool network_used = false;
  nlohmann::json repos = nlohmann::json::array();
  std::string text;
  for (const auto& r : results) {
    print_pull_errors(r, r.repo + ": ");
    code = most_serious(code, pull_exit_code(r));
    network_used = network_used || r.network_used;
    repos.push_back(pull_json(r));
    if (!output.json && !r.failure)
      text += pull_text(r, output.verbose, output.output_file.empty() && stdout_color_enabled(),
                        progress.seconds());
  }
  text += fmt::format(
      "{}: {} repositories, {}\n", lockfile_path, results.size(),
      network_used ? "fetched from the Hub where not cached" : "all from the cache, no request");
  const std::string document =
      output.json
          ? machine_document(
                "hfaudit.pull-locked/1",
                {{"lockfile", lockfile_path}, {"network_used", network_used}, {"repos", repos}})
          : text;
  if (!write_document(output, document)) return most_serious(code, ExitCode::input);
  return code;
}

}  // namespace hfaudit::cli
