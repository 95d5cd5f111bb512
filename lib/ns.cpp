#include "ns.hpp"

#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "explain.hpp"
#include "sys.hpp"

namespace bk::ns {

const std::vector<Kind>& kinds() {
    static const std::vector<Kind> table = {
        {"user", CLONE_NEWUSER, "the host's user ids: root inside can be anyone outside"},
        {"cgroup", CLONE_NEWCGROUP, "the cgroup tree above its own cgroup"},
        {"ipc", CLONE_NEWIPC, "System V IPC objects and POSIX message queues"},
        {"uts", CLONE_NEWUTS, "the host's hostname and domain name"},
        {"net", CLONE_NEWNET, "the host's network interfaces, addresses, routes and ports"},
        {"pid", CLONE_NEWPID, "every process outside the box; its first process is pid 1"},
        {"mnt", CLONE_NEWNS, "mounts made outside after it started, and its own from the host"},
    };
    return table;
}

const Kind* find(const std::string& name) {
    for (auto& k : kinds())
        if (name == k.name) return &k;
    return nullptr;
}

std::string path(pid_t pid, const std::string& name) { return "/proc/" + std::to_string(pid) + "/ns/" + name; }

std::string id(const std::string& p) {
    char buf[64];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

bool differs(pid_t pid, const std::string& name) {
    struct stat theirs {}, ours {};
    if (::stat(path(pid, name).c_str(), &theirs) < 0) return false;
    if (::stat(("/proc/self/ns/" + name).c_str(), &ours) < 0) return true;
    return theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev;
}

} // namespace bk::ns

namespace bk::sys {

pid_t clone(std::string_view why, int flags) {
    std::string call = "clone(" + (flags ? clone_flags_string(flags) + "|" : std::string()) + "SIGCHLD)";
    // The raw system call with no new stack behaves like fork(2): the child
    // goes on from here on a copy of our stack.
    long pid = ::syscall(SYS_clone, (unsigned long)(flags | SIGCHLD), nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) throw_errno(std::string(why), call);
    if (pid > 0) explain(why, call + " = " + std::to_string(pid));
    return pid_t(pid);
}

void prctl(std::string_view why, int option, unsigned long arg, const std::string& shown) {
    std::string call = "prctl(" + shown + ")";
    explain(why, call);
    if (::prctl(option, arg, 0, 0, 0) < 0) throw_errno(std::string(why), call);
}

Fd pidfd_for(std::string_view why, pid_t pid) {
    std::string call = "pidfd_open(" + std::to_string(pid) + ", 0)";
    explain(why, call);
    long fd = ::syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) throw_errno(std::string(why), call);
    return Fd(int(fd));
}

void pidfd_send_signal(std::string_view why, int pidfd, int sig, const std::string& shown) {
    std::string call = "pidfd_send_signal(" + std::to_string(pidfd) + " /* " + shown + " */, " + "SIG" + std::string(sigabbrev_np(sig) ? sigabbrev_np(sig) : std::to_string(sig).c_str()) + ")";
    explain(why, call);
    if (::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) throw_errno(std::string(why), call);
}

} // namespace bk::sys
