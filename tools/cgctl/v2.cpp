// cgroup v2: one tree, one directory per group. Two rules shape the code:
//
// - Controllers flow down: a group has a controller only when its parent
//   lists it in cgroup.subtree_control, so cgctl enables what it needs in
//   every parent, top-down, from the first group it may write.
// - No internal processes: a group (other than the root) that hands
//   controllers to children may not hold processes itself. So the boxkit
//   parent never holds one; each process lives in a leaf.
//
// See Documentation/admin-guide/cgroup-v2.rst ("Top-down constraint",
// "No internal process constraint", "Delegation").
#include <algorithm>
#include <sstream>

#include "backend.hpp"
#include "error.hpp"

namespace bk::cgctl {

namespace {

// The controllers cgctl turns on for every group, so stats can count them,
// when the kernel offers them; the limits' own controllers are required.
const char* const k_stat_controllers[] = {"memory", "pids", "cpu"};

std::vector<std::string> words(const std::optional<std::string>& text) {
    std::vector<std::string> out;
    if (!text) return out;
    std::istringstream in(*text);
    std::string w;
    while (in >> w) out.push_back(w);
    return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

class V2 : public Backend {
public:
    V2(Fs& fs, std::string mount, std::string base, std::string parent)
        : Backend(fs), mount_(std::move(mount)), base_(std::move(base)), parent_(std::move(parent)) {}

    Version version() const override { return Version::v2; }
    std::string path(const std::string& name) const override { return parent_path() + "/" + name; }
    std::string parent_path() const override { return mount_ + "/" + parent_; }
    bool exists(const std::string& name) const override { return fs().exists(path(name)); }

    void create(const std::string& name, const Limits& limits) override {
        ensure_parent(limits);
        try {
            fs().mkdir("make the group " + name, path(name));
        } catch (Error& e) {
            if (e.err() == EEXIST) e.with_hint("change it with 'cgctl set " + name + "', or remove it with 'cgctl rm " + name + "'");
            throw;
        }
        // All or nothing: a limit the kernel refuses leaves no half-made group.
        or_undo(name, [&] { apply(name, limits); });
    }

    void apply(const std::string& name, const Limits& limits) override {
        // A limit whose controller the parent does not pass down yet.
        enable_down(limits.controllers(), {});
        for (const auto& s : settings_for(Version::v2, limits)) {
            std::string file = path(name) + "/" + s.file;
            if (!fs().exists(file))
                throw Error(s.why, "", ENOENT,
                            "the kernel offers no " + s.file + " in " + path(name) + "; the " + s.controller +
                                " controller is missing there, or the kernel is too old for it");
            fs().write(s.why + " [" + s.file + "]", file, s.value);
        }
    }

    void attach(const std::string& name, pid_t pid) override {
        try {
            fs().write("move process " + std::to_string(pid) + " into the group", path(name) + "/cgroup.procs",
                       std::to_string(pid));
        } catch (Error& e) {
            if (e.err() == EBUSY)
                e.with_hint("the no-internal-process rule: " + path(name) +
                            " hands controllers to child groups, so it may not hold processes; use a leaf group");
            throw;
        }
    }

    std::vector<pid_t> members(const std::string& name) const override {
        return parse_pids(fs().read(path(name) + "/cgroup.procs"));
    }

    void remove(const std::string& name) override { fs().rmdir("remove the group " + name, path(name)); }

    bool can_freeze() const override { return true; }
    void set_frozen(const std::string& name, bool frozen) override {
        std::string file = path(name) + "/cgroup.freeze";
        if (!fs().exists(file))
            throw Error(frozen ? "freeze " + name : "thaw " + name, "", ENOENT, "the v2 freezer needs Linux 5.2 or later");
        fs().write(frozen ? "stop every process in the group where it stands" : "let the group's processes run again",
                   file, frozen ? "1" : "0");
    }
    std::optional<bool> frozen(const std::string& name) const override {
        auto v = keyed_value(fs().read(path(name) + "/cgroup.events"), "frozen");
        if (!v) return std::nullopt;
        return *v == 1;
    }

    bool kill_all(const std::string& name) override {
        std::string file = path(name) + "/cgroup.kill";
        if (!fs().exists(file)) return false;  // before Linux 5.14
        fs().write("kill every process in the group at once", file, "1");
        return true;
    }

    Usage usage(const std::string& name) const override {
        std::string d = path(name) + "/";
        Usage u;
        u.memory_current = parse_number(fs().read(d + "memory.current"));
        u.memory_peak = parse_number(fs().read(d + "memory.peak"));  // Linux 5.19+
        u.memory_limit = parse_number(fs().read(d + "memory.max"));
        u.swap_limit = parse_number(fs().read(d + "memory.swap.max"));
        auto cpu = fs().read(d + "cpu.stat");
        u.cpu_usec = keyed_value(cpu, "usage_usec");
        u.nr_periods = keyed_value(cpu, "nr_periods");
        u.nr_throttled = keyed_value(cpu, "nr_throttled");
        u.throttled_usec = keyed_value(cpu, "throttled_usec");
        auto max = words(fs().read(d + "cpu.max"));  // "max 100000" or "20000 100000"
        if (max.size() == 2) {
            u.cpu_quota_usec = parse_number(max[0]);
            u.cpu_period_usec = parse_number(max[1]);
        }
        u.pids_current = parse_number(fs().read(d + "pids.current"));
        u.pids_peak = parse_number(fs().read(d + "pids.peak"));
        u.pids_limit = parse_number(fs().read(d + "pids.max"));
        auto mem_events = fs().read(d + "memory.events");
        u.oom_kills = keyed_value(mem_events, "oom_kill");
        u.memory_limit_hits = keyed_value(mem_events, "max");
        u.pids_limit_hits = keyed_value(fs().read(d + "pids.events"), "max");
        u.frozen = frozen(name);
        u.members = members(name).size();
        return u;
    }

    std::vector<std::string> groups() const override { return fs().subdirs(parent_path()); }

    std::vector<std::string> event_files(const std::string& name) const override {
        return {path(name) + "/memory.events", path(name) + "/pids.events", path(name) + "/cgroup.events"};
    }

private:
    // Make base/.../boxkit and let each level pass the controllers down.
    void ensure_parent(const Limits& limits) {
        enable_down(limits.controllers(), {std::begin(k_stat_controllers), std::end(k_stat_controllers)});
    }

    // Walk from the writable base down to the boxkit parent: at each level
    // enable the controllers in subtree_control (so the next level has them),
    // then make the next level if it is missing.
    void enable_down(const std::vector<std::string>& required, const std::vector<std::string>& wanted) {
        std::vector<std::string> levels;  // paths from base to parent, inclusive
        std::string rel = base_;
        levels.push_back(rel);
        std::string rest = parent_.substr(base_.empty() ? 0 : base_.size() + 1);
        std::istringstream parts(rest);
        std::string part;
        while (std::getline(parts, part, '/')) {
            if (part.empty()) continue;
            rel = rel.empty() ? part : rel + "/" + part;
            levels.push_back(rel);
        }
        for (size_t i = 0; i < levels.size(); ++i) {
            std::string dir = levels[i].empty() ? mount_ : mount_ + "/" + levels[i];
            fs().mkdir_if_missing("make the parent group that holds boxkit's groups", dir);
            enable_controllers(dir, levels[i].empty(), required, wanted);
        }
    }

    void enable_controllers(const std::string& dir, bool is_root, const std::vector<std::string>& required,
                            const std::vector<std::string>& wanted) {
        auto available = words(fs().read(dir + "/cgroup.controllers"));
        auto enabled = words(fs().read(dir + "/cgroup.subtree_control"));
        std::string add;
        for (const auto& c : required) {
            if (!contains(available, c))
                throw Error("use the " + c + " controller in " + dir, "", 0,
                            is_root ? "the kernel does not offer it in v2; on a hybrid machine it is bound to a v1 "
                                      "hierarchy (cgctl then uses v1)"
                                    : "its parent does not pass it down; as a user, ask for it with "
                                      "'systemd-run --user -p Delegate=yes --scope cgctl ...'");
            if (!contains(enabled, c)) add += (add.empty() ? "+" : " +") + c;
        }
        for (const auto& c : wanted)
            if (contains(available, c) && !contains(enabled, c) && !contains(required, c))
                add += (add.empty() ? "+" : " +") + c;
        if (add.empty()) return;
        // The rule the kernel enforces with EBUSY, said first in plain words.
        if (!is_root && !parse_pids(fs().read(dir + "/cgroup.procs")).empty())
            throw Error("enable " + add + " in " + dir + "/cgroup.subtree_control", "", EBUSY,
                        "the no-internal-process rule: a group that passes controllers to children may not hold "
                        "processes itself; move them to a leaf group first");
        fs().write("let the groups below " + dir + " use " + add, dir + "/cgroup.subtree_control", add);
    }

    std::string mount_, base_, parent_;
};

} // namespace

std::unique_ptr<Backend> make_v2_backend(Fs& fs, const std::string& mount, const std::string& writable_base,
                                         const std::string& parent) {
    return std::make_unique<V2>(fs, mount, writable_base, parent);
}

} // namespace bk::cgctl
