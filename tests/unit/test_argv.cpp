#include <catch2/catch.hpp>

#include "argv.hpp"

using bk::split_argv;

TEST_CASE("split_argv splits at the first -- only", "[argv]") {
    auto s = split_argv({"tool", "--pid", "--", "sh", "-c", "a -- b", "--"});
    CHECK(s.own == std::vector<std::string>{"tool", "--pid"});
    CHECK(s.command == std::vector<std::string>{"sh", "-c", "a -- b", "--"});
    CHECK(s.had_separator);
}

TEST_CASE("split_argv without -- keeps everything as the tool's", "[argv]") {
    auto s = split_argv({"tool", "a", "b"});
    CHECK(s.own.size() == 3);
    CHECK(s.command.empty());
    CHECK_FALSE(s.had_separator);
}

TEST_CASE("split_argv: argv[0] named -- is the program, not the separator", "[argv]") {
    auto s = split_argv({"--", "x", "--", "y"});
    CHECK(s.own == std::vector<std::string>{"--", "x"});
    CHECK(s.command == std::vector<std::string>{"y"});
}

TEST_CASE("split_argv: -- with nothing after it gives an empty command", "[argv]") {
    auto s = split_argv({"tool", "--"});
    CHECK(s.had_separator);
    CHECK(s.command.empty());
}

TEST_CASE("to_exec_argv ends in nullptr and points into the strings", "[argv]") {
    std::vector<std::string> v{"a", "bc"};
    auto p = bk::to_exec_argv(v);
    REQUIRE(p.size() == 3);
    CHECK(std::string(p[1]) == "bc");
    CHECK(p[2] == nullptr);
}
