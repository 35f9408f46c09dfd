#include "hub/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>

#include "hub/redact.hpp"
#include "util/text.hpp"

#ifndef HFAUDIT_VERSION
#define HFAUDIT_VERSION "0.0.0"
#endif

namespace hfaudit::hub {

void Headers::add(std::string name, std::string value) {
  m_entries.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [key, value] : m_entries) {
    if (util::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [key, value] : m_entries) {
    if (util::iequals(key, name)) out.push_back(value);
  }
  return out;
}

std::string_view to_string(HttpMethod method) {
  switch (method) {
    case HttpMethod::get:
      return "GET";
    case HttpMethod::head:
      return "HEAD";
    case HttpMethod::post:
      return "POST";
  }
  return "GET";
}

std::string user_agent(std::string_view suffix) {
  std::string ua = "hfaudit/" HFAUDIT_VERSION;
  if (!suffix.empty()) {
    ua.push_back(' ');
    ua.append(suffix);
  }
  return ua;
}

std::vector<util::Result<HttpResponse>> HttpTransport::perform_many(
    const std::vector<HttpRequest>& requests) {
  std::vector<util::Result<HttpResponse>> results;
  results.reserve(requests.size());
  for (const auto& request : requests) results.push_back(perform(request));
  return results;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// State of one transfer, shared by the libcurl callbacks.
struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
  bool headers_done = false;
  BodyDisposition disposition = BodyDisposition::buffer;
  bool aborted = false;
  bool too_big = false;
  // The per-read timeout: the time of the last byte received (or sent), checked by the
  // progress callback. libcurl's LOW_SPEED options average over several seconds, so a server
  // dripping a few bytes every few seconds would never trip them.
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  curl_off_t last_down = 0;
  curl_off_t last_up = 0;
  bool stalled = false;
  curl_slist* header_list = nullptr;
  std::string range;
  std::array<char, CURL_ERROR_SIZE> error_buffer{};

  Transfer() = default;
  Transfer(const Transfer&) = delete;
  Transfer& operator=(const Transfer&) = delete;
  ~Transfer() { curl_slist_free_all(header_list); }
};

// Each header block starts with a status line; 1xx blocks (100 Continue, 103 Early Hints) and
// proxy CONNECT answers come before the final one, so headers are reset on every status line
// and the body's destination is chosen at the blank line ending a final (>= 200) block.
std::size_t on_header_line(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->last_activity = std::chrono::steady_clock::now();
  const std::string_view line(data, n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers = Headers{};
    t->headers_done = false;
    const auto space = line.find(' ');
    int status = 0;
    if (space != std::string_view::npos) {
      for (std::size_t i = space + 1;
           i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])) != 0; ++i) {
        status = status * 10 + (line[i] - '0');
      }
    }
    t->response.status = status;
    return n;
  }
  const std::string_view trimmed = trim(line);
  if (trimmed.empty()) {
    if (t->response.status >= 200 && !t->headers_done) {
      t->headers_done = true;
      const HttpRequest& req = *t->request;
      if (req.on_headers) {
        t->disposition = req.on_headers(t->response.status, t->response.headers);
      } else {
        const bool success = t->response.status >= 200 && t->response.status < 300;
        t->disposition = req.sink && success ? BodyDisposition::sink : BodyDisposition::buffer;
      }
      if (t->disposition == BodyDisposition::sink && !req.sink) {
        t->disposition = BodyDisposition::buffer;
      }
      if (t->disposition == BodyDisposition::abort) {
        t->aborted = true;
        return 0;
      }
    }
    return n;
  }
  const auto colon = trimmed.find(':');
  if (colon != std::string_view::npos) {
    t->response.headers.add(std::string(trim(trimmed.substr(0, colon))),
                            std::string(trim(trimmed.substr(colon + 1))));
  }
  return n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * count;
  t->last_activity = std::chrono::steady_clock::now();
  if (t->headers_done && t->disposition == BodyDisposition::sink) {
    if (!t->request->sink(std::string_view(data, n))) {
      t->aborted = true;
      return 0;
    }
    t->response.bytes_to_sink += n;
    return n;
  }
  if (t->response.body.size() + n > t->request->max_buffered_body) {
    t->too_big = true;
    return 0;
  }
  t->response.body.append(data, n);
  return n;
}

