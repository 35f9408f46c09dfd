// Shared helpers of the hub unit tests: recorded samples, a fake clock, a client on a
// ReplayTransport.
#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "hub/client.hpp"
#include "hub/replay_transport.hpp"

namespace hfaudit::hub::test {

inline std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(HFAUDIT_FIXTURES_DIR) + "/hub-samples/" + name, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline constexpr const char* k_token = "hf_SecretTokenValue0123456789abcdefXYZ";
inline constexpr const char* k_commit = "86b5e0934494bd15c9632b12f734a8a67f723594";

// A client whose sleeps advance a fake clock and are recorded, with jitter fixed at 1 so
// backoff delays equal their ceiling.
struct Fixture {
  std::shared_ptr<ReplayTransport> transport = std::make_shared<ReplayTransport>();
  std::vector<std::chrono::milliseconds> sleeps;
  std::chrono::system_clock::time_point clock =
      std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  std::vector<std::string> log_lines;

  HubOptions options(std::optional<std::string> token = std::string(k_token)) {
    HubOptions o;
    o.token = std::move(token);
    o.sleep = [this](std::chrono::milliseconds d) {
      sleeps.push_back(d);
      clock += d;
    };
    o.now = [this] { return clock; };
    o.jitter = [] { return 1.0; };
    o.log = [this](std::string_view line) { log_lines.emplace_back(line); };
    return o;
  }

  HubClient client(HubOptions o) { return HubClient::create(std::move(o), transport).value(); }
  HubClient client() { return client(options()); }
};

// The error's description for a failed result (message of a BOOST_TEST), else "".
template <typename T>
std::string why(const HubResult<T>& result) {
  return result.ok() ? std::string() : result.error().describe();
}

inline RepoId repo(const char* id) {
  return RepoId::parse(id).value();
}

}  // namespace hfaudit::hub::test
