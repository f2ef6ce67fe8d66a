#pragma once
// A small HTTP/1.1 server on 127.0.0.1 for the tests: the stand-in Lambda Runtime API, and a
// DynamoDB endpoint that records what it is sent. One thread per connection, keep-alive, bodies
// by Content-Length. The handler may block (a long poll); stop() releases it.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qrl::testing {

struct HttpRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit HttpServer(Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  bool stopping() const { return stopping_; }
  // Closes every open connection now (a server-side reset as clients see it).
  void drop_connections();

 private:
  void serve(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> client_fds_;
  std::vector<std::thread> workers_;
};

}  // namespace qrl::testing
