#include "app/pull.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/blob_scan.hpp"
#include "app/info.hpp"
#include "cache/blob_store.hpp"
#include "cache/hf_view.hpp"
#include "cache/index.hpp"
#include "cache/lock.hpp"
#include "scan/engine.hpp"
#include "util/fs.hpp"

namespace hfaudit::app {

namespace {

constexpr cache::RepoType k_model = cache::RepoType::model;

// One file of the commit as the Hub lists it.
struct Wanted {
  size_t index = 0;  // into PullResult::files
  hub::TreeEntry entry;
  cache::ExpectedBlob expected;
  std::optional<std::string> known_sha256;  // blob already in the store
};

bool matches_any(const std::vector<std::string>& globs, const std::string& path) {
  // Like huggingface_hub's allow/ignore patterns: fnmatch without FNM_PATHNAME,
  // so "*.bin" matches "sub/model.bin" too.
  return std::any_of(globs.begin(), globs.end(), [&](const std::string& g) {
    return ::fnmatch(g.c_str(), path.c_str(), 0) == 0;
  });
}

bool selected(const PullOptions& options, const std::string& path) {
  return selected_by_globs(options.include, options.exclude, path);
}

// The state one pull shares between its worker threads.
class Puller {
 public:
  Puller(const hub::HubClient& client, const hub::RepoRef& ref, const PullOptions& options,
         cache::BlobStore& store, PullResult& result)
      : m_client(client), m_ref(ref), m_options(options), m_store(store), m_result(result) {}

  // Downloads, verifies and scans every wanted file, `parallel_downloads` at a time.
  void fetch_all(std::vector<Wanted>& wanted) {
    for (const auto& w : wanted)
      m_progress.bytes_total += w.entry.lfs ? w.entry.lfs->size : w.entry.size.value_or(0);
    m_progress.files_total = wanted.size();
    std::atomic<size_t> next{0};
    const size_t workers =
        std::max<size_t>(1, std::min(m_options.parallel_downloads, wanted.size()));
    std::vector<std::thread> threads;
    for (size_t t = 0; t < workers; ++t)
      threads.emplace_back([&] {
        // One index connection per thread (SQLite connections are not shared).
        auto index = cache::Index::open(m_store.layout().index_path());
        for (size_t i = next++; i < wanted.size(); i = next++) {
          PulledFile& file = m_result.files[wanted[i].index];
          if (!index) {
            fail(file, FailureKind::io, index.error().message);
            continue;
          }
          fetch_one(**index, wanted[i], file);
          {
            std::lock_guard lock(m_progress_mutex);
            ++m_progress.files_done;
          }
          report_progress(0);
        }
      });
    for (auto& t : threads) t.join();
  }

  // Scans a verified blob (or reuses this scanner version's verdict) and fills
  // the file's findings.
  void scan_blob(cache::Index& index, PulledFile& file) {
    auto scanned = scan_stored_blob(index, m_store, file.sha256, file.path);
    if (!scanned) {
      fail(file, FailureKind::io, "cannot open the verified blob: " + scanned.error().message);
      return;
    }
    file.findings = std::move(scanned->findings);
    file.max_severity = scanned->max_severity;
    file.report = std::move(scanned->report);
  }

 private:
  static void fail(PulledFile& file, FailureKind kind, std::string reason) {
    file.outcome = FileOutcome::failed;
    file.failure = kind;
    file.reason = std::move(reason);
  }

  void report_progress(uint64_t bytes) {
    if (!m_options.on_progress) return;
    PullProgress snapshot;
    {
      std::lock_guard lock(m_progress_mutex);
      m_progress.bytes_done += bytes;
      snapshot = m_progress;
    }
    m_options.on_progress(snapshot);
  }

