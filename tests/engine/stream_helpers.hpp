// Helpers for the stream tests (stream_test.cpp, tls_test.cpp): a socket
// placed on a given fd number, lease contents, patterned data, and reads
// to a size or to EOF that report an error inline.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>

#include <squall/engine/stream.hpp>
#include <squall/engine/task.hpp>

namespace squall::testing {

// A connected unix socket pair whose first end takes the number `num`
// (free now): what a new connection accepted on another thread could get.
inline bool socket_at(int num, unique_fd* at, unique_fd* peer) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
    if (sv[1] == num) {
        int moved = ::fcntl(sv[1], F_DUPFD_CLOEXEC, num + 1);
        ::close(sv[1]);
        sv[1] = moved;
    }
    if (sv[0] != num) {
        if (::dup3(sv[0], num, O_CLOEXEC) != num) return false;
        ::close(sv[0]);
    }
    at->reset(num);
    peer->reset(sv[1]);
    return true;
}

inline std::string text_of(const buffer_lease& l) {
    return {reinterpret_cast<const char*>(l.bytes().data()), l.size()};
}

// n letters from a seeded generator.
inline std::string pattern(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937 rng(seed);
    for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
}

// Reads n bytes (or what came before an error, with the error appended).
inline task<std::string> read_n(byte_stream* s, std::size_t n) {
    std::string out;
    while (out.size() < n) {
        auto chunk = co_await s->read_some();
        if (!chunk) co_return out + "<" + chunk.error().message() + ">";
        out += text_of(*chunk);
    }
    co_return out;
}

// Reads until EOF (an error other than EOF is appended).
inline task<std::string> read_to_eof(byte_stream* s) {
    std::string out;
    for (;;) {
        auto chunk = co_await s->read_some();
        if (!chunk) co_return chunk.error() == errc::eof ? out : out + "<" + chunk.error().message() + ">";
        out += text_of(*chunk);
    }
}

}  // namespace squall::testing
