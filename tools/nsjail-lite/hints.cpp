// Errors that teach: why creating or joining a namespace failed, read off
// errno and the machine's settings, and what to try instead.
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "ns.hpp"
#include "nsjail_lite.hpp"

namespace bk::nsjail_lite {

namespace {
// A sysctl's value, or -1 when the file is not there.
long sysctl(const std::string& path) {
    std::ifstream f(path);
    long v = -1;
    if (!(f >> v)) return -1;
    return v;
}
} // namespace

std::string namespace_hint(int err, int flags) {
    bool user = flags & CLONE_NEWUSER;
    if (err == EPERM) {
        if (user && sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
            return "this kernel lets only root make user namespaces (kernel.unprivileged_userns_clone = 0); "
                   "as root: sysctl -w kernel.unprivileged_userns_clone=1";
        if (user && sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
            return "AppArmor forbids unprivileged user namespaces here "
                   "(kernel.apparmor_restrict_unprivileged_userns = 1)";
        if (user && ::geteuid() != 0)
            return "the kernel refused an ordinary user a user namespace: are you inside a chroot or a "
                   "seccomp sandbox that forbids it?";
        if (::geteuid() != 0)
            return "making namespaces needs root (CAP_SYS_ADMIN); as an ordinary user add --user for a "
                   "rootless box, where root inside is you outside";
        return "even root was refused: a seccomp filter or security module (a container you are in?) forbids "
               "new namespaces";
    }
    if (err == ENOSPC || err == EUSERS) {
        if (user && sysctl("/proc/sys/user/max_user_namespaces") == 0)
            return "user namespaces are switched off (user.max_user_namespaces = 0); as root: "
                   "sysctl -w user.max_user_namespaces=15000";
        return "a namespace limit was reached (see /proc/sys/user/max_*_namespaces), or a user namespace "
               "is nested more than 32 deep";
    }
    if (err == EINVAL) {
        std::string missing = missing_kinds(flags);
        if (!missing.empty())
            return "this kernel has no " + missing + " namespaces (it was built without the CONFIG_*_NS option, "
                   "see namespaces(7)); try without that option";
        return "the kernel did not accept this combination of namespaces";
    }
    return {};
}

std::string missing_kinds(int flags) {
    std::string out;
    for (auto& k : ns::kinds()) {
        if (!(flags & k.flag)) continue;
        if (::access(("/proc/self/ns/" + std::string(k.name)).c_str(), F_OK) < 0)
            out += (out.empty() ? "" : ", ") + std::string(k.name);
    }
    return out;
}

} // namespace bk::nsjail_lite
