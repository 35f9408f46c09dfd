#include "app/pull.hpp"

#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "app/approvals.hpp"
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

// The pin of `path` in a lock entry (files are sorted by path), or nullptr.
const lockfile::LockedFile* find_pin(const lockfile::LockedRepo& pinned, std::string_view path) {
  const auto it = std::lower_bound(
      pinned.files.begin(), pinned.files.end(), path,
      [](const lockfile::LockedFile& f, std::string_view p) { return f.path < p; });
  return it != pinned.files.end() && it->path == path ? &*it : nullptr;
}

bool selected(const PullOptions& options, const std::string& path) {
  if (options.pinned) return find_pin(*options.pinned, path) != nullptr;
  return selected_by_globs(options.include, options.exclude, path);
}

}  // namespace

std::vector<cache::ByteRange> plan_parts(const std::vector<cache::ByteRange>& missing,
                                         size_t max_parallel, uint64_t min_part_size) {
  uint64_t total = 0;
  for (const auto& gap : missing) total += gap.size();
  // Parts of at least min_part_size, but no more than max_parallel of them
  // for one gap-free file: fewer requests, and each part is one checkpoint.
  const uint64_t parallel = std::max<uint64_t>(1, max_parallel);
  const uint64_t part = std::max<uint64_t>({1, min_part_size, (total + parallel - 1) / parallel});
  std::vector<cache::ByteRange> parts;
  for (const auto& gap : missing)
    for (uint64_t start = gap.start; start < gap.end; start += part)
      parts.push_back({start, std::min(gap.end, start + part)});
  return parts;
}

namespace {

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
      // Round 0 resumes what an earlier pull left (a crash, a cut connection);
      // if those bytes turn out wrong (the hash fails), round 1 starts over.
      cache::WriterOptions writer_options;
      writer_options.resume = round == 0 ? cache::Resume::yes : cache::Resume::no;
      writer_options.on_abandon = cache::OnAbandon::keep_partial;
      auto writer = m_store.begin_write(w.expected, writer_options);
      if (!writer) {
        fail(file, FailureKind::io, "cannot write the blob: " + writer.error().message);
        return std::nullopt;
      }
      const bool resumed = (*writer)->resumed_bytes() > 0;
      file.source = resumed ? FileSource::resumed : FileSource::downloaded;
      report_progress((*writer)->resumed_bytes());

      // Nothing missing: a complete partial (a crash just before commit) or an
      // empty file; commit() verifies either. Ranges for big files and for
      // any resume of a ranged download (the gaps between the parts it
      // finished); one stream otherwise.
      const auto missing = (*writer)->missing();
      const uint64_t size = w.expected.size;
      const bool tail_only = missing.size() == 1 && missing[0].end == size;
      const bool ranged =
          !tail_only || (size >= m_options.range_threshold && m_options.max_ranges > 1);
      const bool ok =
          missing.empty() || (ranged ? fetch_ranges(**writer, w, file, missing)
                                     : fetch_sequential(**writer, w, file, missing[0].start));
      if (!ok) return std::nullopt;