  void fetch_one(cache::Index& index, const Wanted& w, PulledFile& file) {
    // Another process may be fetching the same blob: wait for it, then reuse.
    auto lock = m_store.lock(w.expected);
    if (!lock) return fail(file, FailureKind::io, "cannot lock the blob: " + lock.error().message);
    if (auto known = find_known_blob(index, w)) {
      file.sha256 = *known;
      file.source = FileSource::cache;
    } else {
      auto committed = download(w, file);
      if (!committed) return;
      file.sha256 = committed->sha256;
      if (auto recorded = index.record_blob(committed->sha256, committed->size,
                                            w.expected.kind == cache::ExpectedHash::git_sha1
                                                ? std::optional<std::string_view>(w.expected.digest)
                                                : std::nullopt);
          !recorded)
        return fail(file, FailureKind::io, recorded.error().message);
    }
    scan_blob(index, file);
    if (file.failure == FailureKind::none) file.outcome = FileOutcome::linked;  // gate may block
  }

  std::optional<std::string> find_known_blob(cache::Index& index, const Wanted& w) {
    if (w.expected.kind == cache::ExpectedHash::sha256) {
      if (m_store.has_blob(w.expected.digest)) return w.expected.digest;
      return std::nullopt;
    }
    auto blob = index.find_blob_by_git_sha1(w.expected.digest);
    if (blob && *blob && m_store.has_blob((*blob)->sha256)) return (*blob)->sha256;
    return std::nullopt;
  }

  // Fetches the whole file into a writer and commits it. On failure the file
  // is marked and nullopt returned; nothing unverified reaches the store.
  std::optional<cache::CommittedBlob> download(const Wanted& w, PulledFile& file) {
    for (int round = 0; round < 2; ++round) {
      // Round 0 resumes a partial left by a crash or a cut connection; if its
      // bytes turn out wrong (the hash fails), round 1 starts from scratch.
      cache::WriterOptions writer_options;
      writer_options.resume = round == 0 ? cache::Resume::yes : cache::Resume::no;
      writer_options.on_abandon = cache::OnAbandon::keep_partial;
      auto writer = m_store.begin_write(w.expected, writer_options);
      if (!writer) {
        fail(file, FailureKind::io, "cannot write the blob: " + writer.error().message);
        return std::nullopt;
      }
      const uint64_t resumed = (*writer)->resume_offset();
      if (resumed > 0)
        file.source = FileSource::resumed;
      else
        file.source = FileSource::downloaded;

      const uint64_t size = w.expected.size;
      bool ok = true;
      if (resumed == 0 && size >= m_options.range_threshold && m_options.max_ranges > 1)
        ok = fetch_ranges(**writer, w, file);
      else
        ok = fetch_sequential(**writer, w, file, resumed, round);
      if (!ok) return std::nullopt;

      auto committed = (*writer)->commit();
      if (committed) {
        file.reason.clear();
        return std::move(*committed);
      }
      if (committed.error().code == util::ErrorCode::integrity && resumed > 0 && round == 0)
        continue;  // the resumed prefix was bad: start over once
      fail(file,
           committed.error().code == util::ErrorCode::integrity ? FailureKind::integrity
                                                                : FailureKind::io,
           committed.error().message);
      return std::nullopt;
    }
    return std::nullopt;
  }

