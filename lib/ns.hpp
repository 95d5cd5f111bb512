// Namespaces: the table of the kinds Linux has, and wrappers for the calls
// that create and join them and that tie a box's life to its parent's.
// Same shape as sys.hpp: the call's own name and a one-line reason.
// See namespaces(7), clone(2), setns(2), prctl(2), pidfd_open(2).
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace bk::ns {

struct Kind {
    const char* name;     // the file in /proc/PID/ns/ and the word in --help
    int flag;             // CLONE_NEW*
    const char* hides;    // what a box with its own one of these does not see
};

// Every kind, in the order to JOIN them (util-linux nsenter's order): the
// user namespace first, because its capabilities are what allow joining the
// others; the mount namespace last, because entering it changes what
// /proc/PID/ns/* paths resolve to (we open every fd before joining any).
const std::vector<Kind>& kinds();
const Kind* find(const std::string& name);

// "/proc/PID/ns/NAME", and its identity ("net:[4026531840]") or "" if gone.
std::string path(pid_t pid, const std::string& name);
std::string id(const std::string& path);
// Whether process `pid` has a different namespace of this kind than we do.
bool differs(pid_t pid, const std::string& name);

} // namespace bk::ns

namespace bk::sys {

// clone(2) with namespace flags, used like fork(2): returns 0 in the child,
// which starts already inside every new namespace (the user namespace made
// first, so it owns the others), and the child's pid in the parent, which
// stays outside all of them.
pid_t clone(std::string_view why, int flags);

// prctl(2) for one option with one argument; `shown` names them.
void prctl(std::string_view why, int option, unsigned long arg, const std::string& shown);

// pidfd_open(2) and pidfd_send_signal(2): a pid that can never come to name
// another process.
Fd pidfd_for(std::string_view why, pid_t pid);
void pidfd_send_signal(std::string_view why, int pidfd, int sig, const std::string& shown);

} // namespace bk::sys
