# Compile options for squall's own targets. They are attached to the
# INTERFACE target squall_warnings, linked PRIVATE, so embedders never
# inherit our warning flags.
add_library(squall_warnings INTERFACE)
# -Werror=return-type always: a verb body without co_await or co_return is
# not a coroutine, and without a return it crashes on the first request.
target_compile_options(squall_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror=return-type)
if(SQUALL_WERROR)
  target_compile_options(squall_warnings INTERFACE -Werror)
endif()

# Sanitizers apply to everything in the build (libraries, tests, tools),
# because mixing instrumented and plain code hides bugs.
if(SQUALL_SANITIZE)
  string(REPLACE "," ";" _squall_san "${SQUALL_SANITIZE}")
  foreach(_s IN LISTS _squall_san)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "SQUALL_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  add_compile_options(-fsanitize=${SQUALL_SANITIZE} -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  # GCC 12's -Wmaybe-uninitialized misfires inside libstdc++ (<regex>) once
  # sanitizer instrumentation changes inlining; real uninitialised reads
  # are what the sanitizers themselves catch.
  target_compile_options(squall_warnings INTERFACE -Wno-maybe-uninitialized)
  add_link_options(-fsanitize=${SQUALL_SANITIZE})
endif()
