// cgctl's v1 and v2 backends on FAKE cgroup trees in a temporary directory.
//
// On a real cgroupfs, mkdir makes the interface files and the kernel
// enforces the rules. Here FakeKernel does both, as far as cgctl relies on
// them: controller files appear where the parent enables the controller
// (v2) or where the hierarchy is that controller's (v1); subtree_control
// only takes controllers the group has, and never while it holds processes
// (no internal processes); cgroup.procs refuses a group that passes
// controllers down, or a v1 cpuset with no CPUs; memsw never below memory.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "../../tools/cgctl/backend.hpp"
#include "error.hpp"
#include "tempdir.hpp"

using namespace bk::cgctl;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}
void put(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
std::set<std::string> words(const std::string& text) {
    std::set<std::string> out;
    std::istringstream in(text);
    std::string w;
    while (in >> w) out.insert(w);
    return out;
}

const std::map<std::string, std::map<std::string, std::string>> k_files = {
    // v2 controller -> its files in a group
    {"memory", {{"memory.max", "max\n"}, {"memory.current", "0\n"}, {"memory.peak", "0\n"}, {"memory.swap.max", "max\n"},
                {"memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"}}},
    {"cpu", {{"cpu.max", "max 100000\n"}, {"cpu.weight", "100\n"}, {"cpu.stat", "usage_usec 0\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n"}}},
    {"pids", {{"pids.max", "max\n"}, {"pids.current", "0\n"}, {"pids.peak", "0\n"}, {"pids.events", "max 0\n"}}},
    {"io", {{"io.max", ""}, {"io.weight", "default 100\n"}}},
    {"cpuset", {{"cpuset.cpus", ""}, {"cpuset.mems", ""}}},
    // v1 hierarchy -> its files in a group
    {"v1:memory", {{"memory.limit_in_bytes", "9223372036854771712\n"}, {"memory.memsw.limit_in_bytes", "9223372036854771712\n"},
                   {"memory.usage_in_bytes", "0\n"}, {"memory.max_usage_in_bytes", "0\n"}, {"memory.failcnt", "0\n"},
                   {"memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n"}}},
    {"v1:cpu", {{"cpu.cfs_quota_us", "-1\n"}, {"cpu.cfs_period_us", "100000\n"}, {"cpu.shares", "1024\n"},
                {"cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n"}}},
    {"v1:cpuacct", {{"cpuacct.usage", "0\n"}}},
    {"v1:pids", {{"pids.max", "max\n"}, {"pids.current", "0\n"}, {"pids.peak", "0\n"}, {"pids.events", "max 0\n"}}},
    {"v1:freezer", {{"freezer.state", "THAWED\n"}}},
    {"v1:cpuset", {{"cpuset.cpus", ""}, {"cpuset.mems", ""}}},
};

class FakeKernel : public Fs {
public:
    explicit FakeKernel(std::string top, bool v2) : top_(std::move(top)), v2_(v2) {}

    void mkdir(std::string_view why, const std::string& path) override {
        Fs::mkdir(why, path);
        put(path + "/cgroup.procs", "");
        if (v2_) {
            std::string parent = path.substr(0, path.rfind('/'));
            std::string passed = slurp(parent + "/cgroup.subtree_control");
            put(path + "/cgroup.controllers", passed);
            put(path + "/cgroup.subtree_control", "");
            put(path + "/cgroup.events", "populated 0\nfrozen 0\n");
            put(path + "/cgroup.freeze", "0\n");
            put(path + "/cgroup.kill", "");
            for (const auto& c : words(passed)) add_files(path, c);
        } else {
            add_files(path, "v1:" + hierarchy(path));
        }
    }

    void rmdir(std::string_view, const std::string& path) override {
        if (!words(slurp(path + "/cgroup.procs")).empty()) throw bk::Error("rmdir", "rmdir(" + path + ")", EBUSY);
        bk::remove_tree(path);  // the fake's files go with it, as the kernel's do
    }

    void write(std::string_view why, const std::string& path, const std::string& value) override {
        writes.push_back(path.substr(top_.size()) + "=" + value);
        std::string dir = path.substr(0, path.rfind('/')), file = path.substr(path.rfind('/') + 1);
        bool root = dir == top_ || (!v2_ && dir.rfind('/') == top_.size());
        if (!exists(path)) throw bk::Error(std::string(why), "open(" + path + ")", ENOENT);
        if (v2_ && file == "cgroup.subtree_control") {
            auto have = words(slurp(dir + "/cgroup.controllers"));
            auto on = words(slurp(path));
            for (const auto& w : words(value)) {
                std::string c = w.substr(1);
                if (!have.count(c)) throw bk::Error(std::string(why), "write(subtree_control)", EINVAL);
                if (w[0] == '+') on.insert(c);
                else on.erase(c);
            }
            if (!root && !words(slurp(dir + "/cgroup.procs")).empty())
                throw bk::Error(std::string(why), "write(subtree_control)", EBUSY);
            std::string text;
            for (const auto& c : on) text += (text.empty() ? "" : " ") + c;
            put(path, text + "\n");
            // Children see the change at once: their controllers and files.
            for (const auto& child : subdirs(dir)) {
                auto before = words(slurp(dir + "/" + child + "/cgroup.controllers"));
                put(dir + "/" + child + "/cgroup.controllers", text + "\n");
                for (const auto& c : on)
                    if (!before.count(c)) add_files(dir + "/" + child, c);
            }
            return;
        }
        if (file == "cgroup.procs") {
            if (v2_ && !root && !words(slurp(dir + "/cgroup.subtree_control")).empty())
                throw bk::Error(std::string(why), "write(cgroup.procs)", EBUSY);
            if (!v2_ && hierarchy(dir) == "cpuset" && words(slurp(dir + "/cpuset.mems")).empty())
                throw bk::Error(std::string(why), "write(cgroup.procs)", ENOSPC);
            put(path, slurp(path) + value + "\n");
            return;
        }
        if (!v2_ && file == "memory.limit_in_bytes" &&
            std::stoull(value) > std::stoull(slurp(dir + "/memory.memsw.limit_in_bytes")))
            throw bk::Error(std::string(why), "write(memory.limit_in_bytes)", EINVAL);
        if (!v2_ && file == "memory.memsw.limit_in_bytes" &&
            std::stoull(value) < std::stoull(slurp(dir + "/memory.limit_in_bytes")))
            throw bk::Error(std::string(why), "write(memory.memsw.limit_in_bytes)", EINVAL);
        put(path, value + "\n");
    }

    std::vector<std::string> writes;

private:
    void add_files(const std::string& dir, const std::string& key) {
        auto it = k_files.find(key);
        if (it == k_files.end()) return;
        for (const auto& [f, v] : it->second) put(dir + "/" + f, v);
    }
    std::string hierarchy(const std::string& path) const {
        std::string rest = path.substr(top_.size() + 1);
        return rest.substr(0, rest.find('/'));
    }
    std::string top_;
    bool v2_;
};

// A fresh v2 root: the kernel offers these controllers, none enabled yet.
struct V2Tree {
    bk::TempDir dir{"cgctl-v2"};
    std::string root = dir.path();
    FakeKernel kernel{root, true};
    explicit V2Tree(const std::string& controllers = "cpuset cpu io memory pids") {
        put(root + "/cgroup.controllers", controllers + "\n");
        put(root + "/cgroup.subtree_control", "\n");
        put(root + "/cgroup.procs", "1\n");  // the root may hold processes
    }
    std::unique_ptr<Backend> backend() { return make_v2_backend(kernel, root, "", "boxkit"); }
};

// A fresh v1 set of hierarchies (what the hybrid and pure-v1 layouts share).
struct V1Tree {
    bk::TempDir dir{"cgctl-v1"};
    std::string top = dir.path();
    FakeKernel kernel{top, false};
    Layout layout;
    V1Tree() {
        for (const char* c : {"memory", "cpu", "cpuacct", "pids", "freezer", "cpuset"}) {
            std::string d = top + "/" + c;
            ::mkdir(d.c_str(), 0755);
            put(d + "/cgroup.procs", "1\n");
            for (const auto& [f, v] : k_files.at(std::string("v1:") + c)) put(d + "/" + f, v);
            layout.v1_mounts[c] = d;
        }
        put(top + "/cpuset/cpuset.cpus", "0-1\n");
        put(top + "/cpuset/cpuset.mems", "0\n");
        // A hybrid machine's empty v2 tree, which cgctl must leave alone.
        ::mkdir((top + "/unified").c_str(), 0755);
        put(top + "/unified/cgroup.subtree_control", "\n");
        layout.v2_mount = top + "/unified";
        layout.kind = Kind::hybrid;
    }
    std::unique_ptr<Backend> backend() { return make_v1_backend(kernel, layout, "boxkit"); }
};

Limits limits(std::optional<uint64_t> memory, std::optional<uint64_t> pids) {
    Limits l;
    l.memory = memory;
    l.pids = pids;
    return l;
}

} // namespace

