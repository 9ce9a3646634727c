// WebSocket echo load on one connection: the opening handshake (RFC 6455
// section 4, Sec-WebSocket-Accept checked), then one binary message of
// --ws-size bytes at a time, sent masked and waited for until the server
// echoes it back whole; each echo is compared byte for byte.
//
// This is a minimal client kept inside the load generator (squall's own ws
// layer is the server under test, so the client stays independent of it):
// a fresh mask per message from a per-connection xorshift generator (the
// RFC wants masks a peer cannot predict; servers cannot tell), no
// fragmentation on send, continuation frames accepted on receive, pings
// answered with pongs, and with --ws-deflate permessage-deflate (RFC
// 7692) offered with client_no_context_takeover, so each message is
// compressed once per run with zlib and sent as is; the server's messages
// are inflated with one zlib stream per connection, as its context may
// carry over.
#include <zlib.h>

#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "load/load.hpp"
#include <squall/engine/crypto.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>

namespace squall::load {

namespace {

using std::chrono::nanoseconds;

clock::duration seconds(double s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return o;
}

// The value of header `name` (lower case) in a response head, or "".
std::string header_value(std::string_view head, std::string_view name) {
    std::string h = lower(head);
    std::size_t at = h.find("\r\n" + std::string(name) + ":");
    if (at == std::string::npos) return {};
    std::size_t start = at + 3 + name.size();
    std::size_t end = head.find("\r\n", start);
    std::string_view v = head.substr(start, end - start);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return std::string(v);
}

struct inflater {
    z_stream z{};
    bool ok = false;
    inflater() { ok = inflateInit2(&z, -15) == Z_OK; }
    ~inflater() {
        if (ok) inflateEnd(&z);
    }
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;
    // Inflates one message (its 00 00 ff ff tail restored) into out.
    bool run(std::string& in, std::string& out) {
        in.append("\x00\x00\xff\xff", 4);
        out.resize(0);
        z.next_in = reinterpret_cast<Bytef*>(in.data());
        z.avail_in = static_cast<uInt>(in.size());
        std::array<char, 16384> buf;
        while (z.avail_in > 0) {
            z.next_out = reinterpret_cast<Bytef*>(buf.data());
            z.avail_out = buf.size();
            int rc = inflate(&z, Z_SYNC_FLUSH);
            if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
            out.append(buf.data(), buf.size() - z.avail_out);
            if (rc == Z_BUF_ERROR && z.avail_out != 0) break;
        }
        return true;
    }
};

// permessage-deflate with a fresh context: the message's compressed bytes.
std::string deflate_once(const std::string& payload) {
    z_stream z{};
    deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
    std::string out(deflateBound(&z, static_cast<uLong>(payload.size())) + 16, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));
    z.avail_in = static_cast<uInt>(payload.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    deflate(&z, Z_SYNC_FLUSH);
    out.resize(out.size() - z.avail_out);
    deflateEnd(&z);
    if (out.size() >= 4 && out.ends_with(std::string_view("\x00\x00\xff\xff", 4))) out.resize(out.size() - 4);
    return out;
}

struct ws_conn {
    std::string payload;  // the message, as it must come back
    std::string wire;     // what goes into the frame (compressed or not)
    std::string frame;    // header + masked wire, rebuilt per message
    std::uint64_t rng;
    bool deflate = false;
    // Receive state.
    std::array<unsigned char, 14> hdr{};
    std::size_t hdr_len = 0;
    std::uint64_t left = 0;  // payload bytes of the current frame still to come
    bool in_frame = false, fin = false, compressed = false, control = false;
    std::string message, inflated;  // the message being received
    unsigned opcode = 0;            // of the frame being received
    std::string ping;               // a ping's payload, answered with a pong
    bool pong_due = false;
    std::string carry;  // bytes that came after an echo, scanned before the next send
    inflater inf;

