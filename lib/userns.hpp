// User namespaces: who root inside a box is outside it. A new user namespace
// starts with no ids mapped; writing /proc/PID/uid_map and gid_map says which
// ids inside are which ids outside (lines "INSIDE OUTSIDE COUNT"). An
// ordinary user may map only their own uid and gid, one line each, and must
// first write "deny" to /proc/PID/setgroups (so a box cannot drop a group
// that was keeping it out of a file: CVE-2014-8989). Wider ranges come from
// /etc/subuid and /etc/subgid through the setuid helpers newuidmap and
// newgidmap (Debian package uidmap). See user_namespaces(7), newuidmap(1).
#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace bk::userns {

struct IdRange {
    unsigned long inside = 0;
    unsigned long outside = 0;
    unsigned long count = 1;
    bool operator==(const IdRange&) const = default;
};

// "INSIDE:OUTSIDE:COUNT" (COUNT defaults to 1): the column order of
// uid_map. Throws bk::Error (exit 125) with a hint on bad text.
IdRange parse_range(const std::string& text);
// "UID:GID" or "UID" (then GID = UID). Throws bk::Error on bad text.
std::pair<unsigned long, unsigned long> parse_user(const std::string& text);
// The text the kernel wants: one "INSIDE OUTSIDE COUNT\n" line per range.
std::string map_text(const std::vector<IdRange>& ranges);
// Ranges must not overlap inside or outside, and stay below 2^32-1.
// Throws bk::Error naming the problem.
void check_ranges(const std::vector<IdRange>& ranges, const std::string& which);

// How a box's ids get mapped.
struct Plan {
    std::vector<IdRange> uids, gids;
    bool deny_setgroups = false;   // write "deny" first (needed without helpers, unprivileged)
    bool use_helpers = false;      // run newuidmap/newgidmap instead of writing
};

// The plan for a caller (euid/egid, root or not): `map_user` is "" for
// map-root (root inside is the caller); uid/gid ranges (if any) replace it.
Plan plan(uid_t euid, gid_t egid, const std::string& map_user, const std::vector<IdRange>& uid_ranges,
          const std::vector<IdRange>& gid_ranges);

// argv for newuidmap / newgidmap: {"newuidmap", "PID", "IN", "OUT", "COUNT", ...}.
std::vector<std::string> helper_argv(const std::string& helper, pid_t pid, const std::vector<IdRange>& ranges);

// Carry out the plan for process `pid` (0 means this process: /proc/self).
// Narrated with --explain; throws bk::Error with a hint.
void write_maps(const Plan& plan, pid_t pid);

} // namespace bk::userns