TEST_CASE("v2: create enables controllers top-down and writes memory.max", "[cgctl][v2]") {
    V2Tree t;
    auto b = t.backend();
    b->create("web", limits(64ull << 20, 10));
    CHECK(words(slurp(t.root + "/cgroup.subtree_control")) == std::set<std::string>{"cpu", "memory", "pids"});
    CHECK(words(slurp(t.root + "/boxkit/cgroup.subtree_control")) == std::set<std::string>{"cpu", "memory", "pids"});
    CHECK(slurp(t.root + "/boxkit/web/memory.max") == "67108864\n");
    CHECK(slurp(t.root + "/boxkit/web/pids.max") == "10\n");
    CHECK(b->path("web") == t.root + "/boxkit/web");
    CHECK(b->exists("web"));
    CHECK(b->groups() == std::vector<std::string>{"web"});
    // The boxkit parent passes controllers down, so it never holds a process.
    CHECK(words(slurp(t.root + "/boxkit/cgroup.procs")).empty());
}

TEST_CASE("v2: a second group does not enable anything again", "[cgctl][v2]") {
    V2Tree t;
    auto b = t.backend();
    b->create("a", {});
    t.kernel.writes.clear();
    b->create("b", limits(std::nullopt, 5));
    CHECK(t.kernel.writes == std::vector<std::string>{"/boxkit/b/pids.max=5"});
}

