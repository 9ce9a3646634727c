// websocket_connect: the WebSocket client (Tornado's websocket_connect).
//
// Connects to a ws:// URL (numeric address or a name: engine/connect.hpp's
// connect_to, the loop's c-ares resolver and Happy Eyeballs), sends the opening handshake with a fresh key, the subprotocols and
// the permessage-deflate offer asked for, checks the server's answer
// (status 101, Upgrade/Connection, Sec-WebSocket-Accept, a subprotocol we
// offered, a deflate answer within our offer) and returns the open
// connection, which owns its stream. Connecting and the handshake together
// end at `connect_timeout` (errc::timed_out); a wrong answer gives
// ws::errc::handshake_failed, a URL we cannot use ws::errc::bad_url, a
// name that does not resolve the resolver's error (dns_errc).
// wss:// speaks TLS (a tls_stream over the socket stream): `tls` is the
// client context (by default one shared context on the system's trust
// store, engine/tls.hpp), and the
// TLS handshake (certificate, SNI, host name) runs inside connect_timeout
// before the upgrade request. Loop thread only.
// Tests: tests/ws/client_test.cpp, tests/ws/node_peer_test.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/tls.hpp>
#include <squall/ws/connection.hpp>

namespace squall::ws {

struct client_options : connection_options {
    clock::duration connect_timeout = std::chrono::seconds(20);
    std::vector<std::string> subprotocols;
    std::vector<std::pair<std::string, std::string>> headers;  // extra request fields (Origin, ...)
    stream_options stream;
    std::shared_ptr<tls_context> tls;  // for wss://; null: the system's trust store
};

task<result<std::shared_ptr<connection>>> websocket_connect(std::string url, client_options opts = {});

// The parts of a ws:// or wss:// URL; false when it is not one.
struct ws_url {
    std::string host;          // without brackets for IPv6
    std::uint16_t port = 80;   // 443 for wss://
    bool tls = false;          // wss://
    std::string target = "/";  // path and query
    std::string host_field;    // the Host field: host[:port]
};
bool parse_ws_url(std::string_view url, ws_url* out);

}  // namespace squall::ws
