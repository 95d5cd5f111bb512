// cgroup v1: one tree ("hierarchy") per controller, each its own mount
// (/sys/fs/cgroup/memory, /sys/fs/cgroup/pids, ...; some machines mount
// cpu and cpuacct together). A group is a directory of the same name in
// each tree, and a process joins it by writing its pid into each tree's
// cgroup.procs: the trees know nothing of each other. There is no
// subtree_control and no internal-process rule, but two quirks:
//
// - a new cpuset group starts with no CPUs and no memory nodes, and nobody
//   can join it until both are filled in (copied from the parent here);
// - memory.memsw.limit_in_bytes (memory+swap) may never be below
//   memory.limit_in_bytes, so the order of the two writes matters.
//
// See Documentation/admin-guide/cgroup-v1/ (cgroups.rst, memory.rst,
// cpusets.rst, freezer-subsystem.rst, pids.rst, blkio-controller.rst).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "backend.hpp"
#include "error.hpp"
#include "explain.hpp"

namespace bk::cgctl {

namespace {

// The trees every group joins (so stats can count it and freeze works),
// when mounted; cpuset and blkio only when a limit needs them.
const char* const k_always[] = {"memory", "pids", "cpu", "cpuacct", "freezer"};

// Limits name the v2 controller; v1 calls the io controller blkio.
std::string v1_controller(const std::string& c) { return c == "io" ? "blkio" : c; }

class V1 : public Backend {
public:
    V1(Fs& fs, const Layout& layout, std::string parent) : Backend(fs), mounts_(layout.v1_mounts), parent_(std::move(parent)) {}

    Version version() const override { return Version::v1; }

    std::string path(const std::string& name) const override { return dir(main_controller(), name); }
    std::string parent_path() const override { return mounts_.at(main_controller()) + "/" + parent_; }
    bool exists(const std::string& name) const override { return !trees_of(name).empty(); }

    void create(const std::string& name, const Limits& limits) override {
        if (exists(name))
            throw Error("make the group " + name, "mkdir(" + quote(path(name)) + ")", EEXIST,
                        "change it with 'cgctl set " + name + "', or remove it with 'cgctl rm " + name + "'");
        or_undo(name, [&] {
            for (const auto& c : wanted(limits)) join_tree(c, name);
        });
        // All or nothing: a limit the kernel refuses leaves no half-made group.
        or_undo(name, [&] { apply(name, limits); });
    }

    void apply(const std::string& name, const Limits& limits) override {
        for (const auto& c : limits.controllers()) {
            std::string v1 = v1_controller(c);
            if (!mounts_.count(v1))
                throw Error("use the " + v1 + " controller", "", 0,
                            "no v1 " + v1 + " hierarchy is mounted; mount it: mkdir /sys/fs/cgroup/" + v1 +
                                " && mount -t cgroup -o " + v1 + " cgroup /sys/fs/cgroup/" + v1);
            // `cgctl set` may bring a tree the group is not in yet: make it
            // there and move its members in, so the limit covers them.
            if (!fs().exists(dir(v1, name))) {
                auto pids = members(name);
                join_tree(v1, name);
                for (pid_t p : pids) write_procs(v1, name, p);
            }
        }
        auto settings = settings_for(Version::v1, limits);
        for (size_t i = 0; i < settings.size(); ++i) {
            const auto& s = settings[i];
            std::string file = dir(v1_controller(s.controller), name) + "/" + s.file;
            if (!fs().exists(file))
                throw Error(s.why, "", ENOENT,
                            "the kernel offers no " + s.file + " here" +
                                (s.file == "blkio.weight" ? " (it needs the CFQ or BFQ I/O scheduler)"
                                 : s.file.starts_with("memory.memsw") ? " (swap accounting is off: boot with swapaccount=1)"
                                                                      : ""));
            try {
                fs().write(s.why + " [" + s.file + "]", file, s.value);
            } catch (const Error& e) {
                // Raising memory above the old memory+swap limit: the kernel
                // wants memsw raised first. Write it now, then this again.
                bool memsw_next = i + 1 < settings.size() && settings[i + 1].file == "memory.memsw.limit_in_bytes";
                if (e.err() != EINVAL || s.file != "memory.limit_in_bytes" || !memsw_next) throw;
                const auto& next = settings[i + 1];
                fs().write(next.why + " [" + next.file + "] first: it may never be below memory.limit_in_bytes",
                           dir("memory", name) + "/" + next.file, next.value);
                fs().write(s.why + " [" + s.file + "]", file, s.value);
            }
        }
    }

