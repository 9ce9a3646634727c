// broadcast: one message to many WebSocket connections, without letting a
// subscriber that stops reading make the server buffer for it.
//
// The message is framed once and shared by every server connection that
// did not negotiate compression (each compressing one frames its own).
// A subscriber whose queue would pass its max_queued_bytes is skipped
// (slow_policy::skip: it misses this message) or closed at once
// (slow_policy::close: its TCP connection ends, as no close frame could
// reach it behind what it has not read). Closed or finished connections
// are counted as gone. Never waits.
//
// Ownership: `to` is borrowed for the call. Loop thread only, and every
// connection must belong to the calling loop.
// Tests: tests/ws/slow_reader_test.cpp, tests/examples/ws_slow_reader_test.py.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include <squall/ws/connection.hpp>

namespace squall::ws {

enum class slow_policy { skip, close };

struct broadcast_result {
    std::size_t queued = 0;   // connections that got the message
    std::size_t skipped = 0;  // over their cap, left out (skip)
    std::size_t closed = 0;   // over their cap, closed (close)
    std::size_t gone = 0;     // already closed
};

broadcast_result broadcast(std::span<connection* const> to, std::string_view data, bool binary = false,
                           slow_policy policy = slow_policy::skip);

}  // namespace squall::ws
