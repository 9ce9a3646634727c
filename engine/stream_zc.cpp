// The socket stream's owned writes and SEND_ZC: the bytes stay owned by
// the operation until the kernel's notification. See stream.hpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <squall/engine/detail/send_zc.hpp>
#include <squall/engine/detail/stream_parts.hpp>

namespace squall {

using detail::turn_guard;

bool stream::zero_copy_pays() noexcept {
    if (zc_peer_ < 0) {
        // Looked up once, at the first large owned write.
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        bool loopback = true;
        if (fd_ && ::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
            if (ss.ss_family == AF_INET) {
                auto a = ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr);
                loopback = (a >> 24) == 127;
            } else if (ss.ss_family == AF_INET6) {
                const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
                loopback = IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
            }
        }
        zc_peer_ = (!loopback || opts_.zc_on_loopback) ? 1 : 0;
    }
    return zc_peer_ == 1;
}

task<result<void>> stream::write_owned(owned_bytes bytes) {
    auto view = std::visit(
        [](auto& b) -> std::span<const std::byte> {
            using B = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<B, buffer_lease>) return b.bytes();
            else return std::as_bytes(std::span(b));
        },
        bytes);
    if (tls_) {
        iovec one{const_cast<std::byte*>(view.data()), view.size()};
        co_return co_await tls_write(&one, 1);
    }
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    if (opts_.send_zc && view.size() >= opts_.zc_threshold && zero_copy_pays())
        co_return co_await send_zc(view, std::make_shared<owned_bytes>(std::move(bytes)), write_deadline());
    co_return co_await send_all(view, write_deadline());
}

task<result<void>> stream::send_zc(std::span<const std::byte> bytes, std::shared_ptr<owned_bytes> owner,
                                   clock::time_point deadline) {
    while (!bytes.empty()) {
        if (!fd_) co_return poison_writes(errc::closed);
        auto r = co_await detail::send_zc_awaitable(fd_.get(), bytes, owner, deadline);
        if (!r) co_return poison_writes(r.error());
        ++zc_sends_;
        bytes = bytes.subspan(static_cast<std::size_t>(*r));
    }
    co_return result<void>{};
}

}  // namespace squall
