// FUZZ_CHECK: the fuzz targets' assertion. It is active in every build
// type (unlike assert), prints the broken invariant and aborts, so that
// libFuzzer keeps the input and the corpus replay under ctest fails.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)
