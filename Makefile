# squall's Makefile only wraps CMake. `make run` and `make test` do all
# set-up on a fresh Debian 12 machine (they depend on `deps`).

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
JOBS       ?= $(shell nproc)
PORT       ?= 8888
CMAKE_ARGS ?=

DEB_PACKAGES := g++ cmake make pkg-config liburing-dev libwolfssl-dev libspdlog-dev \
                libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev node-llhttp zlib1g-dev \
                nlohmann-json3-dev libsqlite3-dev libc-ares-dev libdeflate-dev libkainjow-mustache-dev \
                python3 python3-tornado curl python3-websockets chromium openssl testssl.sh dnsmasq \
                tinyproxy nginx-light libnginx-mod-stream h2o haproxy clang-format-14 clang-tidy-14

# npm packages, installed into ./node_modules (node's ws: the WebSocket peer).
NPM_PACKAGES := ws@8

.PHONY: all deps build test asan tsan tidy format run bench clean install deb abi-check

all: build

# Installs only what is missing; quiet and quick when all is present.
deps:
	@scripts/install-deps $(DEB_PACKAGES)
	@scripts/install-npm $(NPM_PACKAGES)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUALL_WERROR=ON $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# -O1, not -O0: GCC turns symmetric transfer between coroutines into a
# tail call only when optimising, and a deep chain of synchronously
# completing awaits would otherwise overflow the stack.
$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DSQUALL_WERROR=ON \
	  -DSQUALL_SANITIZE=address,undefined -DSQUALL_BUILD_BENCH=OFF $(CMAKE_ARGS)

asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# ThreadSanitizer on the test programs that run code on several threads
# (tests/CMakeLists.txt: SQUALL_THREAD_TESTS, ctest label `threads`): only
# those are built. -O1 for the reason given above. tests/tsan.supp says
# why each suppression is there.
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DSQUALL_WERROR=ON \
	  -DSQUALL_SANITIZE=thread -DSQUALL_BUILD_BENCH=OFF -DSQUALL_BUILD_EXAMPLES=OFF $(CMAKE_ARGS)

tsan: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target squall_thread_tests
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest -L threads --output-on-failure -j $(JOBS)

# clang-tidy (the root .clang-tidy) on every C++ file of the build's
# compile commands; ctest's lint.tidy checks a fixed set (scripts/tidy).
tidy: deps $(BUILD)/CMakeCache.txt
	JOBS=$(JOBS) scripts/tidy $(BUILD) --all

# Rewrites the C++ tree in the layout of the root .clang-format
# (clang-format 14); `scripts/format --check` only reports.
format:
	scripts/format

# The main server: the hello routes and the to-do REST API (examples/).
run: build
	$(BUILD)/examples/squall-server --host 127.0.0.1 --port $(PORT)

# squall against its peers (bench/bench.py): examples/hello and nginx,
# h2o, Tornado and node's http each serving "Hello, world!" on CPU 0,
# driven by squall-load on CPU 1 at 50 and 256 connections, 1 and 16
# pipelined, and WebSocket echo of 64 B where squall's ws_echo and the
# WebSocket peers exist; then squall-load against wrk on the same server.
# Writes $(BUILD)/bench/bench_report.md and bench_chart.svg. The peers are
# installed here when missing (not part of `make deps`; node's ws comes
# with `deps`). --rt runs servers and clients as SCHED_FIFO, as bench-http
# does; BENCH_ARGS= for normal priority, or e.g. "--rt --duration 3 --runs 1".
BENCH_PACKAGES := nginx-light h2o python3-tornado wrk libcurl4-openssl-dev
BENCH_ARGS     ?= --rt
bench: build
	@scripts/install-deps $(BENCH_PACKAGES)
	@scripts/install-npm $(NPM_PACKAGES)
	/usr/bin/python3 bench/bench.py --build $(BUILD) $(BENCH_ARGS)

# The engine's micro-benchmarks (Google Benchmark), medians of 5 runs.
.PHONY: bench-micro
bench-micro: build
	$(BUILD)/bench/engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

# What each io_uring feature buys on this kernel (bench/features_bench.py):
# examples/hello with each feature switched off in turn, and SQPOLL on,
# under squall-load; squall-features' probe heads the report
# ($(BUILD)/bench/features_report.md).
FEATURES_BENCH_ARGS ?= --rt
.PHONY: bench-features
bench-features: build
	/usr/bin/python3 bench/features_bench.py --build $(BUILD) $(FEATURES_BENCH_ARGS)

clean: clean-fuzz
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(DEB_BUILD)