      auto committed = (*writer)->commit();
      if (committed) {
        file.reason.clear();
        return std::move(*committed);
      }
      if (committed.error().code == util::ErrorCode::integrity && resumed && round == 0)
        continue;  // the resumed bytes were bad: start over once
      fail(file,
           committed.error().code == util::ErrorCode::integrity ? FailureKind::integrity
                                                                : FailureKind::io,
           committed.error().message);
      return std::nullopt;
    }
    return std::nullopt;
  }

  // One blob writer shared by the parts of a download.
  struct SharedWriter {
    explicit SharedWriter(cache::BlobWriter& w) : writer(w) {}
    cache::BlobWriter& writer;
    std::mutex mutex;
    uint64_t since_checkpoint = 0;  // bytes written since the last checkpoint
  };

  // Why one request of a download ended. `range_ignored`: the server answered
  // 200 with the whole file to a ranged request.
  struct Transfer {
    bool done = false;
    bool range_ignored = false;
    FailureKind failure = FailureKind::none;
    std::string reason;
  };

  // Streams [offset, end) of the file (end = the file's end when nullopt) into
  // write_at, continuing after cut connections, and checkpoints the writer
  // every k_checkpoint_bytes (a kill -9 then loses little of a ranged
  // download). A server that ignores the range sends the file from byte 0:
  // write_at skips what is already hashed. With `accept_whole_file` false (one
  // part of a ranged download), such an answer stops at once with range_ignored.
  Transfer transfer(SharedWriter& shared, const Wanted& w, uint64_t offset,
                    std::optional<uint64_t> end, bool accept_whole_file,
                    std::atomic<uint64_t>& fetched) {
    constexpr uint64_t k_checkpoint_bytes = 32ull << 20;
    Transfer t;
    std::string last_error;
    for (int attempt = 0; attempt < m_options.max_attempts; ++attempt) {
      uint64_t at = offset;
      std::optional<util::Error> write_error;
      hub::DownloadCallbacks callbacks;
      callbacks.on_start = [&](const hub::DownloadStart& start) {
        if (start.status == 200 && (offset > 0 || end) && !accept_whole_file) {
          t.range_ignored = true;
          return false;
        }
        at = start.offset;
        return true;
      };
      callbacks.on_data = [&](std::string_view chunk) {
        {
          std::lock_guard lock(shared.mutex);
          if (auto status = shared.writer.write_at(at, chunk.data(), chunk.size()); !status) {
            write_error = status.error();
            return false;
          }
          if ((shared.since_checkpoint += chunk.size()) >= k_checkpoint_bytes) {
            shared.since_checkpoint = 0;
            (void)shared.writer.checkpoint();  // best effort: without it a resume refetches more
          }
        }
        at += chunk.size();
        fetched += chunk.size();
        report_progress(chunk.size());
        return true;
      };
      auto result = m_client.download(m_ref.repo, m_result.commit, w.entry.path, callbacks, offset,
                                      end ? std::optional<uint64_t>(*end - 1) : std::nullopt);
      if (t.range_ignored) return t;
      if (write_error) {
        t.failure = write_error->code == util::ErrorCode::integrity ? FailureKind::integrity
                                                                    : FailureKind::io;
        t.reason = write_error->message;
        return t;
      }
      if (result) {
        t.done = true;
        return t;
      }
      const hub::HubError& error = result.error();
      last_error = error.describe();
      if (error.kind == hub::HubErrorKind::network && error.bytes_delivered > 0) {
        offset = at;  // cut mid-body: continue where it stopped
        continue;
      }
      t.failure = FailureKind::hub;
      t.reason = last_error;
      return t;
    }
    t.failure = FailureKind::hub;
    t.reason = "the connection kept breaking (" + std::to_string(m_options.max_attempts) +
               " attempts; the last: " + last_error + ")";
    return t;
  }

  bool fetch_sequential(cache::BlobWriter& writer, const Wanted& w, PulledFile& file,
                        uint64_t offset) {
    std::atomic<uint64_t> fetched{0};
    SharedWriter shared(writer);
    const Transfer t = transfer(shared, w, offset, std::nullopt, true, fetched);
    file.bytes_fetched += fetched;
    if (!t.done) fail(file, t.failure, t.reason);
    return t.done;
  }

  // Big files: the missing ranges cut into parts fetched `max_ranges` at a
  // time, each written with write_at (the writer hashes bytes in order as the
  // contiguous prefix grows) and checkpointed when complete, so a later pull
  // resumes every finished part. If the server ignores Range, one stream.
  bool fetch_ranges(cache::BlobWriter& writer, const Wanted& w, PulledFile& file,
                    const std::vector<cache::ByteRange>& missing) {
    const auto parts = plan_parts(missing, m_options.max_ranges, m_options.range_part_size);
    SharedWriter shared(writer);
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> fetched{0};
    std::vector<Transfer> outcomes(parts.size());
    std::vector<std::thread> threads;
    const size_t workers =
        std::min<size_t>(std::max<size_t>(1, m_options.max_ranges), parts.size());
    for (size_t t = 0; t < workers; ++t)
      threads.emplace_back([&] {
        for (size_t i = next++; i < parts.size() && !stop; i = next++) {
          outcomes[i] = transfer(shared, w, parts[i].start, parts[i].end, false, fetched);
          if (!outcomes[i].done) {
            stop = true;  // parts in flight finish; no new one starts
            continue;
          }
          std::lock_guard lock(shared.mutex);
          (void)writer.checkpoint();  // best effort: without it a resume refetches more
        }
      });
    for (auto& t : threads) t.join();
    file.bytes_fetched += fetched;
    // An integrity failure poisons the writer, and the parts still in flight
    // then fail with "writer is closed": report the cause, not the echo.
    const auto first_failure = [&](bool integrity_only) {
      return std::find_if(outcomes.begin(), outcomes.end(), [&](const Transfer& t) {
        return integrity_only ? t.failure == FailureKind::integrity
                              : t.failure != FailureKind::none;
      });
    };
    auto failed = first_failure(true);
    if (failed == outcomes.end()) failed = first_failure(false);
    if (failed != outcomes.end()) {
      fail(file, failed->failure, failed->reason);
      return false;
    }
    if (std::any_of(outcomes.begin(), outcomes.end(),
                    [](const Transfer& t) { return t.range_ignored; }))
      return fetch_sequential(writer, w, file, 0);
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
  f.git_oid = e.oid;
  return f;
}