    void attach(const std::string& name, pid_t pid) override {
        bool self = pid == ::getpid() && single_threaded();
        for (const auto& c : trees_of(name)) {
            if (self) write_self(c, name);
            else write_procs(c, name, pid);
        }
    }

    std::vector<pid_t> members(const std::string& name) const override {
        std::set<pid_t> all;
        for (const auto& c : trees_of(name))
            for (pid_t p : parse_pids(fs().read(dir(c, name) + "/cgroup.procs"))) all.insert(p);
        return {all.begin(), all.end()};
    }

    void remove(const std::string& name) override {
        auto trees = trees_of(name);
        // The main tree last: a group is "there" as long as it exists.
        std::stable_partition(trees.begin(), trees.end(), [&](auto& c) { return c != main_controller(); });
        for (const auto& c : trees) fs().rmdir("remove the group " + name + " from the " + c + " tree", dir(c, name));
    }

    bool can_freeze() const override { return mounts_.count("freezer") > 0; }
    void set_frozen(const std::string& name, bool frozen) override {
        if (!fs().exists(dir("freezer", name)))
            throw Error(frozen ? "freeze " + name : "thaw " + name, "", ENOENT, "no v1 freezer hierarchy holds this group");
        fs().write(frozen ? "stop every process in the group where it stands" : "let the group's processes run again",
                   dir("freezer", name) + "/freezer.state", frozen ? "FROZEN" : "THAWED");
    }
    std::optional<bool> frozen(const std::string& name) const override {
        auto state = fs().read(dir("freezer", name) + "/freezer.state");
        if (!state) return std::nullopt;
        // FREEZING counts as not yet frozen: the caller waits for FROZEN.
        return state->rfind("FROZEN", 0) == 0;
    }

    bool kill_all(const std::string&) override { return false; }  // v1 has no cgroup.kill

    Usage usage(const std::string& name) const override {
        Usage u;
        std::string mem = dir("memory", name) + "/", cpu = dir("cpu", name) + "/", pids = dir("pids", name) + "/";
        u.memory_current = parse_number(fs().read(mem + "memory.usage_in_bytes"));
        u.memory_peak = parse_number(fs().read(mem + "memory.max_usage_in_bytes"));
        u.memory_limit = unlimited_if_huge(parse_number(fs().read(mem + "memory.limit_in_bytes")));
        u.swap_limit = unlimited_if_huge(parse_number(fs().read(mem + "memory.memsw.limit_in_bytes")));
        u.memory_limit_hits = parse_number(fs().read(mem + "memory.failcnt"));
        u.oom_kills = keyed_value(fs().read(mem + "memory.oom_control"), "oom_kill");
        // cpuacct counts nanoseconds; cgctl reports microseconds, as v2 does.
        if (auto ns = parse_number(fs().read(dir("cpuacct", name) + "/cpuacct.usage"))) u.cpu_usec = *ns / 1000;
        auto stat = fs().read(cpu + "cpu.stat");
        u.nr_periods = keyed_value(stat, "nr_periods");
        u.nr_throttled = keyed_value(stat, "nr_throttled");
        if (auto ns = keyed_value(stat, "throttled_time")) u.throttled_usec = *ns / 1000;
        auto quota = fs().read(cpu + "cpu.cfs_quota_us");
        if (quota && quota->rfind("-1", 0) == 0) u.cpu_quota_usec = k_unlimited;
        else u.cpu_quota_usec = parse_number(quota);
        u.cpu_period_usec = parse_number(fs().read(cpu + "cpu.cfs_period_us"));
        u.pids_current = parse_number(fs().read(pids + "pids.current"));
        u.pids_peak = parse_number(fs().read(pids + "pids.peak"));
        u.pids_limit = parse_number(fs().read(pids + "pids.max"));
        u.pids_limit_hits = keyed_value(fs().read(pids + "pids.events"), "max");
        u.frozen = frozen(name);
        u.members = members(name).size();
        return u;
    }

