#include "process.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>

#include "error.hpp"
#include "exec.hpp"

namespace bk {

namespace {
volatile sig_atomic_t g_target = 0;
volatile sig_atomic_t g_group = 0;
constexpr int k_forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

void forward(int sig, siginfo_t* info, void*) {
    int saved = errno;
    pid_t target = g_target;
    if (target > 0 && !(g_group ? terminal_sent_it_to_group(sig, *info, target)
                                : terminal_sent_it_too(sig, *info, target)))
        ::kill(g_group ? -target : target, sig);
    errno = saved;
}
} // namespace

bool terminal_sent_it_to_group(int sig, const siginfo_t& info, pid_t group) {
    // A terminal's ^C, ^\ and resize come from the kernel (SI_KERNEL) to
    // its whole foreground process group. (A hang-up goes to the session
    // leader alone: SIGHUP is always passed on.)
    bool to_group = info.si_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT || sig == SIGWINCH);
    return to_group && group == ::getpgrp();
}

bool terminal_sent_it_too(int sig, const siginfo_t& info, pid_t pid) {
    return terminal_sent_it_to_group(sig, info, ::getpgid(pid));
}

int Child::wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
        if (errno != EINTR) throw_errno("wait for the command", "waitpid(" + std::to_string(pid_) + ")");
    }
    pid_ = -1;
    return status;
}

void Child::reset() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    pid_ = -1;
}

void forward_signals_to(pid_t pid, bool to_group) {
    g_target = pid;
    g_group = to_group;
    struct sigaction sa {};
    sa.sa_sigaction = forward;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_SIGINFO;
    for (int sig : k_forwarded) ::sigaction(sig, &sa, nullptr);
}

void restore_signals() {
    g_target = 0;
    for (int sig : k_forwarded) ::signal(sig, SIG_DFL);
}

void exit_like(int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        // No core file of our own for the child's crash.
        struct rlimit no_core {0, 0};
        ::setrlimit(RLIMIT_CORE, &no_core);
        ::signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        ::sigprocmask(SIG_UNBLOCK, &set, nullptr);
        ::raise(sig);
        // Signals that do not kill (SIGCHLD, SIGWINCH...) fall through.
    }
    std::exit(exit_code_from_status(status));
}

} // namespace bk