TEST_CASE("v2: the no-internal-process rule is said in plain words", "[cgctl][v2]") {
    V2Tree t;
    // Someone put a process straight into the boxkit parent.
    ::mkdir((t.root + "/boxkit").c_str(), 0755);
    put(t.root + "/boxkit/cgroup.controllers", "cpu io memory pids\n");
    put(t.root + "/boxkit/cgroup.subtree_control", "\n");
    put(t.root + "/boxkit/cgroup.procs", "4242\n");
    put(t.root + "/cgroup.subtree_control", "cpu io memory pids\n");
    auto b = t.backend();
    try {
        b->create("web", limits(64ull << 20, std::nullopt));
        FAIL("created a group under a parent holding a process");
    } catch (const bk::Error& e) {
        CHECK(e.err() == EBUSY);
        CHECK(e.hint().find("no-internal-process") != std::string::npos);
    }
    CHECK_FALSE(b->exists("web"));
}

TEST_CASE("v2: a process joins a leaf, never a group with children's controllers", "[cgctl][v2]") {
    V2Tree t;
    auto b = t.backend();
    b->create("web", {});
    b->attach("web", 4242);
    CHECK(b->members("web") == std::vector<pid_t>{4242});
    // The fake kernel refuses cgroup.procs of the boxkit parent, as Linux does.
    CHECK_THROWS_AS(t.kernel.write("join", t.root + "/boxkit/cgroup.procs", "4242"), bk::Error);
    CHECK_THROWS_AS(b->remove("web"), bk::Error);  // busy
    put(t.root + "/boxkit/web/cgroup.procs", "");
    b->remove("web");
    CHECK_FALSE(b->exists("web"));
}

TEST_CASE("v2: a controller the kernel does not offer is an error only when a limit needs it", "[cgctl][v2]") {
    V2Tree t("cpu pids");  // like a hybrid machine's v2 tree with a few controllers moved over
    auto b = t.backend();
    CHECK_NOTHROW(b->create("plain", limits(std::nullopt, 5)));
    CHECK(words(slurp(t.root + "/cgroup.subtree_control")) == std::set<std::string>{"cpu", "pids"});
    try {
        b->create("hog", limits(64ull << 20, std::nullopt));
        FAIL("no error");
    } catch (const bk::Error& e) {
        CHECK(e.message().find("use the memory controller") != std::string::npos);
    }
}