  // Streams [offset, end) into writer.write(), resuming after cut connections.
  bool fetch_sequential(cache::BlobWriter& writer, const Wanted& w, PulledFile& file,
                        uint64_t offset, int round) {
    for (int attempt = 0; attempt < m_options.max_attempts; ++attempt) {
      bool restart = false;
      std::optional<util::Error> write_error;
      hub::DownloadCallbacks callbacks;
      callbacks.on_start = [&](const hub::DownloadStart& start) {
        if (start.offset != offset) {
          restart = true;  // the server ignored the range: start a fresh writer
          return false;
        }
        return true;
      };
      callbacks.on_data = [&](std::string_view chunk) {
        if (auto status = writer.write(chunk.data(), chunk.size()); !status) {
          write_error = status.error();
          return false;
        }
        file.bytes_fetched += chunk.size();
        report_progress(chunk.size());
        return true;
      };
      auto result = m_client.download(m_ref.repo, m_result.commit, w.entry.path, callbacks, offset);
      if (result) return true;
      if (write_error) {
        fail(file,
             write_error->code == util::ErrorCode::integrity ? FailureKind::integrity
                                                             : FailureKind::io,
             write_error->message);
        return false;
      }
      if (restart && round == 0 && offset > 0) {
        // Restarting means discarding the resumed bytes; the caller's second
        // round opens the writer with Resume::no.
        fail(file, FailureKind::hub, "the server ignored the resume range");
        return false;
      }
      const hub::HubError& error = result.error();
      if (error.kind == hub::HubErrorKind::network && error.bytes_delivered > 0) {
        offset += error.bytes_delivered;  // cut mid-body: continue where it stopped
        continue;
      }
      fail(file, FailureKind::hub, error.describe());
      return false;
    }
    fail(file, FailureKind::hub,
         "the connection kept breaking (" + std::to_string(m_options.max_attempts) + " attempts)");
    return false;
  }

  // Big files: several ranges in parallel, each written with write_at (the
  // writer hashes bytes in order as the contiguous prefix grows).
  bool fetch_ranges(cache::BlobWriter& writer, const Wanted& w, PulledFile& file) {
    const uint64_t size = w.expected.size;
    const uint64_t n = std::min<uint64_t>(m_options.max_ranges, size / (64ull << 20) + 1);
    const uint64_t step = (size + n - 1) / n;
    std::mutex writer_mutex;
    std::vector<std::string> errors(n);
    std::vector<FailureKind> kinds(n, FailureKind::none);
    std::vector<std::thread> threads;
    std::atomic<uint64_t> fetched{0};
    for (uint64_t r = 0; r < n; ++r)
      threads.emplace_back([&, r] {
        uint64_t offset = r * step;
        const uint64_t end = std::min(size, offset + step);  // exclusive
        for (int attempt = 0; attempt < m_options.max_attempts && offset < end; ++attempt) {
          std::optional<util::Error> write_error;
          hub::DownloadCallbacks callbacks;
          callbacks.on_start = [&](const hub::DownloadStart& start) {
            return start.offset == offset;
          };
          callbacks.on_data = [&](std::string_view chunk) {
            std::lock_guard lock(writer_mutex);
            if (auto status = writer.write_at(offset, chunk.data(), chunk.size()); !status) {
              write_error = status.error();
              return false;
            }
            offset += chunk.size();
            fetched += chunk.size();
            report_progress(chunk.size());
            return true;
          };
          auto result = m_client.download(m_ref.repo, m_result.commit, w.entry.path, callbacks,
                                          offset, end - 1);
          if (result && offset >= end) return;
          if (write_error) {
            kinds[r] = write_error->code == util::ErrorCode::integrity ? FailureKind::integrity
                                                                       : FailureKind::io;
            errors[r] = write_error->message;
            return;
          }
          if (!result && !(result.error().kind == hub::HubErrorKind::network &&
                           result.error().bytes_delivered > 0)) {
            kinds[r] = FailureKind::hub;
            errors[r] = result.error().describe();
            return;
          }
        }
        if (offset < end) {
          kinds[r] = FailureKind::hub;
          errors[r] = "range download kept breaking";
        }
      });
    for (auto& t : threads) t.join();
    file.bytes_fetched += fetched;
    for (uint64_t r = 0; r < n; ++r)
      if (kinds[r] != FailureKind::none) {
        fail(file, kinds[r], errors[r]);
        return false;
      }
    return true;
  }

