// One message to many connections. See broadcast.hpp.
#include <squall/ws/broadcast.hpp>

#include <memory>
#include <string>

#include <squall/ws/writer.hpp>

namespace squall::ws {

namespace {

// Framing that every plain server connection with the same fragment size
// shares.
bool shares_framing(const connection& c) noexcept { return c.side() == role::server && !c.deflate(); }

}  // namespace

broadcast_result broadcast(std::span<connection* const> to, std::string_view data, bool binary, slow_policy policy) {
    broadcast_result out;
    std::shared_ptr<const std::string> framed;
    std::size_t framed_for = 0;  // the max_frame_size `framed` was made with
    const opcode op = binary ? opcode::binary : opcode::text;
    for (connection* c : to) {
        if (c->closed() || c->close_sent() || c->broken()) {
            ++out.gone;
            continue;
        }
        if (!c->fits(data.size())) {
            if (policy == slow_policy::close) {
                c->abort();
                ++out.closed;
            } else {
                ++out.skipped;
            }
            continue;
        }
        result<void> r;
        if (shares_framing(*c)) {
            std::size_t frag = c->options().max_frame_size;
            if (!framed || framed_for != frag) {
                message_writer w({.mask = false, .max_frame_size = frag, .borrow_from = 0});
                wire_message m;
                w.frame(op, data, m);
                framed = std::make_shared<const std::string>(std::move(m.bytes));
                framed_for = frag;
            }
            r = c->post_framed(framed);
        } else {
            r = c->post_message(std::string(data), binary);
        }
        if (r) ++out.queued;
        else if (r.error() == errc::queue_full) ++out.skipped;  // (its header tipped it over)
        else ++out.gone;
    }
    return out;
}

}  // namespace squall::ws
