#include "hub/replay_transport.hpp"

#include <algorithm>

namespace hfaudit::hub {

std::string replay_key(HttpMethod method, std::string_view url) {
  std::string key(to_string(method));
  key.push_back(' ');
  key.append(url);
  return key;
}

void ReplayTransport::add(HttpMethod method, std::string url, ReplayAnswer answer, Repeat repeat) {
  const std::lock_guard lock(m_mutex);
  auto& queue = m_queues[replay_key(method, url)];
  queue.answers.push_back(std::move(answer));
  queue.repeat = repeat;
}

void ReplayTransport::add_json(std::string url, std::string body,
                               std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  add(HttpMethod::get, std::move(url),
      ReplayAnswer{200, std::move(headers), std::move(body), {}, 0});
}

void ReplayTransport::add_failure(HttpMethod method, std::string url, util::Error error) {
  ReplayAnswer answer;
  answer.transport_error = std::move(error);
  add(method, std::move(url), std::move(answer));
}

util::Result<HttpResponse> ReplayTransport::perform(const HttpRequest& request) {
  ReplayAnswer answer;
  {
    const std::lock_guard lock(m_mutex);
    HttpRequest recorded = request;
    recorded.sink = nullptr;
    recorded.on_headers = nullptr;
    m_requests.push_back(std::move(recorded));
    auto it = m_queues.find(replay_key(request.method, request.url));
    if (it == m_queues.end() || it->second.answers.empty()) {
      answer.status = 599;
      answer.body = "replay: nothing queued for " + replay_key(request.method, request.url);
    } else if (it->second.answers.size() == 1 && it->second.repeat == Repeat::last) {
      answer = it->second.answers.front();
    } else {
      answer = std::move(it->second.answers.front());
      it->second.answers.pop_front();
    }
  }

  HttpResponse response;
  response.effective_url = request.url;
  if (answer.transport_error && answer.deliver_before_error == 0) return *answer.transport_error;
  response.status = answer.status;
  for (auto& [name, value] : answer.headers) response.headers.add(name, value);

  // Mirror the curl transport: choose the body's destination once headers are known.
  BodyDisposition disposition;
  if (request.on_headers) {
    disposition = request.on_headers(response.status, response.headers);
  } else {
    const bool success = response.status >= 200 && response.status < 300;
    disposition = request.sink && success ? BodyDisposition::sink : BodyDisposition::buffer;
  }
  if (disposition == BodyDisposition::abort) {
    return util::make_error(util::ErrorCode::io, "transfer stopped by the caller");
  }
  if (disposition == BodyDisposition::sink && !request.sink) disposition = BodyDisposition::buffer;
  if (request.method == HttpMethod::head) answer.body.clear();

  const std::size_t limit = answer.transport_error
                                ? std::min(answer.deliver_before_error, answer.body.size())
                                : answer.body.size();
  const std::string_view body = std::string_view(answer.body).substr(0, limit);
  if (disposition == BodyDisposition::sink) {
    const std::size_t step = std::max<std::size_t>(1, chunk_size);
    for (std::size_t offset = 0; offset < body.size(); offset += step) {
      const auto chunk = body.substr(offset, step);
      if (!request.sink(chunk)) {
        return util::make_error(util::ErrorCode::io, "transfer stopped by the caller");
      }
      response.bytes_to_sink += chunk.size();
    }
  } else {
    if (body.size() > request.max_buffered_body) {
      return util::make_error(util::ErrorCode::corrupt_input, "response body too large");
    }
    response.body = std::string(body);
  }
  if (answer.transport_error) return *answer.transport_error;
  return response;
}

std::vector<HttpRequest> ReplayTransport::requests() const {
  const std::lock_guard lock(m_mutex);
  return m_requests;
}

std::size_t ReplayTransport::request_count() const {
  const std::lock_guard lock(m_mutex);
  return m_requests.size();
}

std::vector<std::string> ReplayTransport::unused() const {
  const std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (const auto& [key, queue] : m_queues) {
    if (!queue.answers.empty() && queue.repeat == Repeat::no) out.push_back(key);
  }
  return out;
}

}  // namespace hfaudit::hub
