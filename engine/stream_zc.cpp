// The socket stream's owned writes: SEND_ZC where it pays, the bytes then
// owned by the operation until the kernel's notification. See stream.hpp.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <squall/engine/stream.hpp>

namespace squall {

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
    std::span<const std::byte> view = bytes_of(bytes);
    if (opts_.send_zc && view.size() >= opts_.zc_threshold && zero_copy_pays())
        co_return co_await send_all(view, std::make_shared<owned_bytes>(std::move(bytes)));
    co_return co_await send_all(view, nullptr);  // `bytes` stays in this frame until then
}

}  // namespace squall
