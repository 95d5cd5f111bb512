#include "net.hpp"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.hpp"
#include "explain.hpp"

namespace bk::sys {

namespace {

void check(long rc, std::string_view why, const std::string& call) {
    if (rc < 0) throw_errno(std::string(why), call);
}

std::string family_string(int domain) {
    switch (domain) {
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    default: return std::to_string(domain);
    }
}

std::string type_string(int type) {
    std::string s = (type & 0xf) == SOCK_STREAM ? "SOCK_STREAM" : (type & 0xf) == SOCK_DGRAM ? "SOCK_DGRAM" : std::to_string(type & 0xf);
    if (type & SOCK_NONBLOCK) s += "|SOCK_NONBLOCK";
    if (type & SOCK_CLOEXEC) s += "|SOCK_CLOEXEC";
    return s;
}

} // namespace

std::string sockaddr_string(const sockaddr_in& addr) {
    char ip[INET_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET, &addr.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(addr.sin_port));
}

sockaddr_in ipv4_sockaddr(std::uint32_t host_order_ip, std::uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(host_order_ip);
    a.sin_port = htons(port);
    return a;
}

Fd socket(std::string_view why, int domain, int type, int protocol) {
    type |= SOCK_CLOEXEC;
    std::string call = "socket(" + family_string(domain) + ", " + type_string(type) + ", " + std::to_string(protocol) + ")";
    explain(why, call);
    int fd = ::socket(domain, type, protocol);
    check(fd, why, call);
    return Fd(fd);
}

void setsockopt_int(std::string_view why, int fd, int level, int name, const char* shown, int value) {
    std::string lvl = level == SOL_SOCKET ? "SOL_SOCKET" : level == IPPROTO_TCP ? "IPPROTO_TCP" : std::to_string(level);
    std::string call = "setsockopt(" + std::to_string(fd) + ", " + lvl + ", " + shown + ", [" + std::to_string(value) + "])";
    explain(why, call);
    check(::setsockopt(fd, level, name, &value, sizeof value), why, call);
}

void bind(std::string_view why, int fd, const sockaddr_in& addr) {
    std::string call = "bind(" + std::to_string(fd) + ", " + sockaddr_string(addr) + ")";
    explain(why, call);
    check(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), why, call);
}

void listen(std::string_view why, int fd, int backlog) {
    std::string call = "listen(" + std::to_string(fd) + ", " + std::to_string(backlog) + ")";
    explain(why, call);
    check(::listen(fd, backlog), why, call);
}

Fd pidfd_open(std::string_view why, pid_t pid) {
    std::string call = "pidfd_open(" + std::to_string(pid) + ", 0)";
    explain(why, call);
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    check(fd, why, call);
    // pidfd_open's fds are always close-on-exec.
    return Fd(int(fd));
}

Fd signalfd(std::string_view why, const sigset_t& set, const std::string& shown) {
    std::string call = "signalfd(-1, [" + shown + "], SFD_CLOEXEC)";
    explain(why, call);
    int fd = ::signalfd(-1, &set, SFD_CLOEXEC);
    check(fd, why, call);
    return Fd(fd);
}

Fd epoll_create1(std::string_view why) {
    std::string call = "epoll_create1(EPOLL_CLOEXEC)";
    explain(why, call);
    int fd = ::epoll_create1(EPOLL_CLOEXEC);
    check(fd, why, call);
    return Fd(fd);
}

void setrlimit_nofile(std::string_view why, rlim_t soft, rlim_t hard) {
    std::string call = "setrlimit(RLIMIT_NOFILE, {rlim_cur=" + std::to_string(soft) + ", rlim_max=" + std::to_string(hard) + "})";
    explain(why, call);
    struct rlimit rl {soft, hard};
    check(::setrlimit(RLIMIT_NOFILE, &rl), why, call);
}

} // namespace bk::sys
