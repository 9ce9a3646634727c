// A Boost.Beast HTTP/1.1 keep-alive hello server on C++20 coroutines,
// squall's C++ peer in make bench (bench/bench.py) and make
// bench-instructions (bench/instructions_bench.py). One thread, one
// io_context; every connection is one coroutine reading a request and
// writing its answer until the client closes. It answers as
// examples/hello does: GET / -> "Hello, world!" (text/plain), with Server
// and a Date cached once per second; anything else -> 404.
//
// bench/CMakeLists.txt builds it twice when Boost is found: beast_hello
// on Asio's epoll reactor and beast_hello_uring on Asio's io_uring backend
// (BOOST_ASIO_HAS_IO_URING with BOOST_ASIO_DISABLE_EPOLL, liburing).
//
//   build/bench/beast_hello --port 8888
//
// Built only by the bench_peers target, so no test runs it; squall-load
// checks the status and length of every answer it gives in a bench run.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

// The Date header's value, rebuilt when the second changes.
class date_cache {
public:
    const std::string& get() {
        std::time_t now = std::time(nullptr);
        if (now != last_) {
            last_ = now;
            char buf[64];
            std::tm tm{};
            gmtime_r(&now, &tm);
            std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            value_.assign(buf, n);
        }
        return value_;
    }

private:
    std::time_t last_ = -1;
    std::string value_;
};

date_cache dates;

asio::awaitable<void> serve(tcp::socket socket) {
    auto token = asio::as_tuple(asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> req;
        auto [rec, rn] = co_await http::async_read(socket, buffer, req, token);
        if (rec) break;  // closed, reset or a bad request: end the connection
        http::response<http::string_body> res;
        res.version(req.version());
        res.set(http::field::server, "beast");
        res.set(http::field::date, dates.get());
        if (req.method() == http::verb::get && req.target() == "/") {
            res.result(http::status::ok);
            res.set(http::field::content_type, "text/plain");
            res.body() = "Hello, world!";
        } else {
            res.result(http::status::not_found);
            res.set(http::field::content_type, "text/plain");
            res.body() = "Not Found";
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(socket, res, token);
        if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor acceptor) {
    auto token = asio::as_tuple(asio::use_awaitable);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(token);
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            continue;  // EMFILE and the like: keep serving the others
        }
        socket.set_option(tcp::no_delay(true), ec);
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string host = "127.0.0.1";
    unsigned short port = 8888;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--port") == 0) {
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        } else if (std::strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else {
            std::fprintf(stderr, "usage: %s [--host 127.0.0.1] [--port 8888]\n", argv[0]);
            return 2;
        }
    }
    try {
        asio::io_context ioc{1};
        tcp::acceptor acceptor(ioc);
        tcp::endpoint ep(asio::ip::make_address(host), port);
        acceptor.open(ep.protocol());
        acceptor.set_option(tcp::acceptor::reuse_address(true));
        acceptor.bind(ep);
        acceptor.listen(4096);
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
        asio::co_spawn(ioc, listen(std::move(acceptor)), asio::detached);
        ioc.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "beast_hello: %s\n", e.what());
        return 1;
    }
    return 0;
}
