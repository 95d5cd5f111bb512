// Which box: a named box (nsjail-lite's record), a pid, or a network
// namespace file. Whatever the user names, netfwd ends up holding two fds:
// the box's network namespace (to open sockets in it, or to move a veth end
// into it) and, when there is a process, a pidfd of the box's pid 1, which
// becomes readable the moment the box ends. See namespaces(7), pidfd_open(2).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "fd.hpp"

namespace bk::netfwd {

struct TargetSpec {
    std::string box;    // --box NAME
    pid_t pid = 0;      // --pid PID
    std::string netns;  // --netns PATH
    // Exactly one was given; throws bk::Error with a hint otherwise.
    void check(bool netns_allowed = true) const;
};

struct Target {
    Fd netns;                // the box's network namespace, open
    Fd pidfd;                // the box's pid 1, or empty for --netns
    pid_t pid = 0;
    std::uint64_t netns_inode = 0;
    std::string shown;       // "box web", "pid 4242", "netns /run/netns/x"
    std::string netns_path;  // a path `ip` can open for this namespace
};

Target resolve_target(const TargetSpec& spec);

// The key links are named by: one veth per network namespace.
std::string link_name_for(std::uint64_t netns_inode);

} // namespace bk::netfwd
