#include <catch2/catch.hpp>

#include <cstdlib>

#include "explain.hpp"

TEST_CASE("quote escapes like strace", "[explain]") {
    CHECK(bk::quote("a") == "\"a\"");
    CHECK(bk::quote("a\"b") == "\"a\\\"b\"");
    CHECK(bk::quote("x\ny") == "\"x\\ny\"");
    CHECK(bk::quote(std::string("\x01", 1)) == "\"\\x01\"");
}

TEST_CASE("BOXKIT_EXPLAIN turns narration on, 0 or empty turns it off", "[explain]") {
    unsetenv("BOXKIT_EXPLAIN");
    CHECK_FALSE(bk::explaining());
    setenv("BOXKIT_EXPLAIN", "0", 1);
    CHECK_FALSE(bk::explaining());
    bk::enable_explain();
    CHECK(bk::explaining());
    CHECK(std::string(getenv("BOXKIT_EXPLAIN")) == "1");
    unsetenv("BOXKIT_EXPLAIN");
}
