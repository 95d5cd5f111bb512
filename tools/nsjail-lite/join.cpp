// `nsjail-lite exec NAME -- COMMAND`: docker exec. Join every namespace the
// box has of its own with setns(2), then its root and working directory,
// then run the command there. A PID namespace is the odd one: setns() into
// it moves only our future children, so we fork once more, and wait.
// See setns(2), nsenter(1).
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

#include "boxes.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "ns.hpp"
#include "nsjail_lite.hpp"
#include "process.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

namespace {

// The uid and gid the box's first process has, as seen from where we are.
std::pair<uid_t, gid_t> box_ids(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    uid_t uid = 0;
    gid_t gid = 0;
    while (std::getline(f, line)) {
        std::istringstream in(line.substr(line.find(':') + 1));
        if (line.rfind("Uid:", 0) == 0) in >> uid;
        if (line.rfind("Gid:", 0) == 0) in >> gid;
    }
    return {uid, gid};
}

} // namespace

int cmd_exec(const std::string& name, std::vector<std::string> command, bool clear_env,
             const std::vector<std::string>& env) {
    if (command.empty())
        throw Error("run nothing in box " + name, "", 0, "give the command: nsjail-lite exec " + name + " -- /bin/sh");
    for (auto& kv : env)
        if (kv.find('=') == std::string::npos || kv[0] == '=')
            throw Error("set " + quote(kv) + " in the box", "", 0, "-e takes NAME=VALUE");
    boxes::Box box = boxes::find_running(name);
    pid_t pid = box.pid;
    // A pidfd cannot come to mean another process: check the start time once
    // it is held, and the pid stays the box's for as long as we need it.
    Fd pidfd = sys::pidfd_for("hold the box's first process, so its pid cannot be reused under us", pid);
    if (!boxes::alive(box)) throw Error("find a running box named " + name, "", 0, "it ended just now");
    sys::prctl("let nobody in the box ptrace us or open our fds while we join it", PR_SET_DUMPABLE, 0,
               "PR_SET_DUMPABLE, 0");

    // Open everything first: once we are in the box's mount namespace,
    // /proc/PID/... may mean something else (its own /proc) or nothing.
    struct Join {
        const ns::Kind* kind;
        Fd fd;
        std::string path;
    };
    std::vector<Join> joins;
    for (auto& k : ns::kinds()) {
        if (!ns::differs(pid, k.name)) continue;
        std::string path = ns::path(pid, k.name);
        joins.push_back({&k, sys::open("hold the box's " + std::string(k.name) + " namespace", path, O_RDONLY), path});
    }
    // From a terminal, the command gets a terminal of its own, as `docker
    // exec -it` does (tty.cpp); opened here, from the host's /dev/ptmx.
    Terminal term;
    bool tty = foreground_terminal() && ns::differs(pid, "pid");
    if (tty) term = open_terminal();
    std::string proc = "/proc/" + std::to_string(pid);
    Fd root = sys::open("hold the box's root directory", proc + "/root", O_PATH | O_DIRECTORY);
    Fd cwd = sys::open("hold the box's working directory", proc + "/cwd", O_PATH | O_DIRECTORY);

    bool joined_user = false;
    std::pair<uid_t, gid_t> ids;
    auto join = [&](const Join& j) {
        try {
            sys::setns("join the box's " + std::string(j.kind->name) + " namespace (it hides " + j.kind->hides + ")",
                       j.fd.get(), j.kind->flag, j.path);
        } catch (Error& e) {
            std::string hint = namespace_hint(e.err(), j.kind->flag);
            if (!hint.empty()) e.with_hint(hint);
            throw;
        }
        if (j.kind->flag == CLONE_NEWUSER) {
            joined_user = true;
            ids = box_ids(pid);  // read now: /proc translates ids for the namespace we are in
        }
    };
    // With a PID namespace to enter we fork (only the children of setns()
    // join it), and we join only it and the user namespace that owns the
    // rest: the child joins the others. We never enter the box's mount
    // namespace ourselves. A process there from outside the box would make
    // a chrootify still setting the box up refuse to mount, and the command
    // in the box's PID namespace is one chrootify knows to be the box's.
    bool fork_first = false;
    for (auto& j : joins) fork_first = fork_first || j.kind->flag == CLONE_NEWPID;
    auto ours = [&](const Join& j) { return !fork_first || j.kind->flag == CLONE_NEWUSER || j.kind->flag == CLONE_NEWPID; };
    // The rest of the way into the box, in the process that runs the command.
    auto enter = [&] {
        for (auto& j : joins)
            if (!ours(j)) join(j);
        sys::fchdir("go to the box's root", root.get(), proc + "/root");
        sys::chroot("see the box's root as /", ".");
        sys::fchdir("start where the box's first process is", cwd.get(), proc + "/cwd");
        if (joined_user) {
            // Become who the box's first process is (root inside, usually).
            try {
                sys::setgroups("drop the groups we came with", {});
            } catch (const Error&) {
                // A rootless box denied setgroups; our groups are unmapped there anyway.
            }
            sys::setresgid("take the box's group id", ids.second);
            sys::setresuid("take the box's user id", ids.first);
        }
        // The environment last: until here our own BOXKIT_RUN found the box.
        if (clear_env) ::clearenv();
        for (auto& kv : env) {
            auto eq = kv.find('=');
            ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
        }
    };
    for (auto& j : joins)
        if (ours(j)) join(j);
    Options o;
    o.command = std::move(command);
    if (!fork_first) {
        enter();
        exec_command(o);
    }
    // The child cannot see us from inside (getppid() is 0 there), so it
    // learns whether we died before its PR_SET_PDEATHSIG from this pipe:
    // we hold the write end open for as long as we live.
    int alive_pipe[2];
    if (::pipe2(alive_pipe, O_CLOEXEC) < 0) throw_errno("make a pipe", "pipe2(O_CLOEXEC)");
    pid_t child = sys::fork("enter the box's PID namespace: only the children of setns() join it");
    if (child == 0) {
        try {
            ::close(alive_pipe[1]);
            sys::prctl("die when nsjail-lite exec dies", PR_SET_PDEATHSIG, SIGKILL, "PR_SET_PDEATHSIG, SIGKILL");
            struct pollfd p {alive_pipe[0], POLLIN, 0};
            if (::poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) ::_exit(EXIT_TOOL_FAILED);
            enter();
            if (tty) {
                term.master = Fd();
                take_terminal(term.slave.get());
                o.tty_fd = term.slave.get();
            }
            exec_command(o);
        } catch (const Error& e) {
            report(e);
            ::_exit(e.exit_code());
        }
    }
    ::close(alive_pipe[0]);
    forward_signals_to(child);
    Child box_child(child);
    if (tty) {
        term.slave = Fd();
        relay(term, child);
    }
    int status = box_child.wait();
    restore_signals();
    exit_like(status);
}

} // namespace bk::nsjail_lite
