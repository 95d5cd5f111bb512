// Shared by the fuzz targets: the input as a string, and the one rule that a
// bk::Error is a fine answer while anything else escaping is a bug.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "error.hpp"

namespace fuzz {

inline std::string text(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

// Run `f`; refusing with bk::Error is fine, anything else is a finding.
template <class F> void refusals_only(F&& f) {
    try {
        f();
    } catch (const bk::Error&) {
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz: a non-bk exception escaped: %s\n", e.what());
        std::abort();
    }
}

#define FUZZ_CHECK(cond)                                                           \
    do {                                                                           \
        if (!(cond)) {                                                             \
            std::fprintf(stderr, "fuzz: invariant broken: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                          \
        }                                                                          \
    } while (0)

} // namespace fuzz
