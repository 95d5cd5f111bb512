// A child process that is waited for, and signals passed on to it. Tools that
// fork (a new PID namespace, a transient cgroup, a port forwarder) wait for
// the child, forward the signals a terminal or supervisor sends, and exit
// with the child's status.
#pragma once
#include <signal.h>
#include <sys/types.h>

#include <utility>

namespace bk {

class Child {
public:
    Child() = default;
    explicit Child(pid_t pid) : pid_(pid) {}
    Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
    Child& operator=(Child&& o) noexcept {
        if (this != &o) { reset(); pid_ = std::exchange(o.pid_, -1); }
        return *this;
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    // A child still running when its owner goes is killed and reaped.
    ~Child() { reset(); }

    pid_t pid() const { return pid_; }
    explicit operator bool() const { return pid_ > 0; }
    // Wait for it to end (retrying on EINTR); returns the wait(2) status.
    int wait();
    // Stop owning it without waiting.
    pid_t release() { return std::exchange(pid_, -1); }

private:
    void reset();
    pid_t pid_ = -1;
};

// Forward SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGWINCH to
// `pid` (its process group when `to_group`), until restore_signals(). What a
// terminal sent to our whole process group is not forwarded to a child
// still in it: the child had its own copy, and a second ^C is not the first.
void forward_signals_to(pid_t pid, bool to_group = false);
void restore_signals();

// Whether `sig` came from a terminal to its whole foreground process group
// (^C, ^\, a resize), that group being ours, and `group` is that same group
// (or `pid` is in it): then its members have had the signal already.
// Async-signal-safe.
bool terminal_sent_it_to_group(int sig, const siginfo_t& info, pid_t group);
bool terminal_sent_it_too(int sig, const siginfo_t& info, pid_t pid);

// Die by the same signal the child died of (so our parent sees 128+S, and a
// shell prints "Killed" or "Terminated" as it would for the command itself),
// or exit with its code.
[[noreturn]] void exit_like(int status);

} // namespace bk
