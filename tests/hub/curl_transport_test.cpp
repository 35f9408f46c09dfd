// The libcurl transport against a tiny HTTP/1.1 server on 127.0.0.1 (loopback only, no
// network): status and headers, HEAD, redirects not followed, Range, streaming to a sink,
// error bodies kept out of the sink, perform_many, connection refused.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "hub/http.hpp"

using namespace hfaudit::hub;

namespace {

// Answers each connection with the canned response for its request path, then closes it.
class LoopbackServer {
 public:
  // drip > 0: after the header block, the body is sent 4 bytes at a time with this pause.
  explicit LoopbackServer(std::map<std::string, std::string> responses,
                          std::chrono::milliseconds drip = std::chrono::milliseconds(0))
      : m_responses(std::move(responses)), m_drip(drip) {
    m_socket = ::socket(AF_INET, SOCK_STREAM, 0);
    const int yes = 1;
    ::setsockopt(m_socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    ::bind(m_socket, reinterpret_cast<sockaddr*>(&address), sizeof address);
    ::listen(m_socket, 16);
    socklen_t length = sizeof address;
    ::getsockname(m_socket, reinterpret_cast<sockaddr*>(&address), &length);
    m_port = ntohs(address.sin_port);
    m_thread = std::thread([this] { serve(); });
  }
  ~LoopbackServer() {
    m_stop = true;
    ::shutdown(m_socket, SHUT_RDWR);
    ::close(m_socket);
    m_thread.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(m_port) + path;
  }
  std::vector<std::string> requests() const {
    const std::lock_guard lock(m_mutex);
    return m_requests;
  }

 private:
  void serve() {
    while (!m_stop) {
      const int client = ::accept(m_socket, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const auto n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      {
        const std::lock_guard lock(m_mutex);
        m_requests.push_back(request);
      }
      const auto first_space = request.find(' ');
      const auto second_space = request.find(' ', first_space + 1);
      const std::string path = request.substr(first_space + 1, second_space - first_space - 1);
      const auto it = m_responses.find(path);
      std::string response = it != m_responses.end()
                                 ? it->second
                                 : "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
      if (request.rfind("HEAD ", 0) == 0)
        response = response.substr(0, response.find("\r\n\r\n") + 4);
      std::size_t sent = 0;
      const std::size_t body_start = response.find("\r\n\r\n") + 4;
      while (sent < response.size() && !m_stop) {
        std::size_t piece = response.size() - sent;
        if (m_drip.count() > 0 && sent >= body_start) {
          piece = std::min<std::size_t>(piece, 4);
          std::this_thread::sleep_for(m_drip);
        } else if (m_drip.count() > 0) {
          piece = body_start - sent;
        }
        const auto n = ::send(client, response.data() + sent, piece, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(client, SHUT_WR);
      while (::recv(client, buffer, sizeof buffer, 0) > 0) {
      }
      ::close(client);
    }
  }

  std::map<std::string, std::string> m_responses;
  std::chrono::milliseconds m_drip;
  int m_socket = -1;
  std::uint16_t m_port = 0;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
  mutable std::mutex m_mutex;
  std::vector<std::string> m_requests;
};

std::string response(const std::string& status, const std::string& headers,
                     const std::string& body) {
  return "HTTP/1.1 " + status + "\r\n" + headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(curl_transport_test)

BOOST_AUTO_TEST_CASE(get_head_redirect_range_and_sink_over_loopback) {
  LoopbackServer server({
      {"/json", response("200 OK", "X-Repo-Commit: abc\r\nx-linked-etag: \"e\"\r\n", R"({"a":1})")},
      {"/redirect", response("302 Found", "Location: https://cdn.example/x\r\n", "moved")},
      {"/file", response("206 Partial Content", "Content-Range: bytes 6-10/11\r\n", "world")},
      {"/error", response("503 Service Unavailable", "", "busy")},
  });
  auto transport = make_curl_transport();

  HttpRequest get;
  get.url = server.url("/json");
  get.headers.emplace_back("Accept-Encoding", "identity");
  auto json = transport->perform(get);
  BOOST_TEST_REQUIRE(json.ok(), (json.ok() ? "" : json.error().message));
  BOOST_TEST(json->status == 200);
  BOOST_TEST(json->body == R"({"a":1})");
  BOOST_TEST(json->headers.get("x-repo-commit").value() == "abc");
  BOOST_TEST(json->headers.get("X-Linked-Etag").value() == "\"e\"");

  HttpRequest head = get;
  head.method = HttpMethod::head;
  head.url = server.url("/redirect");
  auto redirect = transport->perform(head);
  BOOST_TEST_REQUIRE(redirect.ok());
  BOOST_TEST(redirect->status == 302);  // not followed
  BOOST_TEST(redirect->headers.get("Location").value() == "https://cdn.example/x");

  std::string streamed;
  HttpRequest ranged;
  ranged.url = server.url("/file");
  ranged.range_start = 6;
  ranged.sink = [&](std::string_view chunk) {
    streamed.append(chunk);
    return true;
  };
  auto file = transport->perform(ranged);
  BOOST_TEST_REQUIRE(file.ok());
  BOOST_TEST(file->status == 206);
  BOOST_TEST(streamed == "world");
  BOOST_TEST(file->body.empty());
  BOOST_TEST(file->bytes_to_sink == 5u);

  streamed.clear();
  ranged.url = server.url("/error");
  auto error = transport->perform(ranged);
  BOOST_TEST_REQUIRE(error.ok());
  BOOST_TEST(error->status == 503);
  BOOST_TEST(streamed.empty());  // error bodies are buffered, never streamed
  BOOST_TEST(error->body == "busy");

  const auto seen = server.requests();
  BOOST_TEST_REQUIRE(seen.size() == 4u);
  BOOST_TEST(seen[0].find("User-Agent: hfaudit/") != std::string::npos);
  BOOST_TEST(seen[0].find("Accept-Encoding: identity") != std::string::npos);
  BOOST_TEST(seen[1].rfind("HEAD /redirect", 0) == 0);
  BOOST_TEST(seen[2].find("Range: bytes=6-") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(perform_many_keeps_request_order) {
  LoopbackServer server({
      {"/a", response("200 OK", "", "A")},
      {"/b", response("404 Not Found", "X-Error-Code: EntryNotFound\r\n", "")},
      {"/c", response("200 OK", "", "C")},
  });
  CurlTransportOptions options;
  options.user_agent_suffix = "test";
  options.max_in_flight = 2;
  auto transport = make_curl_transport(options);
  std::vector<HttpRequest> requests(3);
  requests[0].url = server.url("/a");
  requests[1].url = server.url("/b");
  requests[2].url = server.url("/c");
  auto results = transport->perform_many(requests);
  BOOST_TEST_REQUIRE(results.size() == 3u);
  BOOST_TEST(results[0]->body == "A");
  BOOST_TEST(results[1]->status == 404);
  BOOST_TEST(results[2]->body == "C");
}

BOOST_AUTO_TEST_CASE(one_transport_serves_several_threads) {
  LoopbackServer server({{"/x", response("200 OK", "", "x")}});
  auto transport = make_curl_transport();
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        HttpRequest request;
        request.url = server.url("/x");
        auto result = transport->perform(request);
        if (result.ok() && result->body == "x") ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  BOOST_TEST(ok.load() == 20);
}

BOOST_AUTO_TEST_CASE(connection_refused_is_a_network_error) {
  std::string url;
  {
    LoopbackServer server({});
    url = server.url("/gone");
  }
  auto transport = make_curl_transport();
  HttpRequest request;
  request.url = url;
  request.connect_timeout = std::chrono::milliseconds(2000);
  auto result = transport->perform(request);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == hfaudit::util::ErrorCode::network));
}

// read_timeout is the longest silence allowed, like huggingface_hub's per-read timeout: a
// server dripping 4 bytes every 700 ms (well above libcurl's low-speed limit of 1 byte/s)
// must still time out when read_timeout is 300 ms, as a network error.
BOOST_AUTO_TEST_CASE(a_dripping_server_trips_the_read_timeout) {
  LoopbackServer server({{"/drip", response("200 OK", "", std::string(64, 'x'))}},
                        std::chrono::milliseconds(700));
  auto transport = make_curl_transport();
  HttpRequest request;
  request.url = server.url("/drip");
  request.read_timeout = std::chrono::milliseconds(300);
  const auto started = std::chrono::steady_clock::now();
  auto result = transport->perform(request);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == hfaudit::util::ErrorCode::network));
  BOOST_TEST(result.error().message.find("timed out") != std::string::npos, result.error().message);
  BOOST_TEST((elapsed < std::chrono::seconds(3)));

  // The same drip within a generous timeout completes.
  request.read_timeout = std::chrono::milliseconds(3000);
  LoopbackServer quick({{"/drip", response("200 OK", "", std::string(8, 'y'))}},
                       std::chrono::milliseconds(200));
  request.url = quick.url("/drip");
  auto ok = transport->perform(request);
  BOOST_TEST_REQUIRE(ok.ok(), (ok.ok() ? std::string() : ok.error().message));
  BOOST_TEST(ok->body == std::string(8, 'y'));
}

BOOST_AUTO_TEST_CASE(only_http_and_https_are_allowed) {
  auto transport = make_curl_transport();
  HttpRequest request;
  request.url = "file:///etc/passwd";
  auto result = transport->perform(request);
  BOOST_TEST_REQUIRE(!result.ok());
  BOOST_TEST((result.error().code == hfaudit::util::ErrorCode::invalid_argument));
}

BOOST_AUTO_TEST_SUITE_END()
