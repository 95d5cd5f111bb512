// The order of setup, one line a step. Without a child nsjail-lite simply
// unshares and execs (a chain-loader). With one (--pid, --init, --name,
// --detach, newuidmap ranges) it clones the box's first process straight
// into the new namespaces and stays OUTSIDE them to wait: a parent left in
// the box's mount namespace would make chrootify refuse to mount, and one
// in its PID namespace could not be pid 1's parent.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include "boxes.hpp"
#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "ns.hpp"
#include "nsjail_lite.hpp"
#include "paths.hpp"
#include "process.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

namespace {

// "nsjail-lite: cannot ...\nnsjail-lite: hint: ...\n", the shape bk::report prints.
std::string format_error(const Error& e) {
    std::string text = tool_name() + ": " + e.message() + "\n";
    if (!e.hint().empty()) text += tool_name() + ": hint: " + e.hint() + "\n";
    return text;
}

// An error the box's side sends back to whoever waits for it to start (a
// --detach foreground whose stderr is the terminal): "CODE\nTEXT".
void send_error(int fd, const Error& e) {
    std::string msg = std::to_string(e.exit_code()) + "\n" + format_error(e);
    [[maybe_unused]] ssize_t n = ::write(fd, msg.data(), msg.size());
}

[[noreturn]] void die_in_child(const Error& e, int error_fd) {
    if (error_fd >= 0) send_error(error_fd, e);
    else report(e);
    ::_exit(e.exit_code());
}

Error with_namespace_hint(Error e, int flags) {
    std::string hint = namespace_hint(e.err(), flags);
    if (!hint.empty()) e.with_hint(hint);
    return e;
}

const char* k_unshare_why = "give the box namespaces of its own";

boxes::Box new_record(const Options& o) {
    boxes::Box b;
    b.name = o.name;
    b.supervisor_pid = ::getpid();
    b.supervisor_start_time = boxes::process_start_time(::getpid()).value_or(0);
    b.command = o.command;
    b.hostname = o.hostname;
    b.started = boxes::now_iso8601();
    b.started_unix = (long long)::time(nullptr);
    b.detached = o.detach;
    b.pid_ns = boxes::current_pid_ns();
    char cwd[4096];
    if (::getcwd(cwd, sizeof cwd)) b.cwd = cwd;
    if (o.detach) b.log_path = boxes::log_path(o.name);
    return b;
}

// The child's first steps: wait until the parent has mapped our ids, make
// sure we die with the parent, then go on inside.
[[noreturn]] void child_main(const Options& o, int go_read, int go_write, int error_fd) {
    try {
        ::close(go_write);
        if (o.user) {
            // Block until the parent wrote our uid_map (a user namespace
            // starts with no ids at all); EOF means the parent is gone.
            // Without one there is nothing to wait for, and no hand-over.
            char go = 0;
            while (::read(go_read, &go, 1) < 0 && errno == EINTR) {}
            if (go != 'g') ::_exit(EXIT_TOOL_FAILED);
        }
        // If nsjail-lite dies, even by SIGKILL, the box dies with it (pid 1
        // dying takes every process of its PID namespace along).
        sys::prctl("die when nsjail-lite dies, even by SIGKILL", PR_SET_PDEATHSIG, SIGKILL,
                   "PR_SET_PDEATHSIG, SIGKILL");
        // The parent may have died just before that: it keeps the pipe's
        // write end open for as long as it lives, so a hang-up means gone.
        struct pollfd p {go_read, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)) ::_exit(EXIT_TOOL_FAILED);
        ::close(go_read);
        if (o.tty_fd >= 0) {
            ::close(o.tty_master);
            take_terminal(o.tty_fd);
        }
    } catch (const Error& e) {
        die_in_child(e, error_fd);
    }
    enter_box(o, error_fd);
}

