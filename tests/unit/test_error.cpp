#include <catch2/catch.hpp>

#include <cerrno>

#include "error.hpp"

TEST_CASE("Error::message has the one shape", "[error]") {
    bk::Error e("make ./rootfs the root", "pivot_root(\".\", \".\")", EINVAL);
    CHECK(e.message() == "cannot make ./rootfs the root: pivot_root(\".\", \".\"): Invalid argument (EINVAL)");
    CHECK(e.exit_code() == 125);
}

TEST_CASE("Error without a call or errno says only why", "[error]") {
    CHECK(bk::Error("understand --bind x").message() == "cannot understand --bind x");
    CHECK(bk::Error("read it", "", ENOENT).message() == "cannot read it: No such file or directory (ENOENT)");
}

TEST_CASE("errno_name names errnos and numbers the unknown", "[error]") {
    CHECK(bk::errno_name(EPERM) == "EPERM");
    CHECK(bk::errno_name(ELOOP) == "ELOOP");
    CHECK(bk::errno_name(9999) == "E9999");
}

TEST_CASE("throw_errno keeps errno", "[error]") {
    errno = EACCES;
    try {
        bk::throw_errno("open x", "open(\"x\")");
        FAIL("did not throw");
    } catch (const bk::Error& e) {
        CHECK(e.err() == EACCES);
        CHECK(e.call() == "open(\"x\")");
    }
}

TEST_CASE("with_hint and with_exit_code", "[error]") {
    bk::Error e("run x");
    e.with_hint("try y").with_exit_code(127);
    CHECK(e.hint() == "try y");
    CHECK(e.exit_code() == 127);
}
