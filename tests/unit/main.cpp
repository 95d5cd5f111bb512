// The one main() of the unit-test binary; each test_<module>.cpp tests one module.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