# squall as a library (cmake/squall_install.cmake): headers under
# $(PREFIX)/include/squall, shared and static libraries, the CMake package
# (find_package(squall)) and squall.pc. DESTDIR= stages the install.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# One Debian package, libsquall-dev, built for /usr from its own tree
# without tests or examples, then checked by lintian (an error fails).
DEB_BUILD    ?= build-deb
DEB_PACKAGES_TOOLS := dpkg-dev lintian file
deb: deps
	@scripts/install-deps $(DEB_PACKAGES_TOOLS)
	cmake -S . -B $(DEB_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr -DSQUALL_WERROR=ON \
	  -DSQUALL_BUILD_TESTS=OFF -DSQUALL_BUILD_EXAMPLES=OFF -DSQUALL_BUILD_BENCH=OFF $(CMAKE_ARGS)
	cmake --build $(DEB_BUILD) -j $(JOBS)
	cd $(DEB_BUILD) && cpack -G DEB
	dpkg-deb --info $(DEB_BUILD)/libsquall-dev_*.deb
	lintian --fail-on error --tag-display-limit 0 $(DEB_BUILD)/libsquall-dev_*.deb

# The ABI of the shared libraries against an earlier release (a git ref,
# ABI_BASE=v0.1.0): abidiff from abigail-tools; see docs/api.md.
ABI_BASE ?=
abi-check: deps
	@scripts/install-deps abigail-tools
	scripts/abi-check $(ABI_BASE)

# TCP echo load run: examples/echo against a plain epoll echo server
# (bench/), server pinned to CPU 0 and load client to CPU 1, then the RSS
# of 10,000 idle connections; the table goes to $(BUILD)/bench/echo_report.md.
.PHONY: bench-echo
bench-echo: build
	/usr/bin/python3 bench/echo_bench.py --build $(BUILD)

# HTTP load run: examples/hello against nginx (one worker), each pinned to
# CPU 0 with wrk on CPU 1, at 50 and 256 connections and 16 pipelined;
# the table goes to $(BUILD)/bench/http_report.md. nginx-light and wrk are
# installed here when missing (they are not part of `make deps`). --rt runs
# servers and wrk as SCHED_FIFO so that a busy machine's other work does not
# decide the result (HTTP_BENCH_ARGS= for normal priority).
HTTP_BENCH_ARGS ?= --rt
.PHONY: bench-http
bench-http: build
	@scripts/install-deps nginx-light wrk
	/usr/bin/python3 bench/http_bench.py --build $(BUILD) $(HTTP_BENCH_ARGS)

# HTTPS load run: examples/hello with --cert/--key against nginx with the
# same certificate, suites and groups, each pinned to CPU 0 with wrk on CPU
# 1: kept-alive requests/s and new full handshakes/s, with server CPU per
# request; the table goes to $(BUILD)/bench/tls_report.md. --plain adds
# squall's plain-HTTP figure; --rt runs servers and wrk as SCHED_FIFO, as
# bench-http does (TLS_BENCH_ARGS= for normal priority, TLS runs only).
TLS_BENCH_ARGS ?= --rt --plain
.PHONY: bench-tls
bench-tls: build
	@scripts/install-deps nginx-light wrk openssl
	/usr/bin/python3 bench/tls_bench.py --build $(BUILD) $(TLS_BENCH_ARGS)

# WebSocket echo load run: examples/ws_echo against node's ws and Tornado
# (bench/peers/), each on CPU 0 with squall-load --ws on CPU 1, 64 B and
# 16 KiB messages at 100 and 1,000 connections; the table goes to
# $(BUILD)/bench/ws_report.md. WS_BENCH_ARGS= for other runs.
WS_BENCH_ARGS ?= --rt
.PHONY: bench-ws
bench-ws: build
	/usr/bin/python3 bench/ws_bench.py --build $(BUILD) $(WS_BENCH_ARGS)

# libFuzzer targets (tests/fuzz/) built with clang in $(FUZZ_BUILD), each
# run for $(FUZZ_TIME) s from its seed corpus (tests/fuzz/corpus/<target>/)
# plus what earlier runs found ($(FUZZ_BUILD)/corpus/<target>/). A crash
# or broken invariant fails the run and leaves the input in
# $(FUZZ_BUILD)/<target>-crash-*. clang is installed here only: `deps`
# stays as lean as `make test` needs.
FUZZ_BUILD    ?= build-fuzz
FUZZ_TIME     ?= 60
FUZZ_TARGETS  := parser form ws_reader
FUZZ_PACKAGES := clang libclang-rt-14-dev

.PHONY: fuzz clean-fuzz
fuzz: deps
	@scripts/install-deps $(FUZZ_PACKAGES)
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSQUALL_WERROR=ON \
	  -DSQUALL_BUILD_FUZZ=ON -DSQUALL_BUILD_TESTS=OFF -DSQUALL_BUILD_BENCH=OFF -DSQUALL_BUILD_EXAMPLES=OFF $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS:%=%_fuzz)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
	  echo "squall: fuzzing $$t for $(FUZZ_TIME) s"; \
	  $(FUZZ_BUILD)/tests/fuzz/$${t}_fuzz -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/$$t- $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t; \
	done

clean-fuzz:
	rm -rf $(FUZZ_BUILD)
