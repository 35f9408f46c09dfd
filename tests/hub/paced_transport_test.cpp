#include "hub/paced_transport.hpp"

#include <boost/test/unit_test.hpp>

#include "hub/replay_transport.hpp"

using namespace hfaudit::hub;
using std::chrono::milliseconds;

namespace {

const std::string k_url = "https://hub.test/api/models/org/m";

// A fake steady clock advanced by the transport's own sleeps.
struct Pacing {
  std::shared_ptr<ReplayTransport> inner = std::make_shared<ReplayTransport>();
  std::chrono::steady_clock::time_point clock{};
  std::vector<milliseconds> sleeps;

  std::shared_ptr<PacedTransport> make(std::uint64_t quota = 0,
                                       milliseconds window = milliseconds(10'000)) {
    PaceOptions options;
    options.quota = quota;
    options.window = window;
    options.now = [this] { return clock; };
    options.sleep = [this](milliseconds d) {
      sleeps.push_back(d);
      clock += d;
    };
    return make_paced_transport(inner, options);
  }
  void answer(int status, std::vector<std::pair<std::string, std::string>> headers = {}) {
    ReplayAnswer a;
    a.status = status;
    a.headers = std::move(headers);
    a.body = "{}";
    inner->add(HttpMethod::get, k_url, std::move(a));
  }
};

HttpRequest get() {
  HttpRequest r;
  r.url = k_url;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(paced_transport_test)

BOOST_AUTO_TEST_CASE(a_client_side_budget_spreads_requests_over_the_window) {
  Pacing p;
  auto paced = p.make(2, milliseconds(10'000));
  for (int i = 0; i < 5; ++i) p.answer(200);
  for (int i = 0; i < 5; ++i) BOOST_TEST(paced->perform(get())->status == 200);
  BOOST_TEST(paced->requests_sent() == 5u);
  // Requests 3 and 5 each waited for a window to pass.
  BOOST_TEST(p.sleeps.size() == 2u);
  BOOST_TEST(paced->time_paused().count() == 20'000);
}

BOOST_AUTO_TEST_CASE(an_exhausted_server_window_pauses_everyone_until_its_reset) {
  Pacing p;
  auto paced = p.make();
  p.answer(200, {{"RateLimit", "\"api\";r=0;t=7"}});
  p.answer(200, {{"RateLimit", "\"api\";r=499;t=300"}});
  BOOST_TEST(paced->perform(get())->status == 200);
  BOOST_TEST(p.sleeps.empty());
  BOOST_TEST(paced->perform(get())->status == 200);  // waited for the reset first
  BOOST_TEST(paced->time_paused().count() == 7'000);
  BOOST_TEST(paced->rate_limited_responses() == 0u);
}

BOOST_AUTO_TEST_CASE(a_429_with_retry_after_pauses_and_is_counted) {
  Pacing p;
  auto paced = p.make();
  p.answer(429, {{"Retry-After", "3"}});
  p.answer(200);
  BOOST_TEST(paced->perform(get())->status == 429);  // the client decides about retries
  BOOST_TEST(paced->perform(get())->status == 200);
  BOOST_TEST(paced->rate_limited_responses() == 1u);
  BOOST_TEST(paced->time_paused().count() == 3'000);
  BOOST_TEST(paced->requests_sent() == 2u);
}

BOOST_AUTO_TEST_CASE(plenty_of_remaining_quota_never_waits) {
  Pacing p;
  auto paced = p.make();
  for (int i = 0; i < 3; ++i) p.answer(200, {{"RateLimit", "\"api\";r=100;t=30"}});
  for (int i = 0; i < 3; ++i) BOOST_TEST(paced->perform(get())->status == 200);
  BOOST_TEST(p.sleeps.empty());
}

BOOST_AUTO_TEST_SUITE_END()
