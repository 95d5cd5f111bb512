#include "watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "error.hpp"
#include "explain.hpp"
#include "net.hpp"
#include "sys.hpp"

namespace bk::netfwd {

Fd stop_signals() {
    ::signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an EPIPE to handle, not a death
    // A shell starts background jobs with SIGINT ignored, and an ignored
    // signal is dropped even while blocked: take the default back first.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    return sys::signalfd("hear SIGINT and SIGTERM as data, so cleanup runs in ordinary code", set,
                         "SIGINT SIGTERM SIGHUP");
}

std::string wait_for_stop(int stop_fd, int pidfd) {
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
    for (;;) {
        int n = ::poll(fds, pidfd >= 0 ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("wait for a signal or the box's end", "poll()");
        }
        if (fds[1].revents & POLLIN) return "the box's pid 1 exited";
        if (fds[0].revents & POLLIN) {
            signalfd_siginfo si{};
            if (::read(stop_fd, &si, sizeof si) != ssize_t(sizeof si)) continue;
            const char* name = sigabbrev_np(int(si.ssi_signo));
            return std::string("got SIG") + (name ? name : "?");
        }
    }
}

void Detach::start(const std::string& pid_file) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) < 0) throw_errno("talk to the background process", "pipe2()");
    Fd r(p[0]), w(p[1]);
    pid_t pid = sys::fork("go on in the background (--detach)");
    if (pid == 0) {
        ::setsid();
        ready_w_ = std::move(w);
        pid_file_ = pid_file;
        return;
    }
    w.reset();
    char byte = 0;
    ssize_t n;
    while ((n = ::read(r.get(), &byte, 1)) < 0 && errno == EINTR) {}
    // The child said nothing: it failed and has printed why.
    if (n != 1) _exit(EXIT_TOOL_FAILED);
    if (!pid_file.empty()) {
        FILE* f = std::fopen(pid_file.c_str(), "we");
        if (!f) {
            int err = errno;
            ::kill(pid, SIGTERM);
            report(Error("write the pid file " + pid_file, "fopen(" + quote(pid_file) + ")", err));
            _exit(EXIT_TOOL_FAILED);
        }
        std::fprintf(f, "%d\n", int(pid));
        std::fclose(f);
    }
    // _exit: what the child now owns (rules, links, records) is not ours to clean.
    std::fflush(stdout);
    _exit(0);
}

void Detach::ready() {
    if (!ready_w_) return;
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, 0);
        ::dup2(null, 1);
        ::dup2(null, 2);
        ::close(null);
    }
    char byte = 1;
    if (::write(ready_w_.get(), &byte, 1) < 0) {}
    ready_w_.reset();
}

} // namespace bk::netfwd
