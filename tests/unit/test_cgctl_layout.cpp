// Telling pure v2, pure v1 and hybrid apart from /proc/self/mountinfo text.
#include <catch2/catch.hpp>

#include <fstream>

#include "../../tools/cgctl/layout.hpp"
#include "error.hpp"
#include "tempdir.hpp"

using namespace bk::cgctl;

namespace {

// What these machines show (hybrid): v1 controllers and an empty v2 tree.
const char* const k_hybrid = R"(24 1 259:1 / / rw,relatime shared:1 - ext4 /dev/root rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
)";

// A systemd machine of today: one cgroup2 mount, optional fields present.
const char* const k_v2 = R"(22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
26 25 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
)";

// Older distributions: v1 only, cpu and cpuacct mounted together.
const char* const k_v1 = R"(30 23 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:10 - cgroup cgroup rw,cpu,cpuacct
31 23 0:27 / /sys/fs/cgroup/memory rw,nosuid shared:11 - cgroup cgroup rw,memory
32 23 0:28 / /sys/fs/cgroup/pids rw,nosuid shared:12 - cgroup cgroup rw,pids
)";

} // namespace

TEST_CASE("hybrid: v1 controllers plus an empty v2 tree; cgctl drives v1", "[cgctl]") {
    Layout l = parse_mountinfo(k_hybrid);
    CHECK(l.kind == Kind::hybrid);
    CHECK(l.version() == Version::v1);
    CHECK(l.v2_mount == "/sys/fs/cgroup/unified");
    CHECK(l.v1_mounts.at("memory") == "/sys/fs/cgroup/memory");
    CHECK(l.v1_mounts.at("cpuacct") == "/sys/fs/cgroup/cpuacct");
    CHECK(l.v1_mounts.count("name=systemd") == 0);  // a named hierarchy holds no controller
    CHECK(l.v1_mounts.count("systemd") == 0);
    CHECK(l.v1_mounts.size() == 5);
}

TEST_CASE("pure v2", "[cgctl]") {
    Layout l = parse_mountinfo(k_v2);
    CHECK(l.kind == Kind::v2);
    CHECK(l.version() == Version::v2);
    CHECK(l.v2_mount == "/sys/fs/cgroup");
    CHECK(l.v1_mounts.empty());
}

TEST_CASE("pure v1, with cpu and cpuacct in one hierarchy", "[cgctl]") {
    Layout l = parse_mountinfo(k_v1);
    CHECK(l.kind == Kind::v1);
    CHECK(l.v2_mount.empty());
    CHECK(l.v1_mounts.at("cpu") == "/sys/fs/cgroup/cpu,cpuacct");
    CHECK(l.v1_mounts.at("cpuacct") == "/sys/fs/cgroup/cpu,cpuacct");
}

TEST_CASE("no cgroups at all, and junk lines", "[cgctl]") {
    CHECK(parse_mountinfo("").kind == Kind::none);
    CHECK(parse_mountinfo("garbage\n1 2 3\n- - -\n").kind == Kind::none);
    bk::TempDir dir("cgctl-layout");
    std::string path = dir.path() + "/mountinfo";
    std::ofstream(path) << "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n";
    CHECK_THROWS_AS(detect_layout(path), bk::Error);
    std::ofstream(path) << k_v2;
    CHECK(detect_layout(path).kind == Kind::v2);
}

TEST_CASE("mount points with escaped spaces, and the first mount wins", "[cgctl]") {
    Layout l = parse_mountinfo("1 2 0:1 / /my\\040cgroups rw - cgroup2 none rw\n"
                               "3 2 0:1 / /again rw - cgroup2 none rw\n");
    CHECK(l.v2_mount == "/my cgroups");
    CHECK(unescape_mountinfo("a\\011b\\134c") == "a\tb\\c");
}

TEST_CASE("our own v2 cgroup from /proc/self/cgroup", "[cgctl]") {
    CHECK(own_v2_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n") == "/user.slice/user-1000.slice/session-2.scope");
    CHECK(own_v2_cgroup("4:memory:/x\n0::/\n") == "/");
    CHECK(own_v2_cgroup("4:memory:/x\n") == "");
}
