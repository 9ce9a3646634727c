/* A hello server on libh2o with its own event loop (Debian
 * libh2o-evloop-dev): the library under the h2o server, without its
 * configuration layer and mruby, as squall's peer in make bench
 * (bench/bench.py) and make bench-instructions. One thread; GET / ->
 * "Hello, world!" (text/plain), keep-alive; h2o adds Server and Date.
 * bench/CMakeLists.txt builds it when pkg-config finds libh2o-evloop.
 *
 *   build/bench/h2o_evloop_hello --port 8888
 */
#define H2O_USE_EPOLL 1
#include <h2o.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static volatile sig_atomic_t stopping;

static int hello(h2o_handler_t* self, h2o_req_t* req) {
    (void)self;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        !h2o_memis(req->path_normalized.base, req->path_normalized.len, H2O_STRLIT("/")))
        return -1; /* h2o answers 404 */
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/plain"));
    req->res.content_length = sizeof("Hello, world!") - 1; /* not chunked: as the others answer */
    h2o_send_inline(req, H2O_STRLIT("Hello, world!"));
    return 0;
}

static void on_accept(h2o_socket_t* listener, const char* err) {
    h2o_socket_t* sock;
    if (err != NULL || (sock = h2o_evloop_socket_accept(listener)) == NULL) return;
    h2o_accept(&accept_ctx, sock);
}

static int listen_on(const char* host, int port) {
    struct sockaddr_in addr;
    int fd, one = 1;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) return -1;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr*)&addr, sizeof(addr)) != 0 || listen(fd, 4096) != 0) {
        close(fd);
        return -1;
    }
    h2o_socket_read_start(h2o_evloop_socket_create(ctx.loop, fd, H2O_SOCKET_FLAG_DONT_READ), on_accept);
    return 0;
}

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

int main(int argc, char** argv) {
    const char* host = "127.0.0.1";
    int port = 8888, i;
    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0) {
            port = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--host") == 0) {
            host = argv[i + 1];
        } else {
            fprintf(stderr, "usage: %s [--host 127.0.0.1] [--port 8888]\n", argv[0]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    h2o_config_init(&config);
    h2o_pathconf_t* path = h2o_config_register_path(
        h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")), 65535), "/", 0);
    h2o_create_handler(path, sizeof(h2o_handler_t))->on_req = hello;
    h2o_context_init(&ctx, h2o_evloop_create(), &config);
    accept_ctx.ctx = &ctx;
    accept_ctx.hosts = config.hosts;
    if (listen_on(host, port) != 0) {
        perror("h2o_evloop_hello: listen");
        return 1;
    }
    /* The loop wakes at least every 100 ms to notice a stop signal. */
    while (!stopping && h2o_evloop_run(ctx.loop, 100) == 0)
        ;
    return 0;
}
