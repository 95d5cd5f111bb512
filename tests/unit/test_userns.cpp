#include <catch2/catch.hpp>

#include "error.hpp"
#include "userns.hpp"

using bk::userns::IdRange;

TEST_CASE("id ranges parse as INSIDE:OUTSIDE[:COUNT]", "[userns]") {
    CHECK(bk::userns::parse_range("0:100000:65536") == IdRange{0, 100000, 65536});
    CHECK(bk::userns::parse_range("0:1000") == IdRange{0, 1000, 1});
    for (const char* bad : {"", "0", "a:b", "0:1:0", "0:1:2:3", "-1:0:1", "0:4294967295:1", "0: 1:1", "0:1:99999999999"})
        CHECK_THROWS_AS(bk::userns::parse_range(bad), bk::Error);
}

TEST_CASE("users parse as UID[:GID]", "[userns]") {
    CHECK(bk::userns::parse_user("1000:100") == std::pair<unsigned long, unsigned long>{1000, 100});
    CHECK(bk::userns::parse_user("5") == std::pair<unsigned long, unsigned long>{5, 5});
    for (const char* bad : {"", "root", "1:2:3", ":1", "1:"}) CHECK_THROWS_AS(bk::userns::parse_user(bad), bk::Error);
}

TEST_CASE("map text is one line a range, in the kernel's column order", "[userns]") {
    CHECK(bk::userns::map_text({{0, 1000, 1}}) == "0 1000 1\n");
    CHECK(bk::userns::map_text({{0, 1000, 1}, {1, 100000, 65536}}) == "0 1000 1\n1 100000 65536\n");
    CHECK(bk::userns::map_text({}).empty());
}

TEST_CASE("overlapping ranges are refused before the kernel refuses them", "[userns]") {
    CHECK_NOTHROW(bk::userns::check_ranges({{0, 1000, 1}, {1, 100000, 65536}}, "uids"));
    CHECK_THROWS_AS(bk::userns::check_ranges({{0, 1000, 10}, {5, 200000, 1}}, "uids"), bk::Error);   // inside
    CHECK_THROWS_AS(bk::userns::check_ranges({{0, 1000, 10}, {50, 1005, 1}}, "uids"), bk::Error);   // outside
    CHECK_NOTHROW(bk::userns::check_ranges({{0, 1000, 10}, {10, 1010, 1}}, "uids"));                // touching
}

TEST_CASE("the plan: root writes anything, a user writes only themself", "[userns]") {
    auto user_root = bk::userns::plan(1000, 1000, "", {}, {});
    CHECK(user_root.uids == std::vector<IdRange>{{0, 1000, 1}});
    CHECK(user_root.gids == std::vector<IdRange>{{0, 1000, 1}});
    CHECK(user_root.deny_setgroups);
    CHECK_FALSE(user_root.use_helpers);

    auto as_user = bk::userns::plan(1000, 100, "33:44", {}, {});
    CHECK(as_user.uids == std::vector<IdRange>{{33, 1000, 1}});
    CHECK(as_user.gids == std::vector<IdRange>{{44, 100, 1}});

    auto ranges = bk::userns::plan(1000, 1000, "", {{0, 1000, 1}, {1, 100000, 65536}}, {});
    CHECK(ranges.use_helpers);
    CHECK_FALSE(ranges.deny_setgroups);

    auto root = bk::userns::plan(0, 0, "", {{0, 100000, 65536}}, {{0, 100000, 65536}});
    CHECK_FALSE(root.use_helpers);
    CHECK_FALSE(root.deny_setgroups);
}

TEST_CASE("helper argv lists triples after the pid", "[userns]") {
    CHECK(bk::userns::helper_argv("newuidmap", 42, {{0, 1000, 1}, {1, 100000, 65536}}) ==
          std::vector<std::string>{"newuidmap", "42", "0", "1000", "1", "1", "100000", "65536"});
}
