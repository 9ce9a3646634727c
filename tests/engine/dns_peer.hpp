// DNS servers on loopback for the resolver and connect tests, each a child
// process killed when the object goes: the scripted responder
// (tests/engine/dns_server.py: TC bits, silence, delays, exact TTLs) and
// dnsmasq (a real resolver users run). Both log every query they receive,
// so a test can count what reached the server.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <squall/engine/socket.hpp>

namespace squall::testing {

// A child with its stdout on a pipe; SIGTERM and reaped when destroyed.
class child_process {
public:
    explicit child_process(std::vector<std::string> argv) {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(fds[1], 1);
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        ::close(fds[1]);
        out_ = fds[0];
    }
    child_process(const child_process&) = delete;
    ~child_process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        ::close(out_);
    }

    // The next line of its stdout ("" at EOF or after `timeout`).
    std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        std::string line;
        auto until = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            pollfd p{out_, POLLIN, 0};
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return line;
            char c;
            if (::read(out_, &c, 1) != 1 || c == '\n') return line;
            line += c;
        }
    }

private:
    pid_t pid_ = -1;
    int out_ = -1;
};

// A fresh directory under /tmp, removed (with its files) at the end.
class temp_dir {
public:
    temp_dir() {
        char tmpl[] = "/tmp/squall-dns-XXXXXX";
        if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
        path_ = tmpl;
    }
    ~temp_dir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
    std::string path_;
};

inline void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Lines of `path` containing every one of `parts`.
inline int count_lines(const std::string& path, std::vector<std::string> parts) {
    std::ifstream in(path);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
        bool all = true;
        for (auto& p : parts) all = all && line.find(p) != std::string::npos;
        n += all;
    }
    return n;
}

// tests/engine/dns_server.py with the zone given as JSON.
class scripted_dns {
public:
    explicit scripted_dns(const std::string& zone_json) {
        write_file(dir_.file("zone.json"), zone_json);
        proc_ = std::make_unique<child_process>(
            std::vector<std::string>{"/usr/bin/python3", SQUALL_SOURCE_DIR "/tests/engine/dns_server.py", "--zone",
                                     dir_.file("zone.json"), "--log", dir_.file("queries.log")});
        std::string line = proc_->read_line();
        if (line.rfind("port ", 0) != 0) throw std::runtime_error("dns_server.py did not start: " + line);
        port_ = static_cast<std::uint16_t>(std::stoi(line.substr(5)));
    }
    std::uint16_t port() const { return port_; }
    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
    // Queries received so far: "udp"/"tcp", the name, "A"/"AAAA" (empty: any).
    int queries(const std::string& name, const std::string& type = "", const std::string& proto = "") const {
        std::ifstream in(dir_.file("queries.log"));
        int n = 0;
        for (std::string p, q, t; in >> p >> q >> t;)
            n += q == name && (type.empty() || t == type) && (proto.empty() || p == proto);
        return n;
    }

private:
    temp_dir dir_;
    std::unique_ptr<child_process> proc_;
    std::uint16_t port_ = 0;
};

// A free loopback port for both UDP and TCP (taken again by the caller).
inline std::uint16_t free_dns_port() {
    for (int i = 0; i < 50; ++i) {
        unique_fd t = listen_on(address::ip("127.0.0.1", 0));
        std::uint16_t p = local_address(t.get()).port();
        unique_fd u(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        address a = address::ip("127.0.0.1", p);
        if (::bind(u.get(), a.get(), a.size()) == 0) return p;
    }
    throw std::runtime_error("no free port");
}

// dnsmasq serving only `args` (--host-record=..., --local=/test/, ...),
// no upstream, no /etc/hosts, every query logged.
class dnsmasq_peer {
public:
    static bool available() { return ::access("/usr/sbin/dnsmasq", X_OK) == 0; }

    explicit dnsmasq_peer(std::vector<std::string> args) : port_(free_dns_port()) {
        std::vector<std::string> argv{"/usr/sbin/dnsmasq",
                                      "--keep-in-foreground",
                                      "--conf-file=/dev/null",
                                      "--no-resolv",
                                      "--no-hosts",
                                      "--no-poll",
                                      "--bind-interfaces",
                                      "--listen-address=127.0.0.1",
                                      "--port=" + std::to_string(port_),
                                      "--pid-file=" + dir_.file("pid"),
                                      "--log-queries",
                                      "--log-facility=" + log()};
        if (::geteuid() == 0) argv.push_back("--user=root");  // else it stays who it is
        argv.insert(argv.end(), args.begin(), args.end());
        proc_ = std::make_unique<child_process>(argv);
        wait_listening();
    }
    std::string servers() const { return "127.0.0.1:" + std::to_string(port_); }
    std::string log() const { return dir_.file("dnsmasq.log"); }
    // "query[A] name from" lines: queries that reached dnsmasq.
    int queries(const std::string& name, const std::string& type = "") const {
        return count_lines(log(), {type.empty() ? "query[" : "query[" + type + "]", "] " + name + " from"});
    }

private:
    void wait_listening() {
        address a = address::ip("127.0.0.1", port_);
        for (int i = 0; i < 200; ++i) {
            unique_fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
            if (::connect(s.get(), a.get(), a.size()) == 0) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        throw std::runtime_error("dnsmasq did not start");
    }

    temp_dir dir_;
    std::uint16_t port_;
    std::unique_ptr<child_process> proc_;
};

}  // namespace squall::testing