// Why the Hub's listing of a pinned file differs from its pin, or "" when it
// does not: the lock is the trust anchor, so the file must not be fetched.
std::string pin_mismatch(const lockfile::LockedFile& pin, const hub::TreeEntry& e,
                         const PulledFile& f) {
  const auto differs = [](std::string_view what, const std::string& locked,
                          const std::string& now) {
    return "the Hub now serves another " + std::string(what) + " for this pinned file (locked " +
           locked + ", now " + now + ")";
  };
  if (pin.lfs != e.lfs.has_value())
    return differs("storage", pin.lfs ? "lfs" : "regular", e.lfs ? "lfs" : "regular");
  if (pin.size != f.size) return differs("size", std::to_string(pin.size), std::to_string(f.size));
  if (pin.git_oid != e.oid) return differs("git oid", pin.git_oid, e.oid);
  if (e.lfs && pin.sha256 != e.lfs->oid) return differs("sha256", pin.sha256, e.lfs->oid);
  return "";
}

// After download: a pinned file whose verified bytes hash to another sha256
// than the pin fails. For regular files the Hub publishes only a git SHA-1,
// so this is where the lock's sha256 is enforced.
void enforce_pinned_sha256(const lockfile::LockedRepo& pinned, PullResult& result) {
  for (auto& f : result.files) {
    const lockfile::LockedFile* pin = find_pin(pinned, f.path);
    if (pin && f.outcome == FileOutcome::linked && f.sha256 != pin->sha256) {
      f.outcome = FileOutcome::failed;
      f.failure = FailureKind::integrity;
      f.reason = "downloaded bytes have sha256 " + f.sha256 + ", the lock pins " + pin->sha256;
    }
  }
}

// A pinned file the Hub's tree of the commit does not list fails.
void add_vanished_pins(const lockfile::LockedRepo& pinned, PullResult& result) {
  for (const auto& pin : pinned.files) {
    const bool listed = std::any_of(result.files.begin(), result.files.end(),
                                    [&](const PulledFile& f) { return f.path == pin.path; });
    if (listed) continue;
    PulledFile f;
    f.path = pin.path;
    f.size = pin.size;
    f.lfs = pin.lfs;
    f.git_oid = pin.git_oid;
    f.outcome = FileOutcome::failed;
    f.failure = FailureKind::integrity;
    f.reason = "the Hub no longer lists this pinned file in commit " + result.commit;
    result.files.push_back(std::move(f));
  }
}

// True when the files served from the cache are exactly the pinned ones with
// the pinned hashes (anything else needs the Hub).
bool cache_matches_pins(const lockfile::LockedRepo& pinned, const std::vector<PulledFile>& files) {
  size_t matched = 0;
  for (const auto& f : files) {
    if (f.outcome == FileOutcome::excluded) continue;
    const lockfile::LockedFile* pin = find_pin(pinned, f.path);
    if (!pin || f.size != pin->size || f.git_oid != pin->git_oid || f.lfs != pin->lfs) return false;
    if (f.outcome == FileOutcome::linked && f.sha256 != pin->sha256) return false;
    ++matched;
  }
  return matched == pinned.files.size();
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
                                           const ApprovalLookup& approval,
                                           std::vector<scan::FileReport> files) {
  policies::EvaluationInput input;
  input.trust = *result.trust;
  input.files = std::move(files);
  const bool locked = options.pinned || options.pinned_by == PinnedBy::lock;
  input.requested_revision = locked ? result.commit : result.revision;
  input.now_unix = options.now_unix;
  input.approval = approval.status;
  input.approval_detail = approval.detail;
  return input;
}

// The index records of a file the gate refused: its state, the decision and an audit entry.
void record_block(const PullOptions& options, cache::Index& index, const PullResult& result,
                  const PulledFile& file) {
  const std::string& repo = result.repo;
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
      nlohmann::json{{"reason", file.reason}, {"findings", findings_json(file.findings)}}.dump();
  (void)index.append_audit(entry);
}

