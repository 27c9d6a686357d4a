// The admin listener: plain HTTP/1.1 on 127.0.0.1, one request per
// connection, GET only. Routes are the node's (/metrics, /health, /status).
// A request line longer than 8 KiB, or one not finished within 5 s, closes
// the connection.
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <asio/ip/tcp.hpp>
#include <functional>
#include <string>

namespace phalanx::node {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(std::string_view path)>;

// Accepts until the acceptor is closed.
asio::awaitable<void> serve_admin(asio::ip::tcp::acceptor& acceptor, HttpHandler handler);

// The path of "GET <path> HTTP/1.x"; nullopt for anything else.
[[nodiscard]] std::optional<std::string> http_get_path(std::string_view request_head);

}  // namespace phalanx::node
