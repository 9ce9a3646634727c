/* The libcurl side of bench/client_bench.py: CONNECTIONS easy handles on
 * one multi handle (keep-alive through the multi's connection cache)
 * fetch URL until REQUESTS responses came; prints "ok=N bytes=B".
 *
 *   curl_multi_load URL CONNECTIONS REQUESTS
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long long bytes;

static size_t sink(char* data, size_t size, size_t n, void* user) {
    (void)data;
    (void)user;
    bytes += size * n;
    return size * n;
}

static CURL* make_easy(const char* url) {
    CURL* e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    return e;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: curl_multi_load URL CONNECTIONS REQUESTS\n");
        return 2;
    }
    const char* url = argv[1];
    int connections = atoi(argv[2]);
    long remaining = atol(argv[3]), ok = 0, failed = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM* m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)connections);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)connections);
    for (int i = 0; i < connections && remaining > 0; ++i, --remaining) curl_multi_add_handle(m, make_easy(url));
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        CURLMsg* msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL* e = msg->easy_handle;
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result == CURLE_OK && status == 200) ++ok;
            else ++failed;
            curl_multi_remove_handle(m, e);
            if (remaining > 0) {
                --remaining;
                curl_multi_add_handle(m, e); /* the same handle: its connection is reused */
                running = 1;
            } else {
                curl_easy_cleanup(e);
            }
        }
        if (running) curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    curl_multi_cleanup(m);
    curl_global_cleanup();
    printf("ok=%ld failed=%ld bytes=%llu\n", ok, failed, bytes);
    return failed ? 1 : 0;
}
