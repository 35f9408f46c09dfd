// A transport decorator that keeps a burst of API calls within the Hub's rate limits instead
// of running into them (reference hub-api.md §5): every thread waits before sending while
//  - a budget of `quota` requests per sliding `window` (when set) is used up, or
//  - the server said the current window is exhausted: a 429, or a RateLimit header whose
//    remaining count (r) fell to the number of requests still in flight; then everyone waits
//    the announced reset (t seconds, or Retry-After) once, instead of each thread collecting
//    its own 429 and backing off on its own.
// It also counts the requests it sent, for reports and benchmarks.
//
// Thread-safe; the clock and sleep are injectable so tests run instantly.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "hub/http.hpp"

namespace hfaudit::hub {

struct PaceOptions {
  // Client-side budget: at most `quota` requests started per sliding `window`; 0 = none
  // (only the server's signals pace).
  std::uint64_t quota = 0;
  std::chrono::milliseconds window{300'000};
  // Hooks; defaults are steady_clock::now and this_thread::sleep_for.
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::milliseconds)> sleep;
};

class PacedTransport : public HttpTransport {
 public:
  virtual std::uint64_t requests_sent() const = 0;
  // Requests answered 429 (each was retried by the client or reported).
  virtual std::uint64_t rate_limited_responses() const = 0;
  // Total time threads spent waiting for the budget or a server-announced reset.
  virtual std::chrono::milliseconds time_paused() const = 0;
};

std::shared_ptr<PacedTransport> make_paced_transport(std::shared_ptr<HttpTransport> inner,
                                                     PaceOptions options = {});

}  // namespace hfaudit::hub
