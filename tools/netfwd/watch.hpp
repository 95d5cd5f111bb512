// How long netfwd lives: until SIGINT or SIGTERM, or until the box's pid 1
// exits, whichever comes first, and then it cleans up. Signals arrive as
// reads on a signalfd and the box's end as a readable pidfd, so one poll (or
// the proxy's epoll) waits for both and cleanup runs in ordinary code, not in
// a signal handler. --detach forks into the background once everything is
// set up, and the parent leaves only when the child says it is ready.
// See signalfd(2), pidfd_open(2), daemon(7).
#pragma once
#include <string>

#include "fd.hpp"

namespace bk::netfwd {

// Block SIGINT, SIGTERM and SIGHUP and return a signalfd for them; ignore SIGPIPE.
Fd stop_signals();

// Wait until `stop_fd` or `pidfd` (-1: none) is readable; returns why.
std::string wait_for_stop(int stop_fd, int pidfd);

// Fork. In the parent: wait for the child's ready(), write `pid_file`,
// and _exit(0) (or 125 if the child failed first). Returns in the child.
class Detach {
public:
    Detach() = default;
    void start(const std::string& pid_file);
    // The child is set up: its stdout and stderr go to /dev/null, and the
    // waiting parent exits.
    void ready();
    bool active() const { return bool(ready_w_); }

private:
    Fd ready_w_;
    std::string pid_file_;
};

} // namespace bk::netfwd
