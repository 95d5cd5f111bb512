// Choosing the backend, and what every command does the same way on both
// versions: finding where boxkit's groups may go, killing a group's members,
// removing a group once it is empty, and marking transient groups.
#include "backend.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "boxes.hpp"
#include "error.hpp"
#include "explain.hpp"

namespace bk::cgctl {

namespace {

const char* const k_owner_xattr = "user.boxkit.owner";

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A user may make groups where the tree is theirs: systemd hands each user
// user@UID.service (chowned to them) when it delegates. The highest group on
// our own path that we own and may add processes to is that subtree.
std::string delegated_base(const std::string& mount) {
    std::string own = own_v2_cgroup(read_text("/proc/self/cgroup"));
    std::string best;
    std::string rel = own;
    while (!rel.empty() && rel != "/") {
        std::string dir = mount + rel;
        struct stat st {};
        if (::stat(dir.c_str(), &st) == 0 && st.st_uid == ::geteuid() &&
            ::access((dir + "/cgroup.procs").c_str(), W_OK) == 0 &&
            ::access((dir + "/cgroup.subtree_control").c_str(), W_OK) == 0)
            best = rel;
        rel = rel.substr(0, rel.rfind('/'));
    }
    if (best.empty())
        throw Error("find a cgroup subtree delegated to you (uid " + std::to_string(::geteuid()) + ") under " + mount +
                        own,
                    "", EACCES,
                    "only root may make groups at the top; as a user, start cgctl in a delegated scope: "
                    "systemd-run --user --scope -p Delegate=yes cgctl ...");
    return best.substr(1);  // relative to the mount
}

} // namespace

std::unique_ptr<Backend> open_backend() {
    Layout layout = detect_layout();
    if (layout.version() == Version::v2) {
        std::string base = ::geteuid() == 0 ? "" : delegated_base(layout.v2_mount);
        std::string parent = base.empty() ? "boxkit" : base + "/boxkit";
        return make_v2_backend(real_fs(), layout.v2_mount, base, parent);
    }
    if (::geteuid() != 0)
        throw Error("make cgroups as uid " + std::to_string(::geteuid()) + " on " + kind_name(layout.kind), "", EPERM,
                    "cgroup v1 has no safe delegation to users: run cgctl as root, or boot with cgroup v2 "
                    "(systemd.unified_cgroup_hierarchy=1)");
    return make_v1_backend(real_fs(), layout, "boxkit");
}

// A killed cgctl whose parent has not reaped it yet is a zombie: its pid
// and start time are still there, but it will clean up nothing.
static bool is_zombie(pid_t pid) {
    std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    return close != std::string::npos && close + 2 < stat.size() && (stat[close + 2] == 'Z' || stat[close + 2] == 'X');
}

// The pid namespace we run in: a pid means something only inside its own.
static unsigned long long pid_namespace() {
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? st.st_ino : 0;
}

void mark_transient(Backend& b, const std::string& name, pid_t owner) {
    auto start = boxes::process_start_time(owner);
    try {
        b.fs().set_xattr("remember which cgctl owns this transient group, so 'cgctl gc' can tell a leftover",
                         b.path(name), k_owner_xattr,
                         std::to_string(owner) + " " + std::to_string(start.value_or(0)) + " " +
                             std::to_string(pid_namespace()));
    } catch (const Error& e) {
        // Older kernels keep no xattrs on cgroupfs; gc then cannot tell.
        detail("cannot mark the group as transient: " + e.message());
    }
}

bool is_abandoned(const Backend& b, const std::string& name) {
    auto mark = b.fs().get_xattr(b.path(name), k_owner_xattr);
    if (!mark) return false;
    std::istringstream in(*mark);
    long pid = 0;
    unsigned long long start = 0, ns = 0;
    if (!(in >> pid >> start) || pid <= 0) return false;  // not ours to judge
    // Made by a cgctl in another pid namespace: its pid names nobody here,
    // so we cannot tell; leave it to a gc run in that namespace.
    if ((in >> ns) && ns != pid_namespace()) return false;
    auto now = boxes::process_start_time(pid_t(pid));
    return !now || *now != start || is_zombie(pid_t(pid));
}

void kill_members(Backend& b, const std::string& name) {
    using namespace std::chrono_literals;
    if (b.members(name).empty()) return;
    if (!b.kill_all(name)) {
        // Freeze first: a process that forks while we kill it would make a
        // new member we have not seen yet. SIGKILL reaches frozen processes
        // and takes effect as they thaw.
        bool freeze = b.can_freeze();
        if (freeze) b.set_frozen(name, true);
        for (int round = 0; round < 100; ++round) {
            auto pids = b.members(name);
            if (pids.empty()) break;
            for (pid_t p : pids) {
                explain("kill a process left in the group", "kill(" + std::to_string(p) + ", SIGKILL)");
                ::kill(p, SIGKILL);
            }
            if (freeze && round == 0) b.set_frozen(name, false);
            std::this_thread::sleep_for(10ms);
        }
        if (freeze) {
            try {
                b.set_frozen(name, false);
            } catch (const Error&) {
            }
        }
    }
    for (int i = 0; i < 500 && !b.members(name).empty(); ++i) std::this_thread::sleep_for(10ms);
    if (!b.members(name).empty())
        throw Error("empty the group " + name, "", EBUSY, "a process in it does not die (stuck in the kernel?); see " + b.path(name));
}

void remove_when_empty(Backend& b, const std::string& name) {
    using namespace std::chrono_literals;
    // A process that has just exited leaves the group a moment later.
    for (int i = 0;; ++i) {
        try {
            b.remove(name);
            return;
        } catch (const Error& e) {
            if (e.err() != EBUSY || i >= 300) throw;
        }
        std::this_thread::sleep_for(10ms);
    }
}

} // namespace bk::cgctl
