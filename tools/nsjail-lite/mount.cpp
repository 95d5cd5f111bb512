// The mount namespace: the box starts with a copy of the host's mount table.
// Copies stay joined to the originals through "shared" propagation (systemd
// makes / shared), so a mount inside would appear on the host too. Making
// every mount private first cuts that link both ways, as unshare(1) does.
// With --mount-proc, /proc is mounted afresh, as `unshare --mount-proc`
// does: a PID namespace alone changes what getpid() says, not what ps shows,
// because ps reads /proc, and the host's /proc lists the host's processes.
// It is an option, as in unshare(1), because a box that changes its root
// (chrootify --proc) mounts its own /proc there and would not use this one.
// See mount_namespaces(7), proc(5).
#include <sys/mount.h>

#include <cerrno>

#include "error.hpp"

#include "nsjail_lite.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

void setup_mount(const Options& o) {
    if (!o.mount) return;
    sys::mount("keep the box's mounts out of the host, and the host's new ones out of the box", "", "/", "",
               MS_REC | MS_PRIVATE);
    if (!o.mount_proc) return;
    try {
        sys::mount("show only the box's processes in /proc", "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
    } catch (Error& e) {
        if (e.err() == EPERM)
            e.with_hint("in a user namespace the kernel mounts a new /proc only when no part of the current one is "
                        "hidden by another mount (as in some containers); try without --mount or --pid");
        throw;
    }
}

} // namespace bk::nsjail_lite
