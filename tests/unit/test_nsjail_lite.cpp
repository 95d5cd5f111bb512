#include <catch2/catch.hpp>

#include <sched.h>
#include <signal.h>

#include <cerrno>

#include "error.hpp"
#include "ns.hpp"
#include "../../tools/nsjail-lite/nsjail_lite.hpp"

using namespace bk::nsjail_lite;

TEST_CASE("signals by name, with or without SIG, or by number", "[nsjail-lite]") {
    CHECK(parse_signal("TERM") == SIGTERM);
    CHECK(parse_signal("sigterm") == SIGTERM);
    CHECK(parse_signal("SIGKILL") == SIGKILL);
    CHECK(parse_signal("usr1") == SIGUSR1);
    CHECK(parse_signal("9") == 9);
    CHECK(parse_signal("64") == 64);
    for (const char* bad : {"", "0", "65", "NOPE", "SIG", "-9", "9x", "100"}) CHECK_THROWS_AS(parse_signal(bad), bk::Error);
}

TEST_CASE("ages print the way docker ps prints them", "[nsjail-lite]") {
    CHECK(age_string(0) == "0s");
    CHECK(age_string(59) == "59s");
    CHECK(age_string(61) == "1m");
    CHECK(age_string(7200) == "2h");
    CHECK(age_string(3 * 86400) == "3d");
    CHECK(age_string(-5) == "0s");
}

TEST_CASE("options: --all, --hostname and maps imply their namespaces", "[nsjail-lite]") {
    Options o;
    o.command = {"/bin/true"};
    o.all = true;
    validate(o);
    CHECK(o.pid);
    CHECK(o.net);
    CHECK(o.mount);
    CHECK(o.cgroup);
    CHECK(o.needs_child());
    CHECK((o.clone_flags() & (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)) ==
          (CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC));

    Options h;
    h.command = {"x"};
    h.hostname = "web";
    validate(h);
    CHECK(h.uts);
    CHECK_FALSE(h.needs_child());  // a chain-loader: unshare and exec, no fork

    Options u;
    u.command = {"x"};
    u.map_user = "1000:1000";
    validate(u);
    CHECK(u.user);
    CHECK(u.clone_flags() == CLONE_NEWUSER);
}

TEST_CASE("options: what needs a child", "[nsjail-lite]") {
    Options o;
    o.command = {"x"};
    o.mount = true;
    CHECK_FALSE(o.needs_child());
    o.name = "web";
    CHECK(o.needs_child());
    Options i;
    i.init = true;
    CHECK(i.needs_child());
}

TEST_CASE("options: bad combinations are refused with a hint", "[nsjail-lite]") {
    auto refused = [](Options o) {
        try {
            validate(o);
        } catch (const bk::Error& e) {
            CHECK(e.exit_code() == 125);
            CHECK_FALSE(e.hint().empty());
            return true;
        }
        return false;
    };
    Options none;
    CHECK(refused(none));  // no command
    Options both;
    both.command = {"x"};
    both.map_root = true;
    both.map_user = "1:1";
    CHECK(refused(both));
    Options name;
    name.command = {"x"};
    name.name = "../etc";
    CHECK(refused(name));
    Options host;
    host.command = {"x"};
    host.hostname = std::string(65, 'h');
    CHECK(refused(host));
    Options fd;
    fd.command = {"x"};
    fd.keep_fds = {2};
    CHECK(refused(fd));
    Options range;
    range.command = {"x"};
    range.uid_map = {"0:1000"};
    range.gid_map = {"zero"};
    CHECK(refused(range));
}

TEST_CASE("--detach without --name gets a name", "[nsjail-lite]") {
    Options o;
    o.command = {"x"};
    o.detach = true;
    validate(o);
    CHECK(o.name.rfind("box-", 0) == 0);
}

TEST_CASE("EPERM, ENOSPC and EINVAL get hints", "[nsjail-lite]") {
    CHECK_FALSE(namespace_hint(EPERM, CLONE_NEWPID).empty());
    CHECK_FALSE(namespace_hint(EPERM, CLONE_NEWUSER).empty());
    CHECK(namespace_hint(ENOSPC, CLONE_NEWUSER).find("namespace") != std::string::npos);
    CHECK_FALSE(namespace_hint(EINVAL, CLONE_NEWNET).empty());
    CHECK(namespace_hint(EIO, CLONE_NEWNET).empty());
    CHECK(missing_kinds(CLONE_NEWPID | CLONE_NEWNET).empty());  // this kernel has both
}

TEST_CASE("the namespace table joins user first and mnt last", "[nsjail-lite]") {
    auto& k = bk::ns::kinds();
    REQUIRE(k.size() == 7);
    CHECK(std::string(k.front().name) == "user");
    CHECK(std::string(k.back().name) == "mnt");
    CHECK(bk::ns::find("net")->flag == CLONE_NEWNET);
    CHECK(bk::ns::find("bogus") == nullptr);
    CHECK(bk::ns::path(42, "net") == "/proc/42/ns/net");
    CHECK_FALSE(bk::ns::differs(::getpid(), "net"));
    CHECK(bk::ns::id("/proc/self/ns/net").rfind("net:[", 0) == 0);
}
