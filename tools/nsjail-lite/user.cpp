// The user namespace: root inside, the caller outside. Its ids must be
// mapped from OUTSIDE the namespace (by us for our child, or by ourselves
// right after unshare), before the box does anything that checks an id.
// See user_namespaces(7), lib/userns.hpp.
#include <cerrno>

#include "error.hpp"
#include "nsjail_lite.hpp"
#include "userns.hpp"

namespace bk::nsjail_lite {

void setup_user(const Options& o, pid_t pid) {
    try {
        userns::write_maps(o.user_plan, pid);
    } catch (Error& e) {
        if (e.err() == EPERM && e.hint().empty())
            e.with_hint("an ordinary user may map only their own uid and gid (--map-root or --map-user); "
                        "ranges need /etc/subuid and /etc/subgid entries and newuidmap (package uidmap)");
        throw;
    }
}

} // namespace bk::nsjail_lite
