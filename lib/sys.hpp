// System-call wrappers. Each takes the call's own name (so a reader finds the
// man page) and a one-line reason. The reason is used three times: as the
// comment at the call site, as the --explain line, and as the error's context.
//
//     bk::sys::chroot("enter the new root", "./rootfs");
//
// On failure each throws bk::Error with the call, its arguments and errno.
#pragma once
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "fd.hpp"

namespace bk::sys {

Fd open(std::string_view why, const std::string& path, int flags, mode_t mode = 0);
Fd openat(std::string_view why, int dirfd, const std::string& path, int flags, mode_t mode = 0);
void mkdirat(std::string_view why, int dirfd, const std::string& name, mode_t mode);
void chroot(std::string_view why, const std::string& path);
void chdir(std::string_view why, const std::string& path);
void fchdir(std::string_view why, int fd, const std::string& shown);
void pivot_root(std::string_view why, const std::string& new_root, const std::string& put_old);
void umount2(std::string_view why, const std::string& target, int flags);
void unshare(std::string_view why, int flags);
void setns(std::string_view why, int fd, int nstype, const std::string& shown);
void sethostname(std::string_view why, const std::string& name);
void setgroups(std::string_view why, const std::vector<gid_t>& groups);
void setresgid(std::string_view why, gid_t gid);
void setresuid(std::string_view why, uid_t uid);
void symlinkat(std::string_view why, const std::string& target, int dirfd, const std::string& name);
pid_t fork(std::string_view why);

// mount(2). `shown` replaces the target in messages when the real target is a
// /proc/self/fd path (see mount_at).
void mount(std::string_view why, const std::string& source, const std::string& target,
           const std::string& fstype, unsigned long flags, const std::string& data = {},
           const std::string& shown = {});

// Mount onto a directory we already hold open: the kernel follows
// /proc/self/fd/N to exactly that directory, so no symlink swapped in between
// the check and the mount can redirect it (the reason runc mounts this way).
void mount_at(std::string_view why, const std::string& source, int target_fd,
              const std::string& shown_target, const std::string& fstype, unsigned long flags,
              const std::string& data = {});

// Write a whole small file (uid_map, cgroup knobs, ...) in one write(2).
void write_file(std::string_view why, const std::string& path, std::string_view content);

// Mark every fd from `from` up close-on-exec, so the command inherits only
// what it was meant to (fds a parent shell leaked to us included).
void cloexec_from(std::string_view why, int from);

// Human text for flag sets, as strace prints them.
std::string mount_flags_string(unsigned long flags);
std::string clone_flags_string(int flags);
std::string open_flags_string(int flags);

} // namespace bk::sys
