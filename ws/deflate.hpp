// permessage-deflate (RFC 7692): negotiation and the per-connection
// compressor and decompressor, over zlib's raw deflate.
//
// Negotiation reads and writes Sec-WebSocket-Extensions values. The server
// takes the first offer it can honour (unknown or repeated parameters,
// values out of range, or a server_max_window_bits of 8, which zlib cannot
// produce for raw deflate, make it skip an offer); the client checks the
// server's answer against what it offered. Compression: each message is
// deflated with a sync flush and the final 00 00 FF FF dropped; a
// no_context_takeover side resets its stream after each message.
// Decompression stops at `limit` output bytes (the message size limit, so
// a small deflate bomb cannot grow past it). The compressor and
// decompressor own their zlib streams; not copyable; loop thread only.
// Tests: tests/ws/deflate_test.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace squall::ws {

// What this side is willing to do (server or client).
struct deflate_options {
    bool enabled = false;
    int level = 6;  // zlib compression level, 0-9 (1: fastest)
    int mem_level = 8;
    // Ask the peer not to keep context (server: in the answer; client: in
    // the offer), and keep none ourselves.
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    // Window limits to ask for (15: none).
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    // Messages shorter than this go out uncompressed.
    std::size_t min_size = 0;
};

// What both sides agreed.
struct deflate_params {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
};

// Server: picks an offer from the request's Sec-WebSocket-Extensions
// values (joined with ", "). On success *answer gets the response value.
std::optional<deflate_params> negotiate_deflate(std::string_view offers, const deflate_options& ours,
                                                std::string* answer);
// Client: the offer to send.
std::string deflate_offer(const deflate_options& ours);
// Client: the server's answer checked against the offer; nullopt when the
// connection must fail (malformed, or a parameter we did not allow).
std::optional<deflate_params> accept_deflate_answer(std::string_view answer, const deflate_options& ours);

// Parses a Sec-WebSocket-Extensions value into the names of extensions it
// lists (for tests and the client's check that nothing else was chosen).
bool parse_extensions(std::string_view value,
                      std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>* out);

class deflater {
public:
    // window_bits 9-15; no_context_takeover resets after every message.
    deflater(int level, int mem_level, int window_bits, bool no_context_takeover);
    ~deflater();
    deflater(const deflater&) = delete;
    deflater& operator=(const deflater&) = delete;

    // Appends the compressed form of one whole message to `out`.
    void compress(std::span<const std::byte> message, std::string& out);

private:
    struct state;
    std::unique_ptr<state> z_;
    bool reset_each_;
};

class inflater {
public:
    explicit inflater(bool no_context_takeover);
    ~inflater();
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    enum class status { ok, too_big, bad_data };
    // Inflates a piece of a message's payload, appending to `out`, which
    // may not pass `limit` bytes. `last`: this piece ends the message.
    status feed(std::span<const std::byte> in, bool last, std::string& out, std::size_t limit);

private:
    status run(std::span<const std::byte> in, std::string& out, std::size_t limit);
    struct state;
    std::unique_ptr<state> z_;
    bool reset_each_;
};

}  // namespace squall::ws
