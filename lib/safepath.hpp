// Paths inside a root, resolved as if the root were "/": "..", absolute paths
// and symlinks (absolute or climbing) never leave it. This is what keeps a
// hostile root filesystem or image layer from making a tool mount onto, write
// into or read from the host.
//
// openat2(2) with RESOLVE_IN_ROOT does it in the kernel (Linux 5.6+); where it
// is missing we walk one component at a time with O_NOFOLLOW and splice each
// symlink's target in ourselves, the same rules in user space.
// See openat2(2), path_resolution(7), symlink(7).
#pragma once
#include <sys/types.h>

#include <string>

#include "fd.hpp"

namespace bk {

struct InRoot {
    bool no_symlinks = false;  // refuse any symlink on the way (RESOLVE_NO_SYMLINKS)
};

// Open `path` inside the directory `root_fd` with `flags` (O_CLOEXEC added).
// `shown` is how messages name the root ("./rootfs").
Fd open_in_root(int root_fd, const std::string& shown, const std::string& path, int flags, InRoot how = {});

// The same for a caller to whom "not there" is an ordinary answer: an empty
// Fd with errno set instead of an exception. (In a static binary the first
// exception costs about a millisecond: libgcc sorts every unwind entry.)
Fd try_open_in_root(int root_fd, const std::string& path, int flags, InRoot how = {});

// Open the directory that would hold `path`, resolved inside the root, and
// set `leaf` to the last component, for *at() calls that must not follow it.
// The root itself has no parent: a path that resolves to it throws.
Fd open_parent_in_root(int root_fd, const std::string& shown, const std::string& path, std::string& leaf);

// The path `path` names inside the root, with every existing symlink
// resolved as if the root were "/" and the missing rest appended as written:
// "/up/x" with up -> ../elsewhere gives "/elsewhere/x" (like Go's securejoin).
std::string resolve_path_in_root(int root_fd, const std::string& path);

// mkdir -p inside the root; returns an O_PATH fd of the final directory.
Fd make_dirs_in_root(int root_fd, const std::string& shown, const std::string& path, mode_t mode);

// Create an empty regular file inside the root unless something is there
// (a bind-mount target for a file); returns an O_PATH fd of it.
Fd make_file_in_root(int root_fd, const std::string& shown, const std::string& path, mode_t mode);

// Tests force the user-space walk to check it gives the same answers.
void force_walk_resolver(bool on);

// Lexically clean a path for display: "a//b/../c" -> "/a/c".
std::string clean_path(const std::string& path);

} // namespace bk
