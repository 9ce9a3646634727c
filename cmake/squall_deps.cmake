# Every dependency comes from a Debian package installed by `make deps`;
# nothing is downloaded at build time.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)
pkg_check_modules(WOLFSSL REQUIRED IMPORTED_TARGET wolfssl)
# c-ares: asynchronous DNS, driven from the ring (engine/resolver.cpp).
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares>=1.18)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
if(SQUALL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SQUALL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
