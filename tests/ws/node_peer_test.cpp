// squall's WebSocket client (ws/client.hpp) against node's `ws` server
// (bench/peers/ws_echo_node.js), with and without permessage-deflate:
// echo of text, binary, large and fragmented messages, and the close
// handshake. Needs node and the ws package (scripts/install-npm, run by
// make deps); skipped with a message when node is not installed.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <squall/engine/loop.hpp>
#include <squall/ws/client.hpp>

using namespace squall;
using namespace squall::ws;

namespace {

// The node peer on a port it reports; killed when destroyed.
class node_peer {
public:
    explicit node_peer(bool deflate) {
        int out[2];
        if (::pipe(out) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(out[1], 1);
            ::close(out[0]);
            std::string script = std::string(SQUALL_SOURCE_DIR) + "/bench/peers/ws_echo_node.js";
            const char* argv[] = {SQUALL_NODE, script.c_str(), "--port", "0", deflate ? "--deflate" : nullptr, nullptr};
            ::execv(SQUALL_NODE, const_cast<char**>(argv));
            ::_exit(127);
        }
        ::close(out[1]);
        FILE* f = ::fdopen(out[0], "r");
        char line[256] = {};
        if (f && std::fgets(line, sizeof line, f)) std::sscanf(line, "listening on %hu", &port_);
        if (f) std::fclose(f);
    }
    ~node_peer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int st;
            ::waitpid(pid_, &st, 0);
        }
    }
    std::uint16_t port() const noexcept { return port_; }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

bool node_ready() {
    return std::filesystem::exists(SQUALL_NODE) &&
           std::filesystem::exists(std::string(SQUALL_SOURCE_DIR) + "/node_modules/ws/package.json");
}

task<int> talk(std::uint16_t port, bool deflate) {
    client_options o;
    o.deflate.enabled = deflate;
    o.max_frame_size = 4000;  // the big message goes out in fragments
    auto c = co_await websocket_connect("ws://127.0.0.1:" + std::to_string(port) + "/", o);
    EXPECT_TRUE(c) << c.error().message();
    if (!c) co_return 0;
    auto conn = *c;
    EXPECT_EQ(conn->deflate(), deflate);
    int ok = 0;
    std::vector<std::pair<std::string, bool>> msgs = {
        {"hello node", false}, {std::string("\x00\x01\xff", 3), true}, {std::string(300000, 'n'), false}, {"", false}};
    for (const auto& [m, binary] : msgs) {
        result<void> w = co_await conn->write_message(m, binary);
        EXPECT_TRUE(w);
        auto r = co_await conn->read_message();
        EXPECT_TRUE(r);
        if (!r) break;
        if (r->data == m && r->binary == binary) ++ok;
    }
    result<void> cl = co_await conn->close(1000, "bye");
    EXPECT_TRUE(cl);
    auto end = co_await conn->read_message();
    EXPECT_FALSE(end);
    EXPECT_EQ(conn->close_code(), 1000);
    co_await conn->finish();
    co_return ok;
}

}  // namespace

TEST(node_peer, our_client_against_node_ws_server) {
    if (!node_ready()) GTEST_SKIP() << "node or node_modules/ws missing: run make deps";
    for (bool deflate : {false, true}) {
        node_peer peer(deflate);
        ASSERT_NE(peer.port(), 0);
        loop l;
        EXPECT_EQ(l.run_sync(talk(peer.port(), deflate)), 4) << "deflate " << deflate;
    }
}