  const hub::HubClient& m_client;
  const hub::RepoRef& m_ref;
  const PullOptions& m_options;
  cache::BlobStore& m_store;
  PullResult& m_result;
  std::mutex m_progress_mutex;
  PullProgress m_progress;
};

PullResult failure(PullResult result, PullFailure::Kind kind, std::string message,
                   std::string hint = {}) {
  result.failure = PullFailure{kind, std::move(message), std::move(hint)};
  return result;
}

// The Hub-facing state of a file, from the tree entry.
PulledFile describe(const hub::TreeEntry& e) {
  PulledFile f;
  f.path = e.path;
  f.lfs = e.lfs.has_value();
  f.size = e.lfs ? e.lfs->size : e.size.value_or(0);
  f.etag = e.lfs ? e.lfs->oid : e.oid;
  return f;
}

// Gate until a policy engine is given: block what the scan or the Hub judged
// at or above the threshold.
void apply_builtin_gate(const PullOptions& options, const trust::TrustReport* trust,
                        PulledFile& file) {
  if (file.outcome != FileOutcome::linked) return;
  if (file.max_severity && *file.max_severity >= options.block_at) {
    file.outcome = FileOutcome::blocked;
    const auto worst =
        std::max_element(file.findings.begin(), file.findings.end(),
                         [](const auto& a, const auto& b) { return a.severity < b.severity; });
    file.reason =
        "scan verdict " + std::string(scan::to_string(*file.max_severity)) +
        (worst != file.findings.end()
             ? " (" + worst->rule + (worst->subject.empty() ? "" : ": " + worst->subject) + ")"
             : "");
    return;
  }
  if (trust)
    for (const auto& signal : trust->files)
      if (signal.path == file.path && signal.hub_status == hub::ScanStatus::unsafe) {
        file.outcome = FileOutcome::blocked;
        file.reason = "the Hub's scanners flagged this file unsafe";
      }
}

std::string describe_reasons(const policies::Decision& decision, const std::string& path) {
  std::string out;
  const auto add = [&out](const std::string& rule, const std::string& evidence) {
    out += (out.empty() ? "" : "; ") + rule + ": " + evidence;
  };
  for (const auto& rule : decision.rules)
    if (rule.scope == policies::Scope::repository && rule.outcome == policies::Outcome::block)
      add(rule.id, rule.evidence);
  for (const auto& file : decision.files)
    if (file.path == path)
      for (const auto& reason : file.reasons)
        if (reason.outcome == policies::Outcome::block) add(reason.rule, reason.evidence);
  return "policy " + decision.policy_name + ": " + (out.empty() ? "not admitted" : out);
}

policies::EvaluationInput evaluation_input(const PullOptions& options, const PullResult& result,
                                           std::vector<scan::FileReport> files) {
  policies::EvaluationInput input;
  input.trust = *result.trust;
  input.files = std::move(files);
  input.requested_revision = result.revision;
  input.now_unix = options.now_unix;
  input.approval = options.approval;
  return input;
}

// Links the allowed files, records everything, writes the ref last.
void publish(const PullOptions& options, cache::Index& index, const cache::HfView& view,
             cache::BlobStore& store, PullResult& result) {
  const std::string& repo = result.repo;
  for (auto& file : result.files) {
    if (file.outcome == FileOutcome::excluded) continue;
    if (file.outcome == FileOutcome::linked) {
      auto placed = view.put_blob(k_model, repo, file.etag, store.blob_path(file.sha256));
      util::Status linked = placed
                                ? view.link_file(k_model, repo, result.commit, file.path, file.etag)
                                : util::Status(placed.error());
      if (!linked) {
        file.outcome = FileOutcome::failed;
        file.failure = FailureKind::io;
        file.reason = "cannot place it in the huggingface_hub view: " + linked.error().message;
        continue;
      }
      (void)index.mark_file_verified(repo, result.commit, file.path, file.sha256);
      (void)index.touch_blob(file.sha256);
    } else if (file.outcome == FileOutcome::blocked) {
      if (!file.sha256.empty())
        (void)index.mark_file_verified(repo, result.commit, file.path, file.sha256);
      (void)index.set_file_state(repo, result.commit, file.path, cache::FileState::blocked);
      cache::DecisionRecord decision;
      decision.repo_id = repo;
      decision.commit = result.commit;
      decision.path = file.path;
      decision.policy_name = result.decision ? result.decision->policy_name : "builtin-scan-gate";
      decision.policy_sha256 = result.decision ? result.decision->policy_sha256 : "";
      decision.decision = cache::Decision::block;
      decision.reasons_json = nlohmann::json::array({file.reason}).dump();
      (void)index.record_decision(decision);
      cache::AuditEntry entry;
      entry.actor = options.actor;
      entry.action = cache::AuditAction::block;
      entry.repo_id = repo;
      entry.commit = result.commit;
      entry.path = file.path;
      if (!file.sha256.empty()) entry.blob_sha256 = file.sha256;
      entry.detail_json =
          nlohmann::json{{"reason", file.reason}, {"findings", findings_json(file.findings)}}
              .dump();
      (void)index.append_audit(entry);
    }
  }
  if (result.decision && result.network_used) {
    cache::DecisionRecord decision;
    decision.repo_id = repo;
    decision.commit = result.commit;
    decision.policy_name = result.decision->policy_name;
    decision.policy_sha256 = result.decision->policy_sha256;
    decision.decision =
        result.decision->verdict == policies::Verdict::block  ? cache::Decision::block
        : result.decision->verdict == policies::Verdict::warn ? cache::Decision::warn
                                                              : cache::Decision::allow;
    decision.reasons_json = policies::to_json(*result.decision).dump();
    (void)index.record_decision(decision);
  }
  if (!hub::is_commit_hash(result.revision)) {
    if (auto written = view.write_ref(k_model, repo, result.revision, result.commit); !written)
      result.failure = PullFailure{PullFailure::Kind::cache,
                                   "cannot write the ref: " + written.error().message, ""};
    (void)index.upsert_ref(repo, result.revision, result.commit);
  }
  (void)index.touch_commit(repo, result.commit);
  if (auto dir = view.snapshot_dir(k_model, repo, result.commit)) result.snapshot_dir = *dir;

  nlohmann::json summary = {{"revision", result.revision},
                            {"network_used", result.network_used},
                            {"bytes_fetched", result.bytes_fetched},
                            {"files_fetched", result.files_fetched}};
  for (auto outcome : {FileOutcome::linked, FileOutcome::blocked, FileOutcome::failed})
    summary[std::string(to_string(outcome))] =
        std::count_if(result.files.begin(), result.files.end(),
                      [outcome](const PulledFile& f) { return f.outcome == outcome; });
  cache::AuditEntry entry;
  entry.actor = options.actor;
  entry.action = cache::AuditAction::pull;
  entry.repo_id = repo;
  entry.commit = result.commit;
  entry.detail_json = summary.dump();
  (void)index.append_audit(entry);
}

// Serves a pull from the index alone: the commit and every selected file must
// already be verified. Returns false when the cache cannot answer.
bool serve_from_cache(const PullOptions& options, cache::Index& index, PullResult& result) {
  std::string commit = result.revision;
  if (!hub::is_commit_hash(commit)) {
    auto resolved = index.resolve_ref(result.repo, result.revision);
    if (!resolved || !*resolved) return false;
    commit = **resolved;
  }
  // The cached verdicts hold only for the policy that made them: under any
  // other policy the commit is judged again (which needs the Hub's metadata).
  if (options.policy) {
    auto decisions = index.decisions(result.repo, commit);
    if (!decisions) return false;
    const bool judged_by_this_policy =
        std::any_of(decisions->begin(), decisions->end(), [&](const cache::DecisionRecord& d) {
          return !d.path && d.policy_sha256 == options.policy->sha256;
        });
    if (!judged_by_this_policy) return false;
  }
  auto files = index.files(result.repo, commit);
  if (!files || files->empty()) return false;
  std::vector<PulledFile> out;
  for (const auto& record : *files) {
    PulledFile f;
    f.path = record.path;
    f.size = record.size;
    f.lfs = record.storage == cache::Storage::lfs;
    f.etag = record.etag();
    f.source = FileSource::cache;
    if (!selected(options, record.path)) {
      f.outcome = FileOutcome::excluded;
    } else if (record.state == cache::FileState::verified && record.blob_sha256) {
      f.sha256 = *record.blob_sha256;
      f.outcome = FileOutcome::linked;
    } else if (record.state == cache::FileState::blocked) {
      f.outcome = FileOutcome::blocked;
      f.reason = "blocked when it was pulled";
    } else {
      return false;  // pending, quarantined: needs the Hub
    }
    out.push_back(std::move(f));
  }
  result.commit = commit;
  result.files = std::move(out);
  return true;
}

}  // namespace

bool selected_by_globs(const std::vector<std::string>& include,
                       const std::vector<std::string>& exclude, const std::string& path) {
  if (!include.empty() && !matches_any(include, path)) return false;
  return !matches_any(exclude, path);
}

std::string_view to_string(FileOutcome outcome) {
  switch (outcome) {
    case FileOutcome::linked:
      return "linked";
    case FileOutcome::blocked:
      return "blocked";
    case FileOutcome::failed:
      return "failed";
    case FileOutcome::excluded:
      return "excluded";
  }
  return "failed";
}

std::string_view to_string(FileSource source) {
  switch (source) {
    case FileSource::downloaded:
      return "downloaded";
    case FileSource::resumed:
      return "resumed";
    case FileSource::cache:
      return "cache";
  }
  return "cache";
}

PullResult pull(const hub::HubClient& client, const hub::RepoRef& ref, const PullOptions& options) {
  PullResult result;
  result.repo = ref.repo.str();
  result.revision = ref.revision;

  const cache::Layout layout(options.cache);
  if (auto created = layout.create_directories(); !created)
    return failure(std::move(result), PullFailure::Kind::cache, created.error().message,
                   "HFAUDIT_HOME and HF_HUB_CACHE must be separate, writable directories");
  auto store = cache::BlobStore::open(options.cache);
  if (!store) return failure(std::move(result), PullFailure::Kind::cache, store.error().message);
  auto index = cache::Index::open(layout.index_path());
  if (!index) return failure(std::move(result), PullFailure::Kind::cache, index.error().message);
  // gc takes this lock exclusively: it never deletes blobs under a running pull.
  auto gc_guard = cache::lock_named(layout, cache::k_gc_lock_name, cache::LockMode::shared);
  if (!gc_guard)
    return failure(std::move(result), PullFailure::Kind::cache, gc_guard.error().message);
  const cache::HfView view(options.cache.hf_hub_cache);

  // A pinned commit already in the cache needs no request at all; offline,
  // the cache is the only source.
  if (options.offline || hub::is_commit_hash(ref.revision)) {
    if (serve_from_cache(options, **index, result)) {
      publish(options, **index, view, *store, result);
      return result;
    }
    if (options.offline)
      return failure(std::move(result), PullFailure::Kind::hub,
                     "offline (HF_HUB_OFFLINE) and " + result.repo + "@" + result.revision +
                         " is not completely in the cache" +
                         (options.policy ? " under policy " + options.policy->name : ""),
                     "pull it once online with this policy, or pin a commit that was pulled");
  }

  result.network_used = true;
  auto state = fetch_repo_state(client, ref, options.now_unix);
  if (!state) {
    return failure(std::move(result), PullFailure::Kind::hub, state.error().describe(),
                   state.error().hint);
  }
  result.commit = state->info.sha;
  result.trust = state->trust;

  // Every listed file, validated and filtered; index rows written as pending.
  std::vector<cache::FileRecord> records;
  std::vector<Wanted> wanted;
  for (const auto& e : state->tree) {
    if (e.type != hub::EntryType::file) continue;
    PulledFile f = describe(e);
    if (!selected(options, e.path)) {
      f.outcome = FileOutcome::excluded;
      result.files.push_back(std::move(f));
      continue;
    }
    if (!util::is_safe_relative_path(e.path)) {
      f.outcome = FileOutcome::failed;
      f.failure = FailureKind::unsafe_path;
      f.reason = "the repo path could escape the snapshot folder; refused before any write";
      result.files.push_back(std::move(f));
      continue;
    }
    const bool hashes_ok =
        e.lfs ? util::is_lower_hex(e.lfs->oid, 64) : util::is_lower_hex(e.oid, 40);
    if (!hashes_ok) {
      f.outcome = FileOutcome::failed;
      f.failure = FailureKind::integrity;
      f.reason = "the Hub gave no usable hash for this file, so its bytes cannot be verified";
      result.files.push_back(std::move(f));
      continue;
    }
    cache::FileRecord record;
    record.path = e.path;
    record.size = f.size;
    record.git_oid = e.oid;
    record.storage = e.lfs ? cache::Storage::lfs : cache::Storage::regular;
    if (e.lfs) record.sha256 = e.lfs->oid;
    records.push_back(record);
    Wanted w;
    w.index = result.files.size();
    w.entry = e;
    w.expected = e.lfs ? cache::ExpectedBlob::lfs(e.lfs->oid, f.size)
                       : cache::ExpectedBlob::regular(e.oid, f.size);
    wanted.push_back(std::move(w));
    result.files.push_back(std::move(f));
  }
  (void)(*index)->upsert_repo(result.repo);
  (void)(*index)->upsert_commit(result.repo, result.commit,
                                nlohmann::json(trust::to_json(state->trust)).dump());
  (void)(*index)->record_trust_snapshot(result.repo, result.commit,
                                        trust::to_json(state->trust).dump());
  if (auto upserted = (*index)->upsert_files(result.repo, result.commit, records); !upserted)
    return failure(std::move(result), PullFailure::Kind::cache, upserted.error().message);

  // Repository-level rules (provenance, licence, custom code, Hub flags...)
  // need no bytes: a block there stops the pull before any download.
  if (options.policy) {
    result.decision = policies::evaluate(*options.policy, evaluation_input(options, result, {}));
    if (result.decision->repository_verdict == policies::Verdict::block) {
      for (auto& f : result.files)
        if (f.outcome != FileOutcome::excluded && f.failure == FailureKind::none) {
          f.outcome = FileOutcome::blocked;
          f.reason = describe_reasons(*result.decision, f.path);
        }
      publish(options, **index, view, *store, result);
      return result;
    }
  }

  Puller puller(client, ref, options, *store, result);
  puller.fetch_all(wanted);
  for (const auto& f : result.files)
    if (f.source != FileSource::cache && f.outcome != FileOutcome::excluded) {
      result.bytes_fetched += f.bytes_fetched;
      if (f.bytes_fetched > 0) ++result.files_fetched;
    }
  if (options.policy) {
    std::vector<scan::FileReport> reports;
    for (const auto& f : result.files)
      if (f.outcome == FileOutcome::linked) {
        reports.push_back(f.report);
        reports.back().path = f.path;
      }
    result.decision =
        policies::evaluate(*options.policy, evaluation_input(options, result, std::move(reports)));
    for (auto& f : result.files)
      if (f.outcome == FileOutcome::linked && !result.decision->admits(f.path)) {
        f.outcome = FileOutcome::blocked;
        f.reason = describe_reasons(*result.decision, f.path);
      }
  } else {
    for (auto& f : result.files) apply_builtin_gate(options, &*result.trust, f);
  }
  publish(options, **index, view, *store, result);
  return result;
}

}  // namespace hfaudit::app