    std::vector<std::string> groups() const override { return fs().subdirs(parent_path()); }

    std::vector<std::string> event_files(const std::string& name) const override {
        return {dir("memory", name) + "/memory.oom_control", dir("pids", name) + "/pids.events"};
    }

private:
    // The tree people look at, and whose directory means "the group exists".
    std::string main_controller() const {
        for (const char* c : {"memory", "pids", "cpu", "freezer"})
            if (mounts_.count(c)) return c;
        return mounts_.begin()->first;
    }

    std::string dir(const std::string& controller, const std::string& name) const {
        auto m = mounts_.find(controller);
        if (m == mounts_.end()) return "/nonexistent/" + controller;
        return m->second + "/" + parent_ + "/" + name;
    }

    std::vector<std::string> wanted(const Limits& limits) const {
        std::vector<std::string> out;
        for (const char* c : k_always)
            if (mounts_.count(c)) out.push_back(c);
        for (const auto& c : limits.controllers()) {
            std::string v1 = v1_controller(c);
            if (std::find(out.begin(), out.end(), v1) == out.end()) out.push_back(v1);
        }
        return out;
    }

    // The trees the group is in, one controller per mount (cpu,cpuacct
    // mounted together are one tree).
    std::vector<std::string> trees_of(const std::string& name) const {
        std::vector<std::string> out;
        std::set<std::string> seen;
        for (const auto& [c, mount] : mounts_)
            if (seen.insert(mount).second && fs().exists(dir(c, name))) out.push_back(c);
        return out;
    }

    void join_tree(const std::string& c, const std::string& name) {
        if (!mounts_.count(c)) return;
        std::string parent = mounts_.at(c) + "/" + parent_;
        fs().mkdir_if_missing("make the parent group that holds boxkit's groups in the " + c + " tree", parent);
        if (c == "cpuset") fill_cpuset(mounts_.at(c), parent);  // does nothing once filled
        std::string d = dir(c, name);
        if (fs().exists(d)) return;  // cpu and cpuacct mounted together
        fs().mkdir("make the group " + name + " in the " + c + " tree", d);
        if (c == "cpuset") fill_cpuset(parent, d);
    }

    // A v1 cpuset starts empty: give it its parent's CPUs and memory nodes.
    void fill_cpuset(const std::string& from, const std::string& to) {
        for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
            auto cur = fs().read(to + "/" + f);
            if (cur && cur->find_first_not_of(" \n") != std::string::npos) continue;
            auto value = fs().read(from + "/" + f).value_or("");
            while (!value.empty() && value.back() == '\n') value.pop_back();
            fs().write(std::string("a new v1 cpuset is empty: give it its parent's ") + f, to + "/" + f, value);
        }
    }

    // Moving a whole process (cgroup.procs) takes the kernel's cgroup-wide
    // lock for writing, which first waits out an RCU grace period: 9-13 ms
    // here when the machine was idle. Moving just the calling thread
    // ("0" into tasks) needs no such lock (Linux 6.1+; older kernels take
    // it anyway), and for a process of one thread it is the same move.
    void write_self(const std::string& c, const std::string& name) {
        fs().write("move this process (its only thread) into the group in the " + c + " tree",
                   dir(c, name) + "/tasks", "0");
    }

    static bool single_threaded() {
        struct stat st {};  // /proc/self/task holds one directory per thread
        return ::stat("/proc/self/task", &st) == 0 && st.st_nlink == 3;
    }

    void write_procs(const std::string& c, const std::string& name, pid_t pid) {
        fs().write("move process " + std::to_string(pid) + " into the group in the " + c + " tree",
                   dir(c, name) + "/cgroup.procs", std::to_string(pid));
    }

    // v1 says "no limit" with the largest page-aligned number it can hold.
    static std::optional<uint64_t> unlimited_if_huge(std::optional<uint64_t> v) {
        if (v && *v >= (1ull << 62)) return k_unlimited;
        return v;
    }

    std::map<std::string, std::string> mounts_;
    std::string parent_;
};

} // namespace

std::unique_ptr<Backend> make_v1_backend(Fs& fs, const Layout& layout, const std::string& parent) {
    return std::make_unique<V1>(fs, layout, parent);
}

} // namespace bk::cgctl
