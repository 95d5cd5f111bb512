#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <cstdio>

#include "cli.hpp"
#include "error.hpp"
#include "explain.hpp"

namespace {
// Parse `args` into a fresh app with one option; stdout/stderr go to /dev/null.
std::optional<int> parse(std::vector<std::string> args, bool* explain = nullptr) {
    CLI::App app{"test", "tool"};
    bk::cli::Common common;
    bk::cli::setup(app, common, "Lesson: none");
    std::string value;
    app.add_option("--value", value);
    // Help goes to stdout: send it to /dev/null for the call, then put the
    // test binary's own stdout (the TAP report) back.
    fflush(stdout);
    std::cout.flush();
    int saved = dup(1);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    close(null);
    auto code = bk::cli::parse(app, args, common);
    std::cout.flush();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    if (explain) *explain = common.explain;
    return code;
}
} // namespace

TEST_CASE("--help and --version stop with 0", "[cli]") {
    CHECK(parse({"tool", "--help"}) == 0);
    CHECK(parse({"tool", "-h"}) == 0);
    CHECK(parse({"tool", "--version"}) == 0);
}

TEST_CASE("a parse error stops with 125, never CLI11's own codes", "[cli]") {
    CHECK(parse({"tool", "--no-such-flag"}) == bk::EXIT_TOOL_FAILED);
    CHECK(parse({"tool", "--value"}) == bk::EXIT_TOOL_FAILED);
    CHECK(parse({"tool", "extra-positional"}) == bk::EXIT_TOOL_FAILED);
}

TEST_CASE("good arguments go on, and --explain is exported to the chain", "[cli]") {
    unsetenv("BOXKIT_EXPLAIN");
    bool explain = false;
    CHECK_FALSE(parse({"tool", "--value", "x", "--explain"}, &explain).has_value());
    CHECK(explain);
    CHECK(bk::explaining());
    unsetenv("BOXKIT_EXPLAIN");
}

TEST_CASE("asks_for_help: --help, or a short-flag cluster with an h, after argv[0]", "[cli]") {
    using bk::cli::asks_for_help;
    CHECK(asks_for_help({"tool", "--help"}));
    CHECK(asks_for_help({"tool", "run", "-h"}));
    CHECK(asks_for_help({"tool", "-vh"}));
    CHECK_FALSE(asks_for_help({"tool"}));
    CHECK_FALSE(asks_for_help({"-h"}));  // argv[0] is the tool's name
    CHECK_FALSE(asks_for_help({"tool", "--hostname", "h"}));
    CHECK_FALSE(asks_for_help({"tool", "run", "--name", "help"}));
    CHECK_FALSE(asks_for_help({"tool", "-", "--"}));
}

TEST_CASE("may_choose: a word that is the subcommand's name, or a help flag", "[cli]") {
    using bk::cli::may_choose;
    CHECK(may_choose({"tool", "run", "--", "x"}, "run"));
    CHECK(may_choose({"tool", "--name", "ls", "run"}, "ls"));  // (as CLI11 could)
    CHECK(may_choose({"tool", "-h"}, "stats"));
    CHECK_FALSE(may_choose({"tool", "runner"}, "run"));
    CHECK_FALSE(may_choose({"run"}, "run"));  // argv[0] is the tool's name
    CHECK_FALSE(may_choose({}, "run"));
}

TEST_CASE("main_guard turns errors into their exit codes", "[cli]") {
    CHECK(bk::cli::main_guard("t", [] { return 7; }) == 7);
    CHECK(bk::cli::main_guard("t", []() -> int { throw bk::Error("x"); }) == 125);
    CHECK(bk::cli::main_guard("t", []() -> int { throw bk::Error("x").with_exit_code(127); }) == 127);
    CHECK(bk::cli::main_guard("t", []() -> int { throw std::runtime_error("y"); }) == 125);
}
