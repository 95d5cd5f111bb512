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

TEST_CASE("--user USER[:GROUP], numbers or names", "[chrootify]") {
    auto u = parse_user("1000");
    CHECK(u.uid == 1000);
    CHECK(u.gid == 1000);
    CHECK(u.user_name.empty());
    u = parse_user("0:65534");
    CHECK(u.uid == 0);
    CHECK(u.gid == 65534);
    u = parse_user("www-data");
    CHECK(u.user_name == "www-data");
    CHECK_FALSE(u.group_given);
    u = parse_user("nobody:nogroup");
    CHECK(u.user_name == "nobody");
    CHECK(u.group_name == "nogroup");
    u = parse_user("_svc:100");
    CHECK(u.user_name == "_svc");
    CHECK(u.gid == 100);
    CHECK(u.group_given);
    for (auto bad : {"", "1000:", ":1", "-1", "4294967295", "1x", "1:2:3", "a/b", "../etc", "a b", ".x", "r:o:ot"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_user(bad), bk::Error);
    }
}

TEST_CASE("--user names: looked up in the box's passwd and group files", "[chrootify]") {
    auto passwd = parse_id_file("root:x:0:0:root:/root:/bin/sh\n# a comment\n\nbroken line\n"
                                "nobody:x:65534:65533:nobody:/:/bin/false\nbad:x:notanumber:1::/:\nweb:x:33:33::/var/www:");
    REQUIRE(passwd.size() == 3);
    CHECK(passwd[1].name == "nobody");
    CHECK(passwd[1].id == 65534);
    CHECK(passwd[1].gid == 65533);
    auto group = parse_id_file("root:x:0:\nnogroup:x:65534:\nstaff:x:50:web,nobody");
    REQUIRE(group.size() == 3);

    auto u = parse_user("nobody");
    resolve_user(u, passwd, group);
    CHECK(u.uid == 65534);
    CHECK(u.gid == 65533);  // the user's own group from passwd
    u = parse_user("nobody:staff");
    resolve_user(u, passwd, group);
    CHECK(u.uid == 65534);
    CHECK(u.gid == 50);
    u = parse_user("33:nogroup");
    resolve_user(u, passwd, group);
    CHECK(u.uid == 33);
    CHECK(u.gid == 65534);
    u = parse_user("web:0");
    resolve_user(u, passwd, group);
    CHECK(u.uid == 33);
    CHECK(u.gid == 0);
    u = parse_user("ghost");
    CHECK_THROWS_AS(resolve_user(u, passwd, group), bk::Error);
    u = parse_user("root:ghosts");
    CHECK_THROWS_AS(resolve_user(u, passwd, group), bk::Error);
    u = parse_user("bad");  // its line was junk, so there is no such user
    CHECK_THROWS_AS(resolve_user(u, passwd, group), bk::Error);
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