TEST_CASE("v2: set brings a new controller down to an existing group", "[cgctl][v2]") {
    V2Tree t;
    auto b = t.backend();
    b->create("web", {});
    CHECK_FALSE(b->fs().exists(t.root + "/boxkit/web/io.weight"));
    Limits l;
    l.io_weight = 200;
    b->apply("web", l);
    CHECK(words(slurp(t.root + "/cgroup.subtree_control")).count("io"));
    CHECK(words(slurp(t.root + "/boxkit/cgroup.subtree_control")).count("io"));
    CHECK(slurp(t.root + "/boxkit/web/io.weight") == "default 200\n");
}

TEST_CASE("v2: usage, freeze and kill read and write the right files", "[cgctl][v2]") {
    V2Tree t;
    auto b = t.backend();
    Limits l;
    l.cpus = 0.5;
    b->create("web", l);
    std::string d = t.root + "/boxkit/web/";
    put(d + "memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\n");
    put(d + "memory.peak", "1048576\n");
    put(d + "cpu.stat", "usage_usec 250000\nnr_periods 10\nnr_throttled 8\nthrottled_usec 900000\n");
    put(d + "pids.events", "max 3\n");
    Usage u = b->usage("web");
    CHECK(u.oom_kills == 2u);
    CHECK(u.memory_limit_hits == 7u);
    CHECK(u.memory_peak == 1048576u);
    CHECK(u.memory_limit == k_unlimited);
    CHECK(u.cpu_usec == 250000u);
    CHECK(u.cpu_quota_usec == 50000u);
    CHECK(u.cpu_period_usec == 100000u);
    CHECK(u.nr_throttled == 8u);
    CHECK(u.pids_limit_hits == 3u);
    CHECK(u.frozen == false);
    b->set_frozen("web", true);
    CHECK(slurp(d + "cgroup.freeze") == "1\n");
    CHECK(b->kill_all("web"));
    CHECK(slurp(d + "cgroup.kill") == "1\n");
}

TEST_CASE("v2: a user's groups go under the delegated subtree", "[cgctl][v2]") {
    V2Tree t;
    std::string base = "user.slice/user-1000.slice/user@1000.service";
    for (std::string rel : {std::string("user.slice"), std::string("user.slice/user-1000.slice"), base}) {
        ::mkdir((t.root + "/" + rel).c_str(), 0755);
        put(t.root + "/" + rel + "/cgroup.controllers", "cpu memory pids\n");
        put(t.root + "/" + rel + "/cgroup.subtree_control", "cpu memory pids\n");
        put(t.root + "/" + rel + "/cgroup.procs", "");
    }
    auto b = make_v2_backend(t.kernel, t.root, base, base + "/boxkit");
    b->create("web", limits(std::nullopt, 3));
    CHECK(slurp(t.root + "/" + base + "/boxkit/web/pids.max") == "3\n");
    // Nothing above the delegated subtree was written.
    for (const auto& w : t.kernel.writes) CHECK(w.rfind("/" + base, 0) == 0);
}

TEST_CASE("v1 (hybrid): one directory per hierarchy; the v2 tree is left alone", "[cgctl][v1]") {
    V1Tree t;
    auto b = t.backend();
    Limits l = limits(64ull << 20, 10);
    l.cpus = 0.2;
    b->create("web", l);
    CHECK(slurp(t.top + "/memory/boxkit/web/memory.limit_in_bytes") == "67108864\n");
    CHECK(slurp(t.top + "/pids/boxkit/web/pids.max") == "10\n");
    CHECK(slurp(t.top + "/cpu/boxkit/web/cpu.cfs_quota_us") == "20000\n");
    CHECK(slurp(t.top + "/cpu/boxkit/web/cpu.cfs_period_us") == "100000\n");
    for (const char* c : {"cpuacct", "freezer"}) CHECK(b->fs().exists(t.top + "/" + c + "/boxkit/web"));
    CHECK_FALSE(b->fs().exists(t.top + "/cpuset/boxkit"));  // no --cpuset, no cpuset group
    CHECK(slurp(t.top + "/unified/cgroup.subtree_control") == "\n");
    CHECK_FALSE(b->fs().exists(t.top + "/unified/boxkit"));
    CHECK(b->path("web") == t.top + "/memory/boxkit/web");

    b->attach("web", 4242);
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"})
        CHECK(slurp(t.top + "/" + c + "/boxkit/web/cgroup.procs") == "4242\n");
    CHECK(b->members("web") == std::vector<pid_t>{4242});
    CHECK_THROWS_AS(b->remove("web"), bk::Error);
}