// Clone the box, map its ids, record it, wait for it. Returns the wait status.
int supervise(const Options& o, int& error_fd, bool reserved, Terminal* term = nullptr) {
    std::optional<boxes::Box> record;
    if (!o.name.empty()) {
        record = new_record(o);
        if (!reserved) boxes::create(*record);
    }
    auto forget = [&](pid_t pid) {
        if (record) boxes::remove(o.name, pid);
    };
    int go[2];
    if (::pipe2(go, O_CLOEXEC) < 0) throw_errno("make the pipe that starts the box", "pipe2(O_CLOEXEC)");
    int flags = o.clone_flags();
    pid_t pid;
    try {
        pid = sys::clone(o.pid ? "start the box's first process, pid 1 inside its new PID namespace"
                               : "start the box's first process inside the new namespaces",
                         flags);
    } catch (const Error& e) {
        forget(0);
        throw with_namespace_hint(e, flags);
    }
    if (pid == 0) child_main(o, go[0], go[1], error_fd);
    ::close(go[0]);
    if (term) term->slave = Fd();  // the box holds its end now
    Child child(pid);  // killed if anything below throws
    // From now on a signal for us is the box's (a signal that came before
    // this killed us, and the child, waiting for "go", saw the pipe close).
    forward_signals_to(pid);
    // Hold the box's namespaces until we exit. Tearing one down (above all
    // a network or IPC namespace) is kernel work, partly on a worker thread,
    // that takes milliseconds of CPU. Under unshare(1), whose waiting parent
    // sits in the namespaces itself, it starts only once the parent is gone;
    // without these fds it would start when the box ends and compete with
    // us for the CPU while we reap the box and exit.
    std::vector<Fd> hold;
    for (auto& k : ns::kinds())
        if (flags & k.flag) hold.emplace_back(::open(ns::path(pid, k.name).c_str(), O_RDONLY | O_CLOEXEC));
    try {
        if (o.user) setup_user(o, pid);
        if (record) {
            record->pid = pid;
            record->start_time = boxes::process_start_time(pid).value_or(0);
            for (auto& k : ns::kinds())
                if (flags & k.flag) record->namespaces[k.name] = ns::path(pid, k.name);
            boxes::update(*record);
        }
    } catch (...) {
        forget(pid);
        throw;
    }
    if (o.user && ::write(go[1], "g", 1) != 1) throw_errno("start the box", "write(go pipe)");
    // go[1] stays open while we live: the child watches it (see child_main).
    if (error_fd >= 0) ::close(std::exchange(error_fd, -1));  // the box's copy alone reports now
    // A detached supervisor lets go of the terminal (or a caller's pipes) now.
    if (o.log_fd >= 0 && (::dup2(o.log_fd, 1) < 0 || ::dup2(o.log_fd, 2) < 0))
        throw_errno("send the supervisor's output to the log", "dup2()");
    if (term) relay(*term, pid);
    int status = child.wait();
    restore_signals();
    forget(pid);
    return status;
}

