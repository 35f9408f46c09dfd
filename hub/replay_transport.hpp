// A transport that answers from a script instead of the network, for unit tests of anything
// built on HubClient. Canned responses are queued per "METHOD URL" key and consumed in order
// (the last one for a key is reused when `Repeat::last` is given); every request is recorded
// so tests can assert what was sent (headers, ranges, bodies).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hub/http.hpp"

namespace hfaudit::hub {

// A canned answer: an HTTP response, or a transport failure (connection refused, timeout).
struct ReplayAnswer {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, perform() fails with this error instead (after delivering
  // `deliver_before_error` bytes of `body` to the sink, to simulate a cut connection).
  std::optional<util::Error> transport_error;
  std::size_t deliver_before_error = 0;
};

enum class Repeat { no, last };

class ReplayTransport final : public HttpTransport {
 public:
  // Queues an answer for requests with this method and exact URL.
  void add(HttpMethod method, std::string url, ReplayAnswer answer, Repeat repeat = Repeat::no);
  // Shorthands: a JSON/text 200 for GET, and a transport failure.
  void add_json(std::string url, std::string body,
                std::vector<std::pair<std::string, std::string>> headers = {});
  void add_failure(HttpMethod method, std::string url, util::Error error);

  // Answers the next queued response for method+url. A request nothing was queued for
  // yields HTTP 599 with an explanatory body so that tests fail loudly. Bodies of responses
  // the request streams go to its sink in chunks of at most `chunk_size` bytes.
  util::Result<HttpResponse> perform(const HttpRequest& request) override;

  // Every request performed so far, in order (copied without sink and callbacks).
  std::vector<HttpRequest> requests() const;
  std::size_t request_count() const;
  // Keys ("GET https://...") with answers still queued; empty when a script was consumed.
  std::vector<std::string> unused() const;

  std::size_t chunk_size = 4;

 private:
  struct Queue {
    std::deque<ReplayAnswer> answers;
    Repeat repeat = Repeat::no;
  };
  mutable std::mutex m_mutex;
  std::map<std::string, Queue> m_queues;
  std::vector<HttpRequest> m_requests;
};

// "METHOD url", the key ReplayTransport matches on.
std::string replay_key(HttpMethod method, std::string_view url);

}  // namespace hfaudit::hub
