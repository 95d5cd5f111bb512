#include <catch2/catch.hpp>

#include "../../tools/chrootify/specs.hpp"
#include "error.hpp"

using namespace bk::chrootify;

TEST_CASE("--bind SRC:DST[:ro|rw]", "[chrootify]") {
    auto b = parse_bind("./data:/data");
    CHECK(b.source == "./data");
    CHECK(b.target == "/data");
    CHECK_FALSE(b.read_only);
    CHECK(parse_bind("/a:/b:ro").read_only);
    CHECK_FALSE(parse_bind("/a:/b:rw").read_only);
    for (auto bad : {"", ":", "/a", "/a:", ":/b", "/a:b", "/a:/b:rx", "/a:/b:ro:x"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_bind(bad), bk::Error);
    }
}

TEST_CASE("--user UID[:GID]", "[chrootify]") {
    auto u = parse_user("1000");
    CHECK(u.uid == 1000);
    CHECK(u.gid == 1000);
    u = parse_user("0:65534");
    CHECK(u.uid == 0);
    CHECK(u.gid == 65534);
    for (auto bad : {"", "root", "1000:", ":1", "-1", "4294967295", "1x", "1:2:3"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_user(bad), bk::Error);
    }
}

TEST_CASE("--env K=V", "[chrootify]") {
    CHECK_NOTHROW(check_env("A=b"));
    CHECK_NOTHROW(check_env("A="));
    CHECK_THROWS_AS(check_env("A"), bk::Error);
    CHECK_THROWS_AS(check_env("=b"), bk::Error);
}

TEST_CASE("overlay lowers and options", "[chrootify]") {
    CHECK(split_lowers("a:b:c") == std::vector<std::string>{"a", "b", "c"});
    CHECK_THROWS_AS(split_lowers("a::b"), bk::Error);
    CHECK_THROWS_AS(split_lowers(""), bk::Error);
    CHECK(overlay_options({"top", "base"}, "/u", "/w") == "lowerdir=top:base,upperdir=/u,workdir=/w");
    CHECK_THROWS_AS(overlay_options({"a,b"}, "/u", "/w"), bk::Error);
    CHECK_THROWS_AS(overlay_options({"a"}, "/u:x", "/w"), bk::Error);
}
