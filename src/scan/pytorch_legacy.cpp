// torch < 1.6 checkpoints (torch/serialization.py _legacy_save/_legacy_load):
// five pickles (magic number, protocol version, sys_info, the object graph
// with storage persistent ids, the sorted list of storage keys), then per key
// an 8-byte little-endian element count and the raw elements. All five
// pickles are walked (the first one runs before the magic number is checked);
// storage data is skipped by size, never read.
//
// Rule ids: pytorch_legacy.malformed, pytorch_legacy.bad_magic,
// pytorch_legacy.bad_protocol_version, pytorch_legacy.unknown_storage,
// pytorch_legacy.storage_size_mismatch, pytorch_legacy.truncated (medium);
// pytorch_legacy.unused_storage, pytorch_legacy.trailing_data (low);
// pickle.polyglot_zip (high). The pickles report pickle.* findings.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "scan/format_scanners.hpp"
#include "scan/pickle_rules.hpp"
#include "scan/pickle_walker.hpp"
#include "util/stream_reader.hpp"

namespace hfaudit::scan {

namespace {

// LONG1 payload of torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c.
constexpr std::string_view k_magic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
constexpr int64_t k_protocol_version = 1001;
constexpr const char* k_pickle_names[5] = {"magic number", "protocol version", "sys_info",
                                           "object graph", "storage key list"};

}  // namespace

void scan_pytorch_legacy(ScanContext& ctx, const util::ByteSource& bytes) {
  PickleWalker walker(&ctx, bytes);
  PickleWalkOptions options;
  options.joblib = false;
  const uint64_t size = bytes.size();
  nlohmann::json legacy = nlohmann::json::object();
  auto finish = [&] {
    nlohmann::json& details = ctx.details();
    details["pickle"] = walker.summary();
    details["pytorch_legacy"] = legacy;
  };

  uint64_t pos = 0;
  PickleStreamResult results[5];
  for (int i = 0; i < 5; ++i) {
    if (pos >= size) {
      ctx.report("pytorch_legacy.truncated", Severity::medium, pos,
                 std::string("the file ends before the ") + k_pickle_names[i] + " pickle");
      return finish();
    }
    // The key list is needed whole to skip the storages that follow it.
    if (i == 4)
      options.max_kept_items =
          std::clamp<size_t>(walker.storages().size() + 64, 64, size_t{4} << 20);
    results[i] = walker.walk_stream(pos, options);
    if (results[i].end != PickleStreamResult::End::stop) {
      ctx.report("pytorch_legacy.malformed", Severity::medium, pos,
                 std::string("the ") + k_pickle_names[i] +
                     " pickle does not parse; the rest of the checkpoint was not scanned");
      return finish();
    }
    pos = results[i].end_offset;
  }
  if (results[0].result_long != k_magic)
    ctx.report("pytorch_legacy.bad_magic", Severity::medium, results[0].start,
               "the first pickle is not torch's legacy magic number (torch.load runs it anyway "
               "before failing)");
  if (results[1].result_int != k_protocol_version)
    ctx.report("pytorch_legacy.bad_protocol_version", Severity::medium, results[1].start,
               "the second pickle is not the legacy protocol version 1001");
  if (!results[2].result_is_dict)
    ctx.report("pytorch_legacy.malformed", Severity::medium, results[2].start,
               "the third pickle is not the sys_info dict");
  const auto& keys = results[4].result_strings;
  if (!results[4].result_is_sequence || keys.size() != results[4].result_count) {
    ctx.report("pytorch_legacy.malformed", Severity::medium, results[4].start,
               "the storage key list is not a list of strings; storage data was not checked");
    return finish();
  }

  // key -> (element size, numel) from the persistent ids of the object graph.
  struct StorageInfo {
    int element_size = 0;
    std::optional<uint64_t> numel;
    std::string type;
    bool used = false;
  };
  std::map<std::string, StorageInfo> storages;
  for (const auto& ref : walker.storages()) {
    auto [it, inserted] = storages.try_emplace(ref.key);
    if (!inserted) continue;
    it->second.type = ref.type;
    it->second.element_size = storage_element_size(ref.type);
    it->second.numel = ref.numel;
  }

  util::StreamReader reader(bytes, pos);
  uint64_t data_bytes = 0;
  for (const auto& key : keys) {
    const uint64_t at = reader.position();
    uint64_t count = 0;
    if (!reader.read_u64le(count)) {
      ctx.report("pytorch_legacy.truncated", Severity::medium, at,
                 "the file ends before the data of storage " + key, key);
      return finish();
    }
    auto it = storages.find(key);
    if (it == storages.end() || it->second.element_size == 0) {
      ctx.report("pytorch_legacy.unknown_storage", Severity::medium, at,
                 "storage " + key +
                     " has no storage type with a known element size in the object graph; the "
                     "data after it was not checked",
                 key);
      return finish();
    }
    it->second.used = true;
    if (it->second.numel && *it->second.numel != count)
      ctx.report("pytorch_legacy.storage_size_mismatch", Severity::medium, at,
                 "storage " + key + " holds " + std::to_string(count) +
                     " elements but the object graph says " + std::to_string(*it->second.numel),
                 key);
    uint64_t nbytes = 0;
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(it->second.element_size), &nbytes) ||
        !reader.skip(nbytes)) {
      ctx.report("pytorch_legacy.truncated", Severity::medium, at,
                 "the data of storage " + key + " runs past the end of the file", key);
      return finish();
    }
    data_bytes += nbytes;
  }
  for (const auto& [key, info] : storages)
    if (!info.used)
      ctx.report("pytorch_legacy.unused_storage", Severity::low, 0,
                 "storage " + key + " is referenced by the object graph but has no data", key);
  legacy["storages"] = keys.size();
  legacy["storage_bytes"] = data_bytes;

  pos = reader.position();
  if (pos < size) {
    const util::SliceSource rest(bytes, pos, size - pos);
    auto head = rest.read_string(0, 4);
    if (head && *head == std::string_view("PK\x03\x04", 4)) {
      ctx.report("pickle.polyglot_zip", Severity::high, pos,
                 "a zip archive follows the legacy checkpoint: the file is a polyglot that "
                 "different loaders read differently",
                 "zip");
      ctx.scan_nested(rest, fmt::format("@{}:zip", pos));
    } else {
      ctx.report("pytorch_legacy.trailing_data", Severity::low, pos,
                 std::to_string(size - pos) + " bytes follow the last storage");
      if (probe_pickle(rest)) ctx.scan_nested(rest, fmt::format("@{}:trailing", pos));
    }
  }
  finish();
}

}  // namespace hfaudit::scan
