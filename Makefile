# squall's Makefile only wraps CMake. `make run` and `make test` do all
# set-up on a fresh Debian 12 machine (they depend on `deps`).

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
PORT       ?= 8888
CMAKE_ARGS ?=

DEB_PACKAGES := g++ cmake make pkg-config liburing-dev libwolfssl-dev libspdlog-dev \
                libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev node-llhttp zlib1g-dev \
                nlohmann-json3-dev libsqlite3-dev python3 python3-tornado curl

.PHONY: all deps build test asan run bench clean

all: build

# Installs only what is missing; quiet and quick when all is present.
deps:
	@scripts/install-deps $(DEB_PACKAGES)

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

# The main server: the hello routes and the to-do REST API (examples/).
run: build
	$(BUILD)/examples/squall-server --host 127.0.0.1 --port $(PORT)

bench: build
	$(BUILD)/bench/engine_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

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

# libFuzzer targets (tests/fuzz/) built with clang in $(FUZZ_BUILD), each
# run for $(FUZZ_TIME) s from its seed corpus (tests/fuzz/corpus/<target>/)
# plus what earlier runs found ($(FUZZ_BUILD)/corpus/<target>/). A crash
# or broken invariant fails the run and leaves the input in
# $(FUZZ_BUILD)/<target>-crash-*. clang is installed here only: `deps`
# stays as lean as `make test` needs.
FUZZ_BUILD    ?= build-fuzz
FUZZ_TIME     ?= 60
FUZZ_TARGETS  := parser form
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

clean: clean-fuzz