// libcurl calls this at least once a second during a transfer; a non-zero return aborts it.
int on_progress(void* user, curl_off_t, curl_off_t down, curl_off_t, curl_off_t up) {
  auto* t = static_cast<Transfer*>(user);
  const auto now = std::chrono::steady_clock::now();
  if (down != t->last_down || up != t->last_up) {
    t->last_down = down;
    t->last_up = up;
    t->last_activity = now;
    return 0;
  }
  const auto limit = t->request->read_timeout;
  if (limit.count() > 0 && now - t->last_activity > limit) {
    t->stalled = true;
    return 1;
  }
  return 0;
}

util::Result<HttpResponse> finish(Transfer& t, CURL* easy, CURLcode code) {
  char* effective = nullptr;
  if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    t.response.effective_url = effective;
  } else {
    t.response.effective_url = t.request->url;
  }
  if (code == CURLE_OK) {
    if (t.response.status == 0) {
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      t.response.status = static_cast<int>(status);
    }
    return std::move(t.response);
  }
  const std::string where = redact_url(t.request->url);
  const std::string detail =
      redact_text(t.error_buffer[0] != '\0' ? t.error_buffer.data() : curl_easy_strerror(code));
  if (t.stalled) {
    const auto ms = t.request->read_timeout.count();
    const std::string limit =
        ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    return util::make_error(util::ErrorCode::network,
                            "request to " + where + " timed out: no data for " + limit);
  }
  if (t.aborted) {
    return util::make_error(util::ErrorCode::io, "transfer stopped by the caller (" + where + ")");
  }
  if (t.too_big) {
    return util::make_error(util::ErrorCode::corrupt_input,
                            "response body larger than the " +
                                std::to_string(t.request->max_buffered_body >> 20) +
                                " MiB limit (" + where + ")");
  }
  switch (code) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return util::make_error(util::ErrorCode::invalid_argument,
                              "cannot request " + where + ": " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_TOO_MANY_REDIRECTS:
      return util::make_error(util::ErrorCode::http, "request to " + where + " failed: " + detail);
    default:
      return util::make_error(util::ErrorCode::network,
                              "request to " + where + " failed: " + detail);
  }
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options)
      : m_options(std::move(options)), m_user_agent(user_agent(m_options.user_agent_suffix)) {
    static std::once_flag k_global_init;
    std::call_once(k_global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    m_share = curl_share_init();
    curl_share_setopt(m_share, CURLSHOPT_LOCKFUNC, &CurlTransport::lock);
    curl_share_setopt(m_share, CURLSHOPT_UNLOCKFUNC, &CurlTransport::unlock);
    curl_share_setopt(m_share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(m_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~CurlTransport() override { curl_share_cleanup(m_share); }

  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  util::Result<HttpResponse> perform(const HttpRequest& request) override {
    Transfer transfer;
    CURL* easy = prepare(transfer, request);
    if (!easy) return util::make_error(util::ErrorCode::network, "cannot create a curl handle");
    const CURLcode code = curl_easy_perform(easy);
    auto result = finish(transfer, easy, code);
    curl_easy_cleanup(easy);
    return result;
  }

  std::vector<util::Result<HttpResponse>> perform_many(
      const std::vector<HttpRequest>& requests) override {
    std::vector<std::optional<util::Result<HttpResponse>>> slots(requests.size());
    std::vector<std::unique_ptr<Transfer>> transfers(requests.size());
    CURLM* multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    std::size_t next = 0;
    std::size_t running_count = 0;
    auto start_next = [&] {
      while (next < requests.size() &&
             running_count < std::max<std::size_t>(1, m_options.max_in_flight)) {
        const std::size_t index = next++;
        transfers[index] = std::make_unique<Transfer>();
        CURL* easy = prepare(*transfers[index], requests[index]);
        if (!easy) {
          slots[index] = util::make_error(util::ErrorCode::network, "cannot create a curl handle");
          continue;
        }
        curl_easy_setopt(easy, CURLOPT_PRIVATE, reinterpret_cast<char*>(index));
        curl_multi_add_handle(multi, easy);
        ++running_count;
      }
    };
    start_next();
    while (running_count > 0) {
      int still_running = 0;
      curl_multi_perform(multi, &still_running);
      int queued = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL* easy = message->easy_handle;
        char* private_data = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private_data);
        const auto index = reinterpret_cast<std::size_t>(private_data);
        slots[index] = finish(*transfers[index], easy, message->data.result);
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        transfers[index].reset();
        --running_count;
      }
      start_next();
      if (running_count > 0) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    curl_multi_cleanup(multi);
    std::vector<util::Result<HttpResponse>> results;
    results.reserve(slots.size());
    for (auto& slot : slots) results.push_back(std::move(*slot));
    return results;
  }

 private:
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<CurlTransport*>(user)->mutex_for(data).lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<CurlTransport*>(user)->mutex_for(data).unlock();
  }
  std::mutex& mutex_for(curl_lock_data data) {
    const auto index = static_cast<std::size_t>(data);
    return m_locks[index < m_locks.size() ? index : 0];
  }

  CURL* prepare(Transfer& t, const HttpRequest& request) {
    CURL* easy = curl_easy_init();
    if (!easy) return nullptr;
    t.request = &request;
    t.response.effective_url = request.url;
    curl_easy_setopt(easy, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(easy, CURLOPT_SHARE, m_share);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    // The client follows redirects itself so it can drop Authorization on other hosts.
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_USERAGENT, m_user_agent.c_str());
    curl_easy_setopt(
        easy, CURLOPT_HTTP_VERSION,
        m_options.http2 == Http2::when_available ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(request.connect_timeout.count()));
    // No byte for read_timeout ⇒ abort: a per-read timeout, not a cap on a 10 GB transfer.
    const long read_seconds =
        std::max<long>(1, static_cast<long>((request.read_timeout.count() + 999) / 1000));
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, read_seconds);
    if (request.total_timeout.count() > 0) {
      curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
    }
    t.last_activity = std::chrono::steady_clock::now();
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (!m_options.ca_file.empty())
      curl_easy_setopt(easy, CURLOPT_CAINFO, m_options.ca_file.c_str());
    switch (request.method) {
      case HttpMethod::head:
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        break;
      case HttpMethod::post:
        curl_easy_setopt(easy, CURLOPT_POST, 1L);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body ? request.body->size() : 0));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body ? request.body->data() : "");
        break;
      case HttpMethod::get:
        curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
        break;
    }
    if (request.range_start) {
      t.range = std::to_string(*request.range_start) + "-" +
                (request.range_end ? std::to_string(*request.range_end) : std::string());
      curl_easy_setopt(easy, CURLOPT_RANGE, t.range.c_str());
    }
    t.header_list = curl_slist_append(t.header_list, "Expect:");
    for (const auto& [name, value] : request.headers) {
      const std::string line = name + ": " + value;
      t.header_list = curl_slist_append(t.header_list, line.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.header_list);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header_line);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &t);
    // Streamed bodies are files of up to gigabytes: bigger reads mean 32x fewer sink calls
    // (each a pwrite and a hash update) than the default 16 KiB. Memory stays bounded.
    if (request.sink) curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error_buffer.data());
    return easy;
  }

  CurlTransportOptions m_options;
  std::string m_user_agent;
  CURLSH* m_share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> m_locks;
};

}  // namespace

std::shared_ptr<HttpTransport> make_curl_transport(const CurlTransportOptions& options) {
  return std::make_shared<CurlTransport>(options);
}

}  // namespace hfaudit::hub
