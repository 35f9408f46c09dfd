#include "hub/paced_transport.hpp"

#include <deque>
#include <mutex>
#include <thread>

#include "hub/parse.hpp"

namespace hfaudit::hub {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class Paced final : public PacedTransport {
 public:
  Paced(std::shared_ptr<HttpTransport> inner, PaceOptions options)
      : m_inner(std::move(inner)), m_options(std::move(options)) {
    if (!m_options.now) m_options.now = [] { return Clock::now(); };
    if (!m_options.sleep) m_options.sleep = [](milliseconds d) { std::this_thread::sleep_for(d); };
  }

  util::Result<HttpResponse> perform(const HttpRequest& request) override {
    admit();
    auto response = m_inner->perform(request);
    {
      std::lock_guard lock(m_mutex);
      --m_in_flight;
      if (response) observe(*response);
    }
    return response;
  }

  std::uint64_t requests_sent() const override {
    std::lock_guard lock(m_mutex);
    return m_sent;
  }
  std::uint64_t rate_limited_responses() const override {
    std::lock_guard lock(m_mutex);
    return m_rate_limited;
  }
  milliseconds time_paused() const override {
    std::lock_guard lock(m_mutex);
    return m_paused;
  }

 private:
  // Blocks until this request may start, then counts it as started.
  void admit() {
    for (;;) {
      milliseconds wait{0};
      {
        std::lock_guard lock(m_mutex);
        const auto now = m_options.now();
        while (!m_started.empty() && now - m_started.front() >= m_options.window)
          m_started.pop_front();
        if (m_resume_at && now < *m_resume_at) {
          wait = std::chrono::ceil<milliseconds>(*m_resume_at - now);
        } else if (m_options.quota > 0 && m_started.size() >= m_options.quota) {
          wait = std::chrono::ceil<milliseconds>(m_started.front() + m_options.window - now);
        } else {
          m_started.push_back(now);
          ++m_sent;
          ++m_in_flight;
          return;
        }
        m_paused += wait;
      }
      m_options.sleep(std::max(wait, milliseconds(1)));
    }
  }

  // Reads the server's rate-limit signals (caller holds the mutex).
  void observe(const HttpResponse& response) {
    std::optional<std::chrono::seconds> reset;
    bool exhausted = response.status == 429;
    if (response.status == 429) ++m_rate_limited;
    if (auto header = response.headers.get("RateLimit")) {
      if (auto limit = parse_rate_limit(*header)) {
        if (limit->remaining && *limit->remaining <= m_in_flight) exhausted = true;
        if (limit->reset_seconds)
          reset = std::chrono::seconds(static_cast<std::int64_t>(*limit->reset_seconds));
      }
    }
    if (!exhausted) return;
    if (!reset) {
      const auto now_unix = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
      if (auto value = response.headers.get("Retry-After"))
        reset = parse_retry_after(*value, now_unix);
    }
    // No reset announced: a second, so a burst does not turn into a storm of 429s.
    const auto until = m_options.now() + reset.value_or(std::chrono::seconds(1));
    if (!m_resume_at || *m_resume_at < until) m_resume_at = until;
  }

  std::shared_ptr<HttpTransport> m_inner;
  PaceOptions m_options;
  mutable std::mutex m_mutex;
  std::deque<Clock::time_point> m_started;  // starts within the budget window
  std::optional<Clock::time_point> m_resume_at;
  std::uint64_t m_sent = 0;
  std::uint64_t m_in_flight = 0;
  std::uint64_t m_rate_limited = 0;
  milliseconds m_paused{0};
};

}  // namespace

std::shared_ptr<PacedTransport> make_paced_transport(std::shared_ptr<HttpTransport> inner,
                                                     PaceOptions options) {
  return std::make_shared<Paced>(std::move(inner), std::move(options));
}

}  // namespace hfaudit::hub
