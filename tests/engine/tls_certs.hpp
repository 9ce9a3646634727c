// Certificates for the engine's TLS tests (tests/engine/tls_test.cpp,
// tests/engine/tls_stream_test.cpp): made once per test program by
// tests/tls/make_certs.sh in a temporary folder that is removed at exit,
// and the server and client contexts built on them. Needs
// SQUALL_SOURCE_DIR defined by the test's CMake target.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <squall/engine/time.hpp>
#include <squall/engine/tls.hpp>

namespace squall::testing {

inline const std::filesystem::path& certs() {
    static const std::filesystem::path dir = [] {
        auto d = std::filesystem::temp_directory_path() / ("squall-tls-test-" + std::to_string(::getpid()));
        std::string cmd = std::string(SQUALL_SOURCE_DIR) + "/tests/tls/make_certs.sh " + d.string();
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_certs.sh failed");
        std::atexit([] {
            std::error_code ec;
            std::filesystem::remove_all(certs(), ec);
        });
        return d;
    }();
    return dir;
}

inline std::string cert(const std::string& name) { return (certs() / name).string(); }

// A fresh server context on `name`.pem/.key (make_certs.sh's names).
inline std::shared_ptr<tls_context> make_server_ctx(const std::string& name = "server",
                                                    clock::duration handshake_timeout = std::chrono::seconds(10)) {
    tls_server_options o;
    o.certificate = {cert(name + ".pem"), cert(name + ".key"), ""};
    o.handshake_timeout = handshake_timeout;
    return tls_context::server(o);
}

// A fresh client context trusting the test CA.
inline std::shared_ptr<tls_context> make_client_ctx(std::vector<std::string> alpn = {}) {
    tls_client_options o;
    o.ca_file = cert("ca.pem");
    o.alpn = std::move(alpn);
    return tls_context::client(o);
}

}  // namespace squall::testing
