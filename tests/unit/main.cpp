// The one main() of the unit-test binaries; each test_<module>.cpp tests one
// module. The TAP reporter is what tests/run counts.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <catch2/catch_reporter_tap.hpp>
