// The HTTP transport the Hub client runs on: plain request/response structs, an interface,
// and the libcurl implementation (make_curl_transport). Unit tests use the replay transport
// in hub/replay_transport.hpp instead.
//
// A transport moves bytes and nothing else: it never follows redirects, never retries and
// never decides what a status means. Redirects, retries, authentication and error mapping
// live in HubClient (hub/client.hpp), so every transport behaves the same under them.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.hpp"

namespace hfaudit::hub {

// Response (or request) headers: an ordered multimap with case-insensitive names.
class Headers {
 public:
  void add(std::string name, std::string value);
  // The first value of `name`, if any.
  std::optional<std::string> get(std::string_view name) const;
  // Every value of `name`, in order received.
  std::vector<std::string> get_all(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& entries() const { return m_entries; }
  bool empty() const { return m_entries.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> m_entries;
};

enum class HttpMethod { get, head, post };
std::string_view to_string(HttpMethod method);

// Receives body bytes as they arrive; return false to abort the transfer.
using BodySink = std::function<bool(std::string_view chunk)>;

// Where the body of a response goes, decided once its headers are in.
enum class BodyDisposition {
  sink,    // stream it to HttpRequest::sink
  buffer,  // keep it in HttpResponse::body (bounded by max_buffered_body)
  abort,   // stop the transfer; perform() fails with ErrorCode::io
};
// Called once per final response (1xx are skipped) before any body byte is delivered.
using HeadersCallback = std::function<BodyDisposition(int status, const Headers& headers)>;

struct HttpRequest {
  HttpMethod method = HttpMethod::get;
  std::string url;  // absolute, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;           // POST body, sent as is
  std::optional<std::uint64_t> range_start;  // sends "Range: bytes=N-" (or N-M with range_end)
  std::optional<std::uint64_t> range_end;    // inclusive last byte; needs range_start
  // Streaming target for large bodies. When set, bodies of 2xx responses go here (not into
  // HttpResponse::body) unless on_headers says otherwise; error bodies are always buffered.
  BodySink sink;
  HeadersCallback on_headers;
  std::chrono::milliseconds connect_timeout{10'000};
  // Abort when no byte arrives for this long (huggingface_hub's per-read timeout).
  std::chrono::milliseconds read_timeout{10'000};
  // Whole-transfer limit; zero means none (downloads of large files must not have one).
  std::chrono::milliseconds total_timeout{0};
  // Buffered bodies larger than this fail with ErrorCode::corrupt_input (hostile servers).
  std::uint64_t max_buffered_body = 256ull << 20;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;           // buffered body (empty when streamed to the sink)
  std::string effective_url;  // the URL that answered (redirects are never followed)
  std::uint64_t bytes_to_sink = 0;
};

// Failures of perform(): no HTTP response was received (or it was cut short).
//   ErrorCode::network        connection refused, DNS, timeout, reset, truncated body: may
//                             be retried for idempotent requests
//   ErrorCode::http           TLS verification or protocol failure: retrying will not help
//   ErrorCode::io             the sink or on_headers asked to abort
//   ErrorCode::corrupt_input  a buffered body exceeded max_buffered_body
//   ErrorCode::invalid_argument  the request itself is malformed (bad URL scheme)
// Any HTTP status, including 4xx/5xx, is a successful perform().
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Thread-safety: implementations must allow concurrent perform() calls from several
  // threads (both shipped ones do).
  virtual util::Result<HttpResponse> perform(const HttpRequest& request) = 0;

  // Runs several requests concurrently and returns their results in request order. The
  // default runs them one after another; the curl transport keeps them all in flight on one
  // curl_multi handle (bounded by CurlTransportOptions::max_in_flight). Sinks and callbacks
  // are invoked from the calling thread.
  virtual std::vector<util::Result<HttpResponse>> perform_many(
      const std::vector<HttpRequest>& requests);
};

enum class Http2 { when_available, never };

struct CurlTransportOptions {
  // Sent as "User-Agent: hfaudit/<version>[ <suffix>]".
  std::string user_agent_suffix;
  Http2 http2 = Http2::when_available;
  // Requests kept in flight by perform_many().
  std::size_t max_in_flight = 8;
  // CA bundle file; empty uses the system default.
  std::string ca_file;
};

// The libcurl transport. One shared CURLSH (connection cache, DNS cache, TLS sessions)
// serves every request, guarded by per-data-type mutexes so perform() is safe from many
// threads. Automatic redirect following is off; only http and https are allowed.
// Never fails to construct: libcurl is initialised once per process on first use.
std::shared_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options = {});

// "hfaudit/<version>", the base of every User-Agent the module sends.
std::string user_agent(std::string_view suffix = {});

}  // namespace hfaudit::hub
