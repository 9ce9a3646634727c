// ThreadSanitizer (make tsan) makes squall's own code several times
// slower, and more so on a busy machine; tests/CMakeLists.txt defines
// SQUALL_TSAN in the test programs of such a build. A test whose deadlines
// assume ordinary speed stretches them by tsan_slowdown, and one whose
// bulk only repeats code paths on one thread may make less of it; the
// checks stay the same. Used by tls_test.cpp, echo_stress_test.cpp and
// tests/ws/slow_reader_test.cpp.
#pragma once

namespace squall::testing {

#ifdef SQUALL_TSAN
inline constexpr bool under_tsan = true;
inline constexpr int tsan_slowdown = 10;
#else
inline constexpr bool under_tsan = false;
inline constexpr int tsan_slowdown = 1;
#endif

}  // namespace squall::testing
