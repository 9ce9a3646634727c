# Every dependency comes from a Debian package installed by `make deps`;
# nothing is downloaded at build time.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
if(SQUALL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SQUALL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