    std::uint32_t next_mask() {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return static_cast<std::uint32_t>(rng);
    }
    // The next message's frame (or, for a pong, `payload` as a control frame).
    void build_frame(const std::string* control = nullptr) {
        const std::string& body = control ? *control : wire;
        std::size_t n = body.size();
        frame.clear();
        frame += static_cast<char>(control ? 0x8A : deflate ? 0xC2 : 0x82);  // FIN, (RSV1), pong or binary
        if (n < 126) {
            frame += static_cast<char>(0x80 | n);
        } else if (n < 65536) {
            frame += static_cast<char>(0x80 | 126);
            frame += static_cast<char>(n >> 8);
            frame += static_cast<char>(n & 0xff);
        } else {
            frame += static_cast<char>(0x80 | 127);
            for (int i = 7; i >= 0; --i) frame += static_cast<char>((n >> (8 * i)) & 0xff);
        }
        std::uint32_t m = next_mask();
        char key[4];
        std::memcpy(key, &m, 4);
        frame.append(key, 4);
        std::size_t at = frame.size();
        frame += body;
        for (std::size_t i = 0; i < n; ++i) frame[at + i] = static_cast<char>(frame[at + i] ^ key[i & 3]);
    }
};

enum class got { more, message, error };

// Consumes received bytes; `got::message` when a whole data message has
// arrived (the rest of the bytes stay in `data`).
got scan_frames(worker* w, ws_conn& c, std::string_view& data) {
    while (!data.empty()) {
        if (!c.in_frame) {
            c.hdr[c.hdr_len++] = static_cast<unsigned char>(data.front());
            data.remove_prefix(1);
            if (c.hdr_len < 2) continue;
            unsigned len7 = c.hdr[1] & 0x7f;
            std::size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
            if (c.hdr[1] & 0x80) {
                w->error(error_kind::parse, "server sent a masked frame");
                return got::error;
            }
            if (c.hdr_len < need) continue;
            std::uint64_t len = len7;
            if (len7 >= 126) {
                len = 0;
                for (std::size_t i = 2; i < need; ++i) len = len << 8 | c.hdr[i];
            }
            unsigned op = c.hdr[0] & 0x0f;
            c.fin = c.hdr[0] & 0x80;
            c.control = op >= 8;
            if (op == 8) {
                w->error(error_kind::closed, "server sent a close frame");
                return got::error;
            }
            if (!c.control && op != 0) c.compressed = c.hdr[0] & 0x40;
            c.opcode = op;
            if (op == 9) c.ping.clear();
            c.left = len;
            c.in_frame = true;
            c.hdr_len = 0;
        }
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(c.left, data.size()));
        if (!c.control) c.message.append(data.substr(0, n));
        else if (c.opcode == 9) c.ping.append(data.substr(0, n));  // pongs are skipped
        data.remove_prefix(n);
        c.left -= n;
        if (c.left == 0) {
            c.in_frame = false;
            if (c.opcode == 9) c.pong_due = true;
            if (!c.control && c.fin) return got::message;
        }
    }
    return got::more;
}

// Whether the message that came back is the one sent.
bool check_echo(worker* w, ws_conn& c) {
    const std::string* body = &c.message;
    if (c.compressed) {
        if (!c.inf.ok || !c.inf.run(c.message, c.inflated)) {
            w->error(error_kind::parse, "could not inflate the server's message");
            c.message.clear();
            return false;
        }
        body = &c.inflated;
    }
    bool same = *body == c.payload;
    if (!same)
        w->error(error_kind::length, "echo of " + std::to_string(body->size()) + " bytes differs from the " +
                                         std::to_string(c.payload.size()) + " sent");
    c.message.clear();
    c.compressed = false;
    return same;
}

// The opening handshake; false (counted) when the server did not upgrade.
task<bool> handshake(worker* w, byte_stream* s, ws_conn* c) {
    const config& cfg = *w->cfg;
    std::array<unsigned char, 16> raw{};
    crypto::random_bytes(raw.data(), raw.size());
    std::string key = crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
    std::string req = "GET " + cfg.path + " HTTP/1.1\r\nHost: " + cfg.host_header +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                      "\r\nSec-WebSocket-Version: 13\r\n";
    if (cfg.ws_deflate) req += "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n";
    req += "\r\n";
    auto wrote = co_await s->write(req);
    if (!wrote) {
        w->error(error_kind::write, wrote.error().message());
        co_return false;
    }
    auto head = co_await s->read_until("\r\n\r\n", 16384);
    if (!head) {
        w->error(error_kind::read, "handshake: " + head.error().message());
        co_return false;
    }
    std::string_view h = *head;
    if (h.size() < 12 || h.substr(9, 3) != "101") {
        w->error(error_kind::status, "handshake answered " + std::string(h.substr(0, h.find("\r\n"))));
        co_return false;
    }
    auto digest = crypto::sha1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    std::string accept = crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), 20));
    if (header_value(h, "sec-websocket-accept") != accept) {
        w->error(error_kind::parse, "wrong Sec-WebSocket-Accept");
        co_return false;
    }
    c->deflate = lower(header_value(h, "sec-websocket-extensions")).find("permessage-deflate") != std::string::npos;
    if (cfg.ws_deflate && !c->deflate) {
        w->error(error_kind::parse, "server declined permessage-deflate");
        co_return false;
    }
    co_return true;
}

// Answers a ping the scan found; false when the write failed.
task<bool> answer_ping(worker* w, byte_stream* s, ws_conn* c) {
    c->pong_due = false;
    c->build_frame(&c->ping);
    auto ponged = co_await s->write(c->frame);
    if (!ponged) w->error(error_kind::write, ponged.error().message());
    co_return static_cast<bool>(ponged);
}