TEST_CASE("v1: a new cpuset gets its parent's CPUs and memory nodes before anyone joins", "[cgctl][v1]") {
    V1Tree t;
    auto b = t.backend();
    Limits l;
    l.cpuset = "1";
    b->create("pinned", l);
    CHECK(slurp(t.top + "/cpuset/boxkit/cpuset.cpus") == "0-1\n");
    CHECK(slurp(t.top + "/cpuset/boxkit/cpuset.mems") == "0\n");
    CHECK(slurp(t.top + "/cpuset/boxkit/pinned/cpuset.cpus") == "1\n");
    CHECK(slurp(t.top + "/cpuset/boxkit/pinned/cpuset.mems") == "0\n");
    CHECK_NOTHROW(b->attach("pinned", 4242));
}

TEST_CASE("v1: raising memory above memory+swap writes memsw first", "[cgctl][v1]") {
    V1Tree t;
    auto b = t.backend();
    Limits l;
    l.memory = 64ull << 20;
    l.memory_swap = 128ull << 20;
    b->create("web", l);
    CHECK(slurp(t.top + "/memory/boxkit/web/memory.memsw.limit_in_bytes") == "134217728\n");
    l.memory = 256ull << 20;
    l.memory_swap = 512ull << 20;
    b->apply("web", l);
    CHECK(slurp(t.top + "/memory/boxkit/web/memory.limit_in_bytes") == "268435456\n");
    CHECK(slurp(t.top + "/memory/boxkit/web/memory.memsw.limit_in_bytes") == "536870912\n");
}

TEST_CASE("v1: usage reads v1's own counters and units", "[cgctl][v1]") {
    V1Tree t;
    auto b = t.backend();
    b->create("web", limits(64ull << 20, std::nullopt));
    put(t.top + "/memory/boxkit/web/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    put(t.top + "/memory/boxkit/web/memory.max_usage_in_bytes", "33554432\n");
    put(t.top + "/cpuacct/boxkit/web/cpuacct.usage", "421524000\n");  // nanoseconds
    put(t.top + "/cpu/boxkit/web/cpu.stat", "nr_periods 21\nnr_throttled 20\nthrottled_time 1210114000\n");
    put(t.top + "/freezer/boxkit/web/freezer.state", "FROZEN\n");
    Usage u = b->usage("web");
    CHECK(u.oom_kills == 1u);
    CHECK(u.memory_peak == 33554432u);
    CHECK(u.memory_limit == 67108864u);
    CHECK(u.cpu_usec == 421524u);
    CHECK(u.throttled_usec == 1210114u);
    CHECK(u.cpu_quota_usec == k_unlimited);
    CHECK(u.pids_limit == k_unlimited);
    CHECK(u.frozen == true);
    b->set_frozen("web", false);
    CHECK(slurp(t.top + "/freezer/boxkit/web/freezer.state") == "THAWED\n");
    CHECK_FALSE(b->kill_all("web"));  // v1 has no cgroup.kill: the caller kills one by one
}

TEST_CASE("v1: a limit whose hierarchy is not mounted says how to mount it", "[cgctl][v1]") {
    V1Tree t;
    t.layout.v1_mounts.erase("pids");
    auto b = t.backend();
    try {
        b->create("web", limits(std::nullopt, 5));
        FAIL("no error");
    } catch (const bk::Error& e) {
        CHECK(e.hint().find("mount -t cgroup -o pids") != std::string::npos);
    }
}

TEST_CASE("remove_when_empty and kill_members on an empty group", "[cgctl]") {
    V2Tree t;
    auto b = t.backend();
    b->create("web", {});
    kill_members(*b, "web");
    remove_when_empty(*b, "web");
    CHECK_FALSE(b->exists("web"));
    CHECK(b->groups().empty());
}

TEST_CASE("a limit the kernel refuses leaves no half-made group", "[cgctl][v1]") {
    V1Tree t;  // no blkio hierarchy here
    auto b = t.backend();
    Limits l = limits(64ull << 20, std::nullopt);
    l.io_weight = 200;
    CHECK_THROWS_AS(b->create("web", l), bk::Error);
    CHECK_FALSE(b->exists("web"));
    for (const char* c : {"memory", "pids", "cpu", "cpuacct", "freezer"})
        CHECK_FALSE(b->fs().exists(t.top + "/" + c + "/boxkit/web"));
}
