// --init: the duties of pid 1, done the way tini and `docker run --init` do.
// Pid 1 of a PID namespace is special twice over:
//  - every orphan in the box is re-parented to it, and stays a zombie until
//    pid 1 waits for it; a program that never expected to be pid 1 never does;
//  - the kernel delivers to it only signals it has a handler for, so a
//    SIGTERM sent to a plain `sleep` as pid 1 does nothing at all.
// So this init runs the command as its child, forwards the signals it gets
// to it, reaps every child that ends, and exits as the command did.
// Outside a PID namespace it asks to be a "child subreaper" to the same end.
// See pid_namespaces(7), prctl(2) PR_SET_CHILD_SUBREAPER, wait(2).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "ns.hpp"
#include "nsjail_lite.hpp"
#include "process.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

namespace {
constexpr int k_forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
void ignore(int) {}
} // namespace

void run_init(const Options& o, int error_fd) {
    if (::getpid() != 1)
        sys::prctl("adopt the command's orphans, as pid 1 would", PR_SET_CHILD_SUBREAPER, 1,
                   "PR_SET_CHILD_SUBREAPER, 1");
    // A handler (that never runs: the signals stay blocked and are taken with
    // sigwaitinfo) is what makes the kernel deliver them to pid 1 at all.
    sigset_t set;
    sigemptyset(&set);
    struct sigaction sa {};
    sa.sa_handler = ignore;
    sigemptyset(&sa.sa_mask);
    for (int sig : k_forwarded) {
        ::sigaction(sig, &sa, nullptr);
        sigaddset(&set, sig);
    }
    ::sigaction(SIGCHLD, &sa, nullptr);
    sigaddset(&set, SIGCHLD);
    sigset_t old;
    ::sigprocmask(SIG_BLOCK, &set, &old);

    pid_t cmd = sys::fork("run the command as the child of this init");
    if (cmd == 0) {
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        for (int sig : k_forwarded) ::signal(sig, SIG_DFL);
        ::signal(SIGCHLD, SIG_DFL);
        try {
            sys::prctl("die when init dies", PR_SET_PDEATHSIG, SIGKILL, "PR_SET_PDEATHSIG, SIGKILL");
            if (o.tty_fd >= 0) {
                // As tini does: the command is the terminal's foreground
                // group, so ^C reaches it once, from the terminal, and init
                // (which would forward it again) is not in that group.
                ::setpgid(0, 0);
                ::signal(SIGTTOU, SIG_IGN);
                ::tcsetpgrp(o.tty_fd, ::getpgrp());
                ::signal(SIGTTOU, SIG_DFL);
            }
            exec_command(o);
        } catch (const Error& e) {
            if (error_fd >= 0) {
                std::string msg = std::to_string(e.exit_code()) + "\n" + tool_name() + ": " + e.message() + "\n" +
                                  (e.hint().empty() ? "" : tool_name() + ": hint: " + e.hint() + "\n");
                [[maybe_unused]] ssize_t n = ::write(error_fd, msg.data(), msg.size());
            } else {
                report(e);
            }
            ::_exit(e.exit_code());
        }
    }
    if (error_fd >= 0) ::close(error_fd);  // the command's copy reports, and closes at its exec
    if (o.log_fd >= 0) {  // a detached box's init lets go of the terminal too
        ::dup2(o.log_fd, 1);
        ::dup2(o.log_fd, 2);
    }
    for (;;) {
        siginfo_t info {};
        int sig = ::sigwaitinfo(&set, &info);
        if (sig < 0) continue;  // EINTR
        if (sig != SIGCHLD) {
            if (!terminal_sent_it_too(sig, info, cmd)) ::kill(cmd, sig);
            continue;
        }
        // Reap everyone who ended: the command, and any orphan handed to us.
        int status = 0;
        pid_t pid;
        while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
            if (pid != cmd) continue;
            // The command is done: so is the box. Pid 1 cannot die by a signal
            // it sends itself, so report the signal as 128+S.
            if (::getpid() == 1) ::_exit(exit_code_from_status(status));
            exit_like(status);
        }
    }
}

} // namespace bk::nsjail_lite