// Links the allowed files, writes the ref last, then records everything in
// the index in one transaction (one commit however many files: a cached
// re-pull costs one small WAL append). A crash before that transaction leaves
// the index behind the view, which the next pull catches up.
void publish(const PullOptions& options, cache::Index& index, const cache::HfView& view,
             cache::BlobStore& store, PullResult& result) {
  const std::string& repo = result.repo;
  for (auto& file : result.files) {
    if (file.outcome != FileOutcome::linked) continue;
    auto placed = view.put_blob(k_model, repo, file.etag, store.blob_path(file.sha256));
    util::Status linked = placed
                              ? view.link_file(k_model, repo, result.commit, file.path, file.etag)
                              : util::Status(placed.error());
    if (!linked) {
      file.outcome = FileOutcome::failed;
      file.failure = FailureKind::io;
      file.reason = "cannot place it in the huggingface_hub view: " + linked.error().message;
    }
  }
  if (auto dir = view.snapshot_dir(k_model, repo, result.commit)) result.snapshot_dir = *dir;
  // A ref names a snapshot: none while nothing of this commit is visible.
  const bool branch = !hub::is_commit_hash(result.revision);
  struct stat snapshot {};
  if (branch && ::stat(result.snapshot_dir.c_str(), &snapshot) == 0 && S_ISDIR(snapshot.st_mode))
    if (auto written = view.write_ref(k_model, repo, result.revision, result.commit); !written)
      result.failure = PullFailure{PullFailure::Kind::cache,
                                   "cannot write the ref: " + written.error().message, ""};

  (void)index.transaction([&]() -> util::Status {
    for (const auto& file : result.files) {
      if (file.outcome == FileOutcome::linked) {
        (void)index.mark_file_verified(repo, result.commit, file.path, file.sha256);
        (void)index.touch_blob(file.sha256);
      } else if (file.outcome == FileOutcome::blocked) {
        record_block(options, index, result, file);
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
    if (branch) (void)index.upsert_ref(repo, result.revision, result.commit);
    (void)index.touch_commit(repo, result.commit);

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
    return util::Ok{};
  });
}

// The file states of a cached commit are its latest judgement. They hold only
// if it was made by this policy and under the approval status in force now (an
// approval given or revoked since changes the verdict); otherwise the commit
// is judged again, which needs the Hub's metadata.
bool cached_verdict_holds(const PullOptions& options, cache::Index& index, const std::string& repo,
                          const std::string& commit) {
  if (!options.policy) return true;
  auto decisions = index.decisions(repo, commit);
  if (!decisions) return false;
  const auto latest =
      std::find_if(decisions->rbegin(), decisions->rend(),
                   [](const cache::DecisionRecord& d) { return !d.path.has_value(); });
  if (latest == decisions->rend() || latest->policy_sha256 != options.policy->sha256) return false;
  const auto judged = nlohmann::json::parse(latest->reasons_json, nullptr, false);
  const auto approval = judged.is_object() ? judged.value("/approval/status"_json_pointer,
                                                          std::string("not_approved"))
                                           : std::string("not_approved");
  return approval == policies::to_string(lookup_approval(index, repo, commit).status);
}

// The index holds rows only for files selected by earlier pulls: every file
// of the commit this pull selects (the Hub's listing, kept in the trust
// snapshot) must have one, or the cache cannot answer.
bool rows_cover_selection(const PullOptions& options, cache::Index& index, const std::string& repo,
                          const std::string& commit, const std::vector<cache::FileRecord>& rows) {
  auto trust = index.latest_trust_snapshot(repo, commit);
  if (!trust || !*trust) return false;
  const auto listing = nlohmann::json::parse(**trust, nullptr, false);
  if (!listing.is_object()) return false;
  std::set<std::string> have;
  for (const auto& r : rows) have.insert(r.path);
  for (const auto& listed : listing.value("/hub_security/files"_json_pointer, nlohmann::json())) {
    const std::string path = listed.value("path", "");
    if (selected(options, path) && !have.count(path)) return false;
  }
  return true;
}

// Serves a pull from the index alone: the commit and every selected file must
// already be verified. Returns false when the cache cannot answer.
bool serve_from_cache(const PullOptions& options, cache::Index& index, PullResult& result) {
  std::string commit = options.pinned ? options.pinned->commit : result.revision;
  if (!hub::is_commit_hash(commit)) {
    auto resolved = index.resolve_ref(result.repo, result.revision);
    if (!resolved || !*resolved) return false;
    commit = **resolved;
  }
  if (!cached_verdict_holds(options, index, result.repo, commit)) return false;
  auto files = index.files(result.repo, commit);
  if (!files || files->empty() ||
      !rows_cover_selection(options, index, result.repo, commit, *files))
    return false;
  std::vector<PulledFile> out;
  for (const auto& record : *files) {
    PulledFile f;
    f.path = record.path;
    f.size = record.size;
    f.lfs = record.storage == cache::Storage::lfs;
    f.etag = record.etag();
    f.git_oid = record.git_oid;
    f.source = FileSource::cache;
    if (!selected(options, record.path)) {
      f.outcome = FileOutcome::excluded;
    } else if (record.state == cache::FileState::verified && record.blob_sha256) {
      f.sha256 = *record.blob_sha256;
      f.outcome = FileOutcome::linked;
    } else if (record.state == cache::FileState::blocked &&
               (record.blob_sha256 || !options.review)) {
      // Blocked before download has no bytes; a review pull must fetch them.
      f.outcome = FileOutcome::blocked;
      f.reason = "blocked when it was pulled";
    } else {
      return false;  // pending, quarantined: needs the Hub
    }
    out.push_back(std::move(f));
  }
  if (options.pinned && !cache_matches_pins(*options.pinned, out)) return false;
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
  const bool pinned_commit = options.pinned || hub::is_commit_hash(ref.revision);
  if (options.offline || (pinned_commit && options.cache_first == CacheFirst::yes)) {
    if (serve_from_cache(options, **index, result)) {
      publish(options, **index, view, *store, result);
      return result;
    }
    if (options.offline)
      return failure(std::move(result), PullFailure::Kind::hub,
                     "offline (HF_HUB_OFFLINE) and " + result.repo + "@" +
                         (options.pinned ? options.pinned->commit : result.revision) +
                         " is not completely in the cache" +
                         (options.policy ? " under policy " + options.policy->name : ""),
                     "pull it once online with this policy, or pin a commit that was pulled");
  }

  result.network_used = true;
  hub::RepoRef wanted_ref = ref;
  if (options.pinned) wanted_ref.revision = options.pinned->commit;
  auto state = fetch_repo_state(client, wanted_ref, options.now_unix);
  if (!state) {
    return failure(std::move(result), PullFailure::Kind::hub, state.error().describe(),
                   state.error().hint);
  }
  if (options.pinned && state->info.sha != options.pinned->commit)
    return failure(
        std::move(result), PullFailure::Kind::integrity,
        "the Hub resolved the pinned commit " + options.pinned->commit + " to " + state->info.sha);
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
    if (options.pinned) {
      if (auto why = pin_mismatch(*find_pin(*options.pinned, e.path), e, f); !why.empty()) {
        f.outcome = FileOutcome::failed;
        f.failure = FailureKind::integrity;
        f.reason = std::move(why);
        result.files.push_back(std::move(f));
        continue;
      }
    }
    records.push_back(file_record(e));
    Wanted w;
    w.index = result.files.size();
    w.entry = e;
    w.expected = e.lfs ? cache::ExpectedBlob::lfs(e.lfs->oid, f.size)
                       : cache::ExpectedBlob::regular(e.oid, f.size);
    wanted.push_back(std::move(w));
    result.files.push_back(std::move(f));
  }
  if (options.pinned) add_vanished_pins(*options.pinned, result);
  (void)(*index)->upsert_repo(result.repo);
  (void)(*index)->upsert_commit(result.repo, result.commit,
                                nlohmann::json(trust::to_json(state->trust)).dump());
  (void)(*index)->record_trust_snapshot(result.repo, result.commit,
                                        trust::to_json(state->trust).dump());
  if (auto upserted = (*index)->upsert_files(result.repo, result.commit, records); !upserted)
    return failure(std::move(result), PullFailure::Kind::cache, upserted.error().message);

  // Approvals are per commit and checked against the Hub's listing of it.
  const ApprovalLookup approval =
      options.policy ? lookup_approval(**index, result.repo, result.commit, &state->tree)
                     : ApprovalLookup{};

  // Repository-level rules (provenance, licence, custom code, Hub flags...)
  // need no bytes: a block there stops the pull before any download, unless
  // the files are wanted for review.
  if (options.policy) {
    result.decision =
        policies::evaluate(*options.policy, evaluation_input(options, result, approval, {}));
    if (result.decision->repository_verdict == policies::Verdict::block && !options.review) {
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
  if (options.pinned) enforce_pinned_sha256(*options.pinned, result);
  if (options.policy) {
    std::vector<scan::FileReport> reports;
    for (const auto& f : result.files)
      if (f.outcome == FileOutcome::linked) {
        reports.push_back(f.report);
        reports.back().path = f.path;
      }
    result.decision = policies::evaluate(
        *options.policy, evaluation_input(options, result, approval, std::move(reports)));
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
