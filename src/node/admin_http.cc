#include "node/admin_http.h"

#include <fmt/format.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <memory>

namespace phalanx::node {
namespace {

constexpr std::size_t kRequestHeadBytesMax = 8192;
constexpr std::chrono::seconds kRequestTimeout{5};

std::string_view reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

asio::awaitable<void> serve_one(asio::ip::tcp::socket socket, HttpHandler handler) {
  asio::steady_timer deadline(socket.get_executor(), kRequestTimeout);
  deadline.async_wait([&socket](const asio::error_code& ec) {
    if (!ec) {
      asio::error_code ignored;
      socket.close(ignored);
    }
  });
  std::string head;
  asio::error_code ec;
  co_await asio::async_read_until(socket, asio::dynamic_buffer(head, kRequestHeadBytesMax),
                                  "\r\n\r\n", asio::redirect_error(asio::use_awaitable, ec));
  HttpResponse response;
  if (ec) {
    if (!socket.is_open()) co_return;
    response = {400, "text/plain; charset=utf-8", "request head too long or cut short\n"};
  } else if (std::optional<std::string> path = http_get_path(head)) {
    response = handler(*path);
  } else {
    response = {405, "text/plain; charset=utf-8", "only GET is served\n"};
  }
  const std::string out =
      fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n"
                  "Connection: close\r\n\r\n{}",
                  response.status, reason(response.status), response.content_type,
                  response.body.size(), response.body);
  co_await asio::async_write(socket, asio::buffer(out),
                             asio::redirect_error(asio::use_awaitable, ec));
  deadline.cancel();
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
}

}  // namespace

std::optional<std::string> http_get_path(std::string_view head) {
  const std::size_t line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  if (!line.starts_with("GET ")) return std::nullopt;
  const std::size_t space = line.find(' ', 4);
  if (space == std::string_view::npos || !line.substr(space + 1).starts_with("HTTP/1.")) {
    return std::nullopt;
  }
  std::string_view path = line.substr(4, space - 4);
  path = path.substr(0, path.find('?'));
  if (!path.starts_with('/')) return std::nullopt;
  return std::string(path);
}

asio::awaitable<void> serve_admin(asio::ip::tcp::acceptor& acceptor, HttpHandler handler) {
  while (acceptor.is_open()) {
    asio::error_code ec;
    asio::ip::tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (!acceptor.is_open()) co_return;
      continue;
    }
    asio::co_spawn(acceptor.get_executor(), serve_one(std::move(socket), handler),
                   asio::detached);
  }
}

}  // namespace phalanx::node