// --detach: a supervisor in its own session waits for the box, writing to
// the log; this process waits only until the box's command has started
// (the error pipe closes at its exec) and prints the name.
int run_detached(const Options& o) {
    int ep[2];
    if (::pipe2(ep, O_CLOEXEC) < 0) throw_errno("make the pipe that reports the start", "pipe2(O_CLOEXEC)");
    pid_t sup = sys::fork("start a supervisor that outlives this command and waits for the box");
    if (sup == 0) {
        ::close(ep[0]);
        bool created = false;
        try {
            if (::setsid() < 0) throw_errno("leave the terminal's session", "setsid()");
            boxes::create(new_record(o));
            created = true;
            Fd log = sys::open("send the box's output to its log", boxes::log_path(o.name),
                               O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
            Fd null = sys::open("give the box an empty stdin", "/dev/null", O_RDONLY);
            if (::dup2(null.get(), 0) < 0) throw_errno("give the box an empty stdin", "dup2()");
            // Nothing of the caller's (a test harness's pipes) may stay open here.
            for (int fd = 3; fd < 1024; ++fd) {
                bool keep = fd == ep[1] || fd == log.get() || fd == null.get();
                for (int k : o.keep_fds) keep = keep || fd == k;
                if (!keep) ::close(fd);
            }
            created = false;  // supervise() removes it from here on
            Options box = o;
            box.log_fd = log.get();
            int status = supervise(box, ep[1], true);
            ::_exit(exit_code_from_status(status));
        } catch (const Error& e) {
            if (created) boxes::remove(o.name);
            if (ep[1] >= 0) send_error(ep[1], e);
            ::_exit(e.exit_code());
        }
    }
    ::close(ep[1]);
    std::string msg;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(ep[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        msg.append(buf, size_t(n));
    }
    ::close(ep[0]);
    if (!msg.empty()) {
        // The supervisor ends right after the box; wait, so that its record
        // is gone when we return.
        int status;
        while (::waitpid(sup, &status, 0) < 0 && errno == EINTR) {}
        auto nl = msg.find('\n');
        int code = std::atoi(msg.substr(0, nl).c_str());
        std::fputs(msg.substr(nl + 1).c_str(), stderr);
        return code ? code : EXIT_TOOL_FAILED;
    }
    std::printf("%s\n", o.name.c_str());
    return 0;
}

} // namespace

int Options::clone_flags() const {
    return (user ? CLONE_NEWUSER : 0) | (pid ? CLONE_NEWPID : 0) | (uts ? CLONE_NEWUTS : 0) |
           (ipc ? CLONE_NEWIPC : 0) | (mount ? CLONE_NEWNS : 0) | (net ? CLONE_NEWNET : 0) |
           (cgroup ? CLONE_NEWCGROUP : 0);
}

bool Options::needs_child() const {
    return pid || init || !name.empty() || detach || (user && user_plan.use_helpers);
}

int run(Options& o) {
    if (o.detach) return run_detached(o);
    int no_fd = -1;
    if (o.needs_child()) {
        Terminal term;
        bool tty = wants_terminal(o);
        if (tty) {
            term = open_terminal();
            o.tty_fd = term.slave.get();
            o.tty_master = term.master.get();
        }
        exit_like(supervise(o, no_fd, false, tty ? &term : nullptr));
    }
    // No child needed: become the box ourselves, then exec.
    int flags = o.clone_flags();
    if (flags) {
        try {
            sys::unshare(k_unshare_why, flags);
        } catch (const Error& e) {
            throw with_namespace_hint(e, flags);
        }
    }
    if (o.user) setup_user(o, 0);
    enter_box(o, -1);
}

void enter_box(const Options& o, int error_fd) {
    try {
        // Dumpable again after exec; meanwhile nobody may ptrace us or open
        // our /proc files while we are half in, half out.
        sys::prctl("let nobody ptrace this process while it sets up the box", PR_SET_DUMPABLE, 0,
                   "PR_SET_DUMPABLE, 0");
        setup_uts(o);
        setup_mount(o);
        setup_net(o);
        if (o.init) run_init(o, error_fd);
        exec_command(o);
    } catch (const Error& e) {
        die_in_child(e, error_fd);
    }
}

void exec_command(const Options& o) {
    if (o.tty_fd >= 0) {  // the box's own terminal is all of its stdin, stdout and stderr
        if (::dup2(o.tty_fd, 0) < 0) throw_errno("give the command its terminal as stdin", "dup2()");
    }
    bk::exec_command(o.command, o.keep_fds, o.tty_fd >= 0 ? o.tty_fd : o.log_fd);
}

void validate(Options& o) {
    if (o.all) {
        o.pid = o.uts = o.ipc = o.mount = o.net = o.cgroup = o.mount_proc = true;
        // Rootless, new namespaces are possible only inside a user namespace.
        if (::geteuid() != 0) o.user = true;
    }
    if (!o.hostname.empty()) o.uts = true;
    if (o.mount_proc) o.pid = o.mount = true;
    if (o.hostname.size() > 64)
        throw Error("name the box " + quote(o.hostname), "", 0, "a hostname is at most 64 bytes");
    if (o.map_root || !o.map_user.empty() || !o.uid_map.empty() || !o.gid_map.empty()) o.user = true;
    if (o.map_root && !o.map_user.empty())
        throw Error("use both --map-root and --map-user", "", 0, "choose one: who you are inside the box");
    if (o.user) {
        std::vector<userns::IdRange> u, g;
        for (auto& s : o.uid_map) u.push_back(userns::parse_range(s));
        for (auto& s : o.gid_map) g.push_back(userns::parse_range(s));
        o.user_plan = userns::plan(::geteuid(), ::getegid(), o.map_user, u, g);
    }
    if (o.detach && o.name.empty()) o.name = "box-" + std::to_string(::getpid());
    if (!o.name.empty()) boxes::check_name(o.name);
    for (int fd : o.keep_fds) {
        if (fd < 3 || ::fcntl(fd, F_GETFD) < 0)
            throw Error("keep fd " + std::to_string(fd), "", 0, "--keep-fd takes an open fd number above 2");
    }
    if (o.command.empty())
        throw Error("start a box without a command", "", 0, "give it after --, for example: nsjail-lite --pid -- /bin/sh");
    // A kernel without one of the namespaces asked for makes clone(2) fail
    // with EINVAL; namespace_hint() names the missing ones then.
}

} // namespace bk::nsjail_lite
