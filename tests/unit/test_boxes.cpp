#include <catch2/catch.hpp>

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "boxes.hpp"
#include "error.hpp"
#include "tempdir.hpp"

namespace {

// Every test gets its own run directory through BOXKIT_RUN.
struct RunDir {
    bk::TempDir dir{"boxkit-boxes"};
    RunDir() { ::setenv("BOXKIT_RUN", dir.path().c_str(), 1); }
    ~RunDir() { ::unsetenv("BOXKIT_RUN"); }
};

bk::boxes::Box me(const std::string& name) {
    bk::boxes::Box b;
    b.name = name;
    b.pid = ::getpid();
    b.start_time = *bk::boxes::process_start_time(::getpid());
    b.namespaces = {{"net", "/proc/" + std::to_string(b.pid) + "/ns/net"}};
    b.command = {"/bin/sh", "-c", "sleep 1"};
    b.started = bk::boxes::now_iso8601();
    return b;
}

} // namespace

TEST_CASE("box names", "[boxes]") {
    using bk::boxes::valid_name;
    CHECK(valid_name("web"));
    CHECK(valid_name("web-1.a_b"));
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_name(".hidden"));
    CHECK_FALSE(valid_name("-flag"));
    CHECK_FALSE(valid_name("a/b"));
    CHECK_FALSE(valid_name("../x"));
    CHECK_FALSE(valid_name("a b"));
    CHECK_FALSE(valid_name(std::string(65, 'a')));
    CHECK(valid_name(std::string(64, 'a')));
    CHECK_THROWS_AS(bk::boxes::check_name("a/b"), bk::Error);
}

TEST_CASE("start time is field 22 of /proc/PID/stat, whatever the comm holds", "[boxes]") {
    using bk::boxes::parse_start_time;
    std::string tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 4242 99 100\n";
    CHECK(parse_start_time("123 (sh)" + tail) == 4242ULL);
    CHECK(parse_start_time("123 (a) (b) c)" + tail) == 4242ULL);
    CHECK(parse_start_time("123 (x y z)" + tail) == 4242ULL);
    CHECK_FALSE(parse_start_time("123 (sh) S 1 2"));
    CHECK_FALSE(parse_start_time("garbage"));
    CHECK(bk::boxes::process_start_time(::getpid()).has_value());
    CHECK_FALSE(bk::boxes::process_start_time(0).has_value());
}

TEST_CASE("records round-trip through JSON", "[boxes]") {
    auto b = me("round");
    b.hostname = "web";
    b.detached = true;
    auto c = bk::boxes::from_json(bk::boxes::to_json(b));
    CHECK(c.name == b.name);
    CHECK(c.pid == b.pid);
    CHECK(c.start_time == b.start_time);
    CHECK(c.command == b.command);
    CHECK(c.hostname == "web");
    CHECK(c.detached);
    CHECK(c.ns_path("net") == b.ns_path("net"));
    CHECK(c.ns_path("pid").empty());
    CHECK_THROWS_AS(bk::boxes::from_json(bk::json{{"name", 1}}), bk::Error);
    CHECK_THROWS_AS(bk::boxes::from_json(bk::json{{"name", "../x"}, {"pid", 1}, {"start_time", 1}}), bk::Error);
}

TEST_CASE("two live boxes cannot share a name", "[boxes]") {
    RunDir run;
    auto b = me("web");
    bk::boxes::create(b);
    CHECK(bk::boxes::alive(b));
    try {
        bk::boxes::create(b);
        FAIL("created twice");
    } catch (const bk::Error& e) {
        CHECK(e.err() == EEXIST);
        CHECK(e.hint().find("nsjail-lite ps") != std::string::npos);
    }
    CHECK(bk::boxes::find_running("web").pid == ::getpid());
    CHECK(bk::boxes::list().size() == 1);
    bk::boxes::remove("web", ::getpid() + 1);  // not ours: stays
    CHECK(bk::boxes::read("web"));
    bk::boxes::remove("web", ::getpid());
    CHECK_FALSE(bk::boxes::read("web"));
    CHECK_THROWS_AS(bk::boxes::find_running("web"), bk::Error);
}

TEST_CASE("a stale record never blocks a new box", "[boxes]") {
    RunDir run;
    auto old = me("stale");
    old.start_time += 1;  // the pid was reused by another process
    bk::boxes::create(old);
    CHECK_FALSE(bk::boxes::alive(old));
    CHECK_THROWS_AS(bk::boxes::find_running("stale"), bk::Error);
    CHECK(bk::boxes::list().size() == 1);  // listed, so ps --all can show it
    auto fresh = me("stale");
    bk::boxes::create(fresh);
    CHECK(bk::boxes::find_running("stale").start_time == fresh.start_time);
}

TEST_CASE("update replaces the record whole; garbage is skipped", "[boxes]") {
    RunDir run;
    auto b = me("upd");
    b.pid = 0;
    b.supervisor_pid = ::getpid();
    b.supervisor_start_time = *bk::boxes::process_start_time(::getpid());
    bk::boxes::create(b);
    CHECK(bk::boxes::alive(b));  // alive while its supervisor is
    b.pid = ::getpid();
    b.start_time = b.supervisor_start_time;
    bk::boxes::update(b);
    CHECK(bk::boxes::read("upd")->pid == ::getpid());
    std::ofstream(run.dir.path() + "/junk.json") << "{not json";
    std::ofstream(run.dir.path() + "/.upd.tmp.1") << "{}";
    CHECK(bk::boxes::list().size() == 1);
}

TEST_CASE("a zombie is not running: a killed supervisor's box frees its name", "[boxes]") {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    // Not reaped yet: a zombie, with its start time still in /proc.
    usleep(100 * 1000);
    auto start = bk::boxes::process_start_time(pid);
    REQUIRE(start);
    CHECK_FALSE(bk::boxes::running(pid, *start));
    bk::boxes::Box box;
    box.pid = pid;
    box.start_time = *start;
    CHECK_FALSE(bk::boxes::alive(box));
    waitpid(pid, nullptr, 0);
    CHECK(bk::boxes::running(getpid(), *bk::boxes::process_start_time(getpid())));
}
