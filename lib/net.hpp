// Wrappers for the calls a network forwarder makes once, at set-up: sockets,
// and the fds an event loop waits on (a process's exit through a pidfd,
// signals through a signalfd). Same shape as sys.hpp: the call's own name, a
// one-line reason that is the comment, the --explain line and the error.
// The per-packet calls (accept4, splice, recvfrom) stay in the loop itself,
// unnarrated: one line per byte moved would drown the lesson.
// See socket(7), ip(7), tcp(7), udp(7), pidfd_open(2), signalfd(2), epoll(7).
#pragma once
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "fd.hpp"

namespace bk::sys {

// "127.0.0.1:8080" for an IPv4 socket address.
std::string sockaddr_string(const sockaddr_in& addr);
sockaddr_in ipv4_sockaddr(std::uint32_t host_order_ip, std::uint16_t port);

// socket(2); O_CLOEXEC always added (SOCK_CLOEXEC).
Fd socket(std::string_view why, int domain, int type, int protocol = 0);
void setsockopt_int(std::string_view why, int fd, int level, int name, const char* shown, int value);
void bind(std::string_view why, int fd, const sockaddr_in& addr);
void listen(std::string_view why, int fd, int backlog);

// An fd that becomes readable when the process `pid` exits (Linux 5.3+).
// Unlike a pid number, it can never come to name a different process.
Fd pidfd_open(std::string_view why, pid_t pid);
Fd signalfd(std::string_view why, const sigset_t& set, const std::string& shown);
Fd epoll_create1(std::string_view why);
void setrlimit_nofile(std::string_view why, rlim_t soft, rlim_t hard);

} // namespace bk::sys