// Scans what came after the last echo (pings, the start of a frame) before
// the next message goes out; a whole data message there was never asked for.
task<bool> scan_carry(worker* w, byte_stream* s, ws_conn* c) {
    std::string pending = std::move(c->carry);
    c->carry.clear();
    std::string_view data(pending);
    got g = scan_frames(w, *c, data);
    if (g == got::message) w->error(error_kind::parse, "more messages than sent");
    if (g != got::more) co_return false;
    if (!c->pong_due) co_return true;
    auto ok = co_await answer_ping(w, s, c);
    co_return ok;
}

// Echo round trips until the run ends; false when the connection broke.
task<bool> ws_session(worker* w, byte_stream* s, ws_conn* c) {
    const auto timeout = seconds(w->cfg->timeout);
    for (;;) {
        if (!c->carry.empty()) {
            auto clean = co_await scan_carry(w, s, c);
            if (!clean) co_return false;
        }
        if (w->take(1) == 0) co_return true;
        c->build_frame();
        auto sent_at = clock::now();
        auto wrote = co_await s->write(c->frame);
        if (!wrote) {
            w->error(error_kind::write, wrote.error().message());
            co_return false;
        }
        got g = got::more;
        while (g == got::more) {
            auto chunk = co_await s->read_some(sent_at + timeout);
            if (!chunk) {
                auto ec = chunk.error();
                if (ec == errc::timed_out) w->error(error_kind::timeout, "no echo within the timeout");
                else if (ec == errc::eof) w->error(error_kind::closed, "server closed the connection");
                else w->error(error_kind::read, ec.message());
                co_return false;
            }
            auto b = chunk->bytes();
            std::string_view data(reinterpret_cast<const char*>(b.data()), b.size());
            g = scan_frames(w, *c, data);
            if (g == got::message) c->carry.assign(data);
            if (c->pong_due) {
                auto ok = co_await answer_ping(w, s, c);
                if (!ok) co_return false;
            }
        }
        if (g == got::error) co_return false;
        auto ns = static_cast<std::uint64_t>(nanoseconds(clock::now() - sent_at).count());
        ++w->responses;
        w->bytes += c->payload.size();
        if (check_echo(w, *c)) w->hist.record(ns);
    }
}

}  // namespace

task<void> ws_connection(worker* w, unsigned index) {
    const config& cfg = *w->cfg;
    auto c = std::make_unique<ws_conn>();
    c->rng = 0x9E3779B97F4A7C15ull ^ (std::uint64_t{w->first_conn + index} * 0x100000001B3ull + 1);
    c->payload.resize(cfg.ws_size);
    for (std::size_t i = 0; i < cfg.ws_size; ++i)
        c->payload[i] = static_cast<char>('a' + (i * 7 + index) % 26);  // text-like, so deflate has work to do
    bool started = false;
    unsigned failures = 0;
    while (!w->stopping) {
        std::unique_ptr<byte_stream> sp = co_await open_stream(w);
        if (!sp) {
            if (++failures >= 3) break;
            auto slept = co_await sleep(std::chrono::milliseconds(50));
            (void)slept;
            continue;
        }
        byte_stream& s = *sp;
        auto ok = co_await handshake(w, &s, c.get());
        if (!ok) {
            if (++failures >= 3) break;
            continue;
        }
        failures = 0;
        c->wire = c->deflate ? deflate_once(c->payload) : c->payload;
        c->hdr_len = 0;
        c->in_frame = false;
        c->message.clear();
        c->carry.clear();
        c->pong_due = false;
        if (c->inf.ok) inflateReset(&c->inf.z);  // a new connection starts a new context
        if (!started) {
            started = true;
            w->on_connected();
            auto go = co_await w->go.wait();
            (void)go;
        } else {
            ++w->reconnects;
        }
        auto fine = co_await ws_session(w, &s, c.get());
        if (fine) {
            // A clean end: a masked close frame (1000, normal closure); the
            // server's reply is not waited for.
            std::uint32_t m = c->next_mask();
            unsigned char mask[4];
            std::memcpy(mask, &m, 4);
            std::string close_frame = {'\x88',
                                       '\x82',
                                       static_cast<char>(mask[0]),
                                       static_cast<char>(mask[1]),
                                       static_cast<char>(mask[2]),
                                       static_cast<char>(mask[3]),
                                       static_cast<char>(0x03 ^ mask[0]),
                                       static_cast<char>(0xE8 ^ mask[1])};
            auto closed = co_await s.write(close_frame);
            (void)closed;
            break;
        }
    }
    if (!started) w->on_connected();
    w->on_connection_done();
}

}  // namespace squall::load
