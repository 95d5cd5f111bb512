// Which cgroup layout this machine has, read from /proc/self/mountinfo:
//
//   pure v2   one cgroup2 tree at /sys/fs/cgroup (most machines today)
//   pure v1   one "cgroup" mount per controller, /sys/fs/cgroup/memory, ...
//   hybrid    v1 controllers plus an empty cgroup2 tree at
//             /sys/fs/cgroup/unified (systemd's compromise); the controllers
//             live in v1, so cgctl uses v1 there
//
// and where boxkit's groups go: under a "boxkit" parent group at the top of
// each tree when root, under the user's delegated v2 subtree otherwise.
// See cgroups(7), proc(5) (mountinfo), systemd's "cgroup delegation" notes.
#pragma once
#include <map>
#include <string>

#include "limits.hpp"

namespace bk::cgctl {

enum class Kind { none, v1, v2, hybrid };
const char* kind_name(Kind k);

struct Layout {
    Kind kind = Kind::none;
    std::string v2_mount;                          // "" when there is no cgroup2 tree
    std::map<std::string, std::string> v1_mounts;  // controller -> its hierarchy's mount
    // Which version cgctl drives: v2 only when the controllers live there.
    Version version() const { return kind == Kind::v2 ? Version::v2 : Version::v1; }
};

// Parse mountinfo text (proc(5)): "cgroup2" mounts and the controllers named
// in each v1 "cgroup" mount's super options. The first mount of each wins.
Layout parse_mountinfo(const std::string& text);

// The layout of this process's mount namespace. Throws when there is none.
Layout detect_layout(const std::string& mountinfo_path = "/proc/self/mountinfo");

// This process's v2 cgroup ("0::/user.slice/...") from /proc/self/cgroup text.
std::string own_v2_cgroup(const std::string& proc_self_cgroup);

// "\040" in mountinfo is a space: undo the kernel's octal escapes.
std::string unescape_mountinfo(const std::string& field);

} // namespace bk::cgctl
