// cgctl run [--name NAME] LIMITS -- COMMAND: a transient group, like
// `systemd-run --scope` or the cgroup `docker run` makes. The steps:
//
//   1. make the group with its limits, and mark it as ours (for `gc`)
//   2. fork; the child asks to die with us (PR_SET_PDEATHSIG), joins the
//      group, and execs the command: everything it forks is counted too.
//      (cgroup v2: the child is born in the group instead, clone_into)
//   3. forward the signals we get to it, and wait for it
//   4. kill whatever it left running in the group (the box ends with it)
//   5. read what the group used, report it, remove the group
//   6. exit the way the command did
//
// If cgctl itself is SIGKILLed, the kernel kills the command (step 2); what
// the command forked may stay, and `cgctl gc` removes it and the group.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "backend.hpp"
#include "cgctl.hpp"
#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "process.hpp"
#include "stats.hpp"
#include "sys.hpp"

namespace bk::cgctl {

namespace {

// Removes the transient group however run() ends (an error included).
class TransientGroup {
public:
    TransientGroup(Backend& b, std::string name) : b_(b), name_(std::move(name)) {}
    TransientGroup(const TransientGroup&) = delete;
    TransientGroup& operator=(const TransientGroup&) = delete;
    ~TransientGroup() {
        if (done_) return;
        try {
            finish();
        } catch (const Error& e) {
            report(e);
        }
    }
    // Kill what is left, then rmdir. `emptied`: kill_members has just
    // found the group empty, so first try the rmdir alone (reading every
    // tree's cgroup.procs again cost a box 0.05 ms); a process that joined
    // since makes it fail, and is killed as before.
    void finish(bool emptied = false) {
        done_ = true;
        if (emptied) {
            try {
                b_.remove(name_);
                return;
            } catch (const Error& e) {
                if (e.err() != EBUSY) throw;
            }
        }
        kill_members(b_, name_);
        remove_when_empty(b_, name_);
    }

private:
    Backend& b_;
    std::string name_;
    bool done_ = false;
};

// Moving a running process into a group (writing cgroup.procs) takes the
// kernel's cgroup-wide lock for writing, which first waits out an RCU grace
// period: milliseconds, most of cgctl run's time. On cgroup v2 (Linux 5.7+)
// clone3(CLONE_INTO_CGROUP) starts the child inside the group instead, the
// way crun does. Returns the pid, 0 in the child, or -1 when the kernel
// cannot (v1, an old kernel, no permission): the caller forks and moves.
pid_t clone_into(Backend& b, const std::string& name) {
    if (b.version() != Version::v2) return -1;
    std::string dir = b.path(name);
    Fd group(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!group) return -1;
    struct {  // struct clone_args of <linux/sched.h>, up to cgroup (Linux 5.7)
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
    } args{};
    const uint64_t k_clone_into_cgroup = 0x200000000ULL;
    args.flags = k_clone_into_cgroup;
    args.exit_signal = SIGCHLD;
    args.cgroup = uint64_t(group.get());
    std::string call = "clone3({flags=CLONE_INTO_CGROUP, exit_signal=SIGCHLD, cgroup=" + std::to_string(group.get()) +
                       " /* " + dir + " */})";
    explain("start the command in its own process, born inside the group", call);
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) detail("clone3 into the group failed (" + errno_name(errno) + "); fork and move instead");
    return pid_t(pid);
}

[[noreturn]] void child(Backend& b, const std::string& name, pid_t parent, const std::vector<std::string>& command,
                        bool in_group) {
    try {
        // Die with cgctl: if it is killed, nothing it started runs on
        // unlimited and unwatched. The check closes the race with a parent
        // that died before the prctl.
        explain("die if cgctl dies", "prctl(PR_SET_PDEATHSIG, SIGKILL)");
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) throw_errno("die if cgctl dies", "prctl(PR_SET_PDEATHSIG, SIGKILL)");
        if (::getppid() != parent) ::_exit(EXIT_TOOL_FAILED);
        restore_signals();
        if (!in_group) b.attach(name, ::getpid());
        exec_command(command);
    } catch (const Error& e) {
        report(e);
        ::_exit(e.exit_code());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot go on: %s\n", tool_name().c_str(), e.what());
        ::_exit(EXIT_TOOL_FAILED);
    }
}

} // namespace

int run(const Options& o) {
    if (o.command.empty())
        throw Error("run nothing", "", 0, "give the command after --: cgctl run --memory 64Mi -- /bin/sh");
    std::string name = o.name.empty() ? "run-" + std::to_string(::getpid()) : o.name;
    check_name(name);
    auto b = open_backend();
    auto started = std::chrono::steady_clock::now();

    b->create(name, o.limits);                                  // 1
    TransientGroup group(*b, name);
    mark_transient(*b, name, ::getpid());

    pid_t parent = ::getpid();
    pid_t pid = clone_into(*b, name);                            // 2
    bool in_group = pid >= 0;
    if (!in_group) pid = sys::fork("start the command in its own process");
    Child cmd(pid);
    if (cmd.pid() == 0) child(*b, name, parent, o.command, in_group);

    forward_signals_to(cmd.pid());                               // 3
    int status = cmd.wait();
    restore_signals();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    kill_members(*b, name);                                      // 4
    if (!o.json && quiet() && o.report_file.empty()) {          // (nobody reads the usage)
        group.finish(true);
        exit_like(status);                                       // 6
    }
    Usage u = b->usage(name);                                    // 5
    group.finish();

    // A command that could not start (126/127/125 from the child) already
    // said why; the usage of nothing is no news.
    int code = exit_code_from_status(status);
    json j = usage_json(u);
    j["name"] = name;
    j["exit_code"] = code;
    j["wall_seconds"] = wall;
    j["cgroup_version"] = b->version() == Version::v2 ? 2 : 1;
    if (o.json) {
        std::fprintf(stderr, "%s\n", j.dump().c_str());
    } else if (!quiet()) {
        char head[64];
        std::snprintf(head, sizeof head, "exit %d after %.2f s", code, wall);
        std::fprintf(stderr, "%s: %s: %s; %s\n", tool_name().c_str(), name.c_str(), head, usage_summary(u).c_str());
    }
    if (!o.report_file.empty()) {
        std::ofstream out(o.report_file);
        out << j.dump(2) << "\n";
        if (!out) throw Error("write the report to " + o.report_file, "write(" + quote(o.report_file) + ")", errno);
    }
    exit_like(status);                                           // 6
}

} // namespace bk::cgctl
