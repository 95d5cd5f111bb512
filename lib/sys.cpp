#include "sys.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "error.hpp"
#include "explain.hpp"

namespace bk::sys {

namespace {

// Narrate, then check: the shape every wrapper below shares.
void before(std::string_view why, const std::string& call) { explain(why, call); }
void check(long rc, std::string_view why, const std::string& call) {
    if (rc < 0) throw_errno(std::string(why), call);
}

std::string join_flags(unsigned long flags, std::initializer_list<std::pair<unsigned long, const char*>> names,
                       const char* zero) {
    std::string out;
    for (auto [bit, name] : names) {
        if ((flags & bit) == bit && bit != 0) {
            if (!out.empty()) out += '|';
            out += name;
            flags &= ~bit;
        }
    }
    if (flags != 0) {
        if (!out.empty()) out += '|';
        char buf[32];
        snprintf(buf, sizeof buf, "%#lx", flags);
        out += buf;
    }
    return out.empty() ? zero : out;
}

std::string mode_string(mode_t mode) {
    char buf[16];
    snprintf(buf, sizeof buf, "0%o", unsigned(mode));
    return buf;
}

std::string dirfd_string(int dirfd) { return dirfd == AT_FDCWD ? "AT_FDCWD" : std::to_string(dirfd); }

} // namespace

std::string mount_flags_string(unsigned long flags) {
    return join_flags(flags,
                      {{MS_RDONLY, "MS_RDONLY"}, {MS_NOSUID, "MS_NOSUID"}, {MS_NODEV, "MS_NODEV"},
                       {MS_NOEXEC, "MS_NOEXEC"}, {MS_REMOUNT, "MS_REMOUNT"}, {MS_BIND, "MS_BIND"},
                       {MS_MOVE, "MS_MOVE"}, {MS_REC, "MS_REC"}, {MS_PRIVATE, "MS_PRIVATE"},
                       {MS_SLAVE, "MS_SLAVE"}, {MS_SHARED, "MS_SHARED"}, {MS_UNBINDABLE, "MS_UNBINDABLE"},
                       {MS_NOATIME, "MS_NOATIME"}, {MS_RELATIME, "MS_RELATIME"}, {MS_STRICTATIME, "MS_STRICTATIME"}},
                      "0");
}

std::string clone_flags_string(int flags) {
    return join_flags(unsigned(flags),
                      {{CLONE_NEWNS, "CLONE_NEWNS"}, {CLONE_NEWUTS, "CLONE_NEWUTS"}, {CLONE_NEWIPC, "CLONE_NEWIPC"},
                       {CLONE_NEWUSER, "CLONE_NEWUSER"}, {CLONE_NEWPID, "CLONE_NEWPID"}, {CLONE_NEWNET, "CLONE_NEWNET"},
                       {CLONE_NEWCGROUP, "CLONE_NEWCGROUP"}, {CLONE_NEWTIME, "CLONE_NEWTIME"}},
                      "0");
}

std::string open_flags_string(int flags) {
    std::string acc = (flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : (flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY" : "O_RDONLY";
    if (flags & O_PATH) acc = "O_PATH";
    std::string rest = join_flags(unsigned(flags & ~O_ACCMODE & ~O_PATH),
                                  {{O_CREAT, "O_CREAT"}, {O_EXCL, "O_EXCL"}, {O_TRUNC, "O_TRUNC"},
                                   {O_APPEND, "O_APPEND"}, {O_DIRECTORY, "O_DIRECTORY"}, {O_NOFOLLOW, "O_NOFOLLOW"},
                                   {O_CLOEXEC, "O_CLOEXEC"}, {O_NONBLOCK, "O_NONBLOCK"}, {O_NOCTTY, "O_NOCTTY"}},
                                  "");
    return rest.empty() ? acc : acc + "|" + rest;
}

Fd open(std::string_view why, const std::string& path, int flags, mode_t mode) {
    return openat(why, AT_FDCWD, path, flags, mode);
}

Fd openat(std::string_view why, int dirfd, const std::string& path, int flags, mode_t mode) {
    flags |= O_CLOEXEC;
    std::string call = "openat(" + dirfd_string(dirfd) + ", " + quote(path) + ", " + open_flags_string(flags) +
                       ((flags & O_CREAT) ? ", " + mode_string(mode) : "") + ")";
    before(why, call);
    int fd = ::openat(dirfd, path.c_str(), flags, mode);
    check(fd, why, call);
    return Fd(fd);
}

void mkdirat(std::string_view why, int dirfd, const std::string& name, mode_t mode) {
    std::string call = "mkdirat(" + dirfd_string(dirfd) + ", " + quote(name) + ", " + mode_string(mode) + ")";
    before(why, call);
    check(::mkdirat(dirfd, name.c_str(), mode), why, call);
}

void chroot(std::string_view why, const std::string& path) {
    std::string call = "chroot(" + quote(path) + ")";
    before(why, call);
    check(::chroot(path.c_str()), why, call);
}

void chdir(std::string_view why, const std::string& path) {
    std::string call = "chdir(" + quote(path) + ")";
    before(why, call);
    check(::chdir(path.c_str()), why, call);
}

void fchdir(std::string_view why, int fd, const std::string& shown) {
    std::string call = "fchdir(" + std::to_string(fd) + ") /* " + shown + " */";
    before(why, call);
    check(::fchdir(fd), why, call);
}

void pivot_root(std::string_view why, const std::string& new_root, const std::string& put_old) {
    std::string call = "pivot_root(" + quote(new_root) + ", " + quote(put_old) + ")";
    before(why, call);
    check(::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()), why, call);
}

void umount2(std::string_view why, const std::string& target, int flags) {
    std::string call = "umount2(" + quote(target) + ", " + (flags & MNT_DETACH ? "MNT_DETACH" : std::to_string(flags)) + ")";
    before(why, call);
    check(::umount2(target.c_str(), flags), why, call);
}

void unshare(std::string_view why, int flags) {
    std::string call = "unshare(" + clone_flags_string(flags) + ")";
    before(why, call);
    check(::unshare(flags), why, call);
}

void setns(std::string_view why, int fd, int nstype, const std::string& shown) {
    std::string call = "setns(" + std::to_string(fd) + " /* " + shown + " */, " + clone_flags_string(nstype) + ")";
    before(why, call);
    check(::setns(fd, nstype), why, call);
}

void sethostname(std::string_view why, const std::string& name) {
    std::string call = "sethostname(" + quote(name) + ", " + std::to_string(name.size()) + ")";
    before(why, call);
    check(::sethostname(name.data(), name.size()), why, call);
}

void setgroups(std::string_view why, const std::vector<gid_t>& groups) {
    std::string list;
    for (gid_t g : groups) list += (list.empty() ? "" : ", ") + std::to_string(g);
    std::string call = "setgroups(" + std::to_string(groups.size()) + ", [" + list + "])";
    before(why, call);
    check(::setgroups(groups.size(), groups.data()), why, call);
}

void setresgid(std::string_view why, gid_t gid) {
    std::string g = std::to_string(gid);
    std::string call = "setresgid(" + g + ", " + g + ", " + g + ")";
    before(why, call);
    check(::setresgid(gid, gid, gid), why, call);
}

void setresuid(std::string_view why, uid_t uid) {
    std::string u = std::to_string(uid);
    std::string call = "setresuid(" + u + ", " + u + ", " + u + ")";
    before(why, call);
    check(::setresuid(uid, uid, uid), why, call);
}

void symlinkat(std::string_view why, const std::string& target, int dirfd, const std::string& name) {
    std::string call = "symlinkat(" + quote(target) + ", " + dirfd_string(dirfd) + ", " + quote(name) + ")";
    before(why, call);
    check(::symlinkat(target.c_str(), dirfd, name.c_str()), why, call);
}

pid_t fork(std::string_view why) {
    std::string call = "fork()";
    pid_t pid = ::fork();
    check(pid, why, call);
    if (pid > 0) explain(why, call + " = " + std::to_string(pid));
    return pid;
}

void mount(std::string_view why, const std::string& source, const std::string& target, const std::string& fstype,
           unsigned long flags, const std::string& data, const std::string& shown) {
    std::string call = "mount(" + (source.empty() ? std::string("NULL") : quote(source)) + ", " +
                       quote(shown.empty() ? target : shown) + ", " + (fstype.empty() ? "NULL" : quote(fstype)) +
                       ", " + mount_flags_string(flags) + ", " + (data.empty() ? "NULL" : quote(data)) + ")";
    before(why, call);
    check(::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(),
                  flags, data.empty() ? nullptr : data.c_str()),
          why, call);
}

void mount_at(std::string_view why, const std::string& source, int target_fd, const std::string& shown_target,
              const std::string& fstype, unsigned long flags, const std::string& data) {
    mount(why, source, "/proc/self/fd/" + std::to_string(target_fd), fstype, flags, data, shown_target);
}

void write_file(std::string_view why, const std::string& path, std::string_view content) {
    std::string shown(content);
    while (!shown.empty() && shown.back() == '\n') shown.pop_back();
    Fd fd = open(why, path, O_WRONLY);
    std::string call = "write(" + quote(path) + ", " + quote(shown) + ")";
    explain(why, call);
    ssize_t n = ::write(fd.get(), content.data(), content.size());
    if (n < 0) throw_errno(std::string(why), call);
    if (size_t(n) != content.size()) throw Error(std::string(why), call + ": short write");
}

void cloexec_from(std::string_view why, int from) {
    std::string call = "close_range(" + std::to_string(from) + ", ~0U, CLOSE_RANGE_CLOEXEC)";
    before(why, call);
    check(::syscall(SYS_close_range, unsigned(from), ~0U, CLOSE_RANGE_CLOEXEC), why, call);
}

} // namespace bk::sys
