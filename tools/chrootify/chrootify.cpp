#include "chrootify.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>

#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "safepath.hpp"
#include "sys.hpp"

namespace bk::chrootify {

namespace {

const char* const k_mount_ns_hint =
    "mounts need a private mount namespace so they vanish with the box; run under "
    "'nsjail-lite --mount -- chrootify ...' or 'unshare -m chrootify ...'";

// A process's pid and its parent's, as /proc numbers them (the host's /proc
// is still mounted here), from /proc/WHICH/stat: "pid (comm) state ppid ...",
// where comm may hold spaces and parentheses. Nothing if it is gone.
struct Parentage {
    pid_t pid = 0, parent = 0;
};
std::optional<Parentage> parentage(const std::string& which) {
    std::ifstream stat_file("/proc/" + which + "/stat");
    std::string line;
    if (!std::getline(stat_file, line)) return std::nullopt;
    auto close = line.rfind(')');
    if (close == std::string::npos || close + 4 > line.size()) return std::nullopt;
    return Parentage{pid_t(std::atoi(line.c_str())), pid_t(std::atoi(line.c_str() + close + 4))};  // ") S PPID"
}

bool same_ns(const struct stat& a, const struct stat& b) { return a.st_ino == b.st_ino && a.st_dev == b.st_dev; }

// Whether our parent is in a mount namespace other than `self`. A
// machine's or container's own init has no parent in /proc: false.
bool first_in_new_mount_namespace(const struct stat& self) {
    auto me = parentage("self");
    struct stat theirs {};
    if (!me || me->parent <= 0 || ::stat(("/proc/" + std::to_string(me->parent) + "/ns/mnt").c_str(), &theirs) < 0)
        return false;
    return !same_ns(theirs, self);
}

// Whether a process other than us and our ancestors is in our mount
// namespace. Kernel threads always sit in the host's first one, and a shell
// beside us would see our mounts stay after the box ended. Ancestors are
// fine: they wait for us (unshare -m, a shell script in a fresh namespace).
// So is a process in our own PID namespace when that is a box's, made
// below one of our ancestors (not the one a whole machine or container
// shares): it dies with the box's pid 1. `nsjail-lite exec` into a box
// still being set up puts its command there, and must not break the box.
bool mount_namespace_shared() {
    struct stat self {}, self_pid {};
    if (::stat("/proc/self/ns/mnt", &self) < 0) return false;
    bool have_pid_ns = ::stat("/proc/self/ns/pid", &self_pid) == 0;
    bool in_box = false;
    // The usual box (nsjail-lite --pid --mount): we are pid 1 of a new PID
    // namespace and our parent, outside it, is in another mount namespace.
    // Then no process was born into ours but us: one could only have
    // joined it with setns(2), and that would be the box's own (above).
    // This spares a walk over every process on the machine.
    if (::getpid() == 1 && first_in_new_mount_namespace(self)) return false;
    // Walk from /proc/self, not getpid(): in a new PID namespace with the
    // host's /proc still mounted, getpid() is 1 but /proc numbers the host's.
    std::set<pid_t> ancestors;
    for (std::string next = "self";;) {
        auto p = parentage(next);
        if (!p || !ancestors.insert(p->pid).second) break;
        struct stat pid_ns {};
        if (have_pid_ns && ::stat(("/proc/" + next + "/ns/pid").c_str(), &pid_ns) == 0 && !same_ns(pid_ns, self_pid))
            in_box = true;
        if (p->parent <= 0) break;
        next = std::to_string(p->parent);
    }
    DIR* proc = ::opendir("/proc");
    if (!proc) return false;
    bool shared = false;
    while (dirent* e = ::readdir(proc)) {
        char* end;
        long pid = std::strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || ancestors.count(pid_t(pid))) continue;
        struct stat other {};
        std::string ns = std::string("/proc/") + e->d_name + "/ns/mnt";
        if (::stat(ns.c_str(), &other) == 0 && same_ns(other, self)) {
            struct stat other_pid {};
            std::string pid_ns = std::string("/proc/") + e->d_name + "/ns/pid";
            if (in_box && ::stat(pid_ns.c_str(), &other_pid) == 0 && same_ns(other_pid, self_pid))
                continue;  // one of the box's own
            shared = true;
            break;
        }
    }
    ::closedir(proc);
    return shared;
}

// 1. Mounts must not reach the host's mount table, where they would outlive
//    the box; pivot_root cannot run there at all.
void check_mount_namespace(const Options& o) {
    if (!o.mounts_anything() || !mount_namespace_shared()) return;
    std::string what = o.pivot ? "pivot_root into " + o.new_root : "mount inside " + o.new_root;
    throw Error(what + " from a mount namespace other processes share", "", 0, k_mount_ns_hint);
}

// 2. Whatever we mount from here stays in this namespace (util-linux unshare
//    does the same; a "shared" root would propagate our mounts to the host).
void make_mounts_private(const Options& o) {
    if (!o.mounts_anything()) return;
    sys::mount("keep this box's mounts out of every other mount namespace", "", "/", "", MS_REC | MS_PRIVATE);
}

// 3. The root: an overlay of the image's layers, or the directory itself
//    bind-mounted onto itself when pivot_root or --readonly need a mount.
//    Opened only after mounting: an fd taken before would see what is under.
Fd prepare_root(const Options& o) {
    if (!o.mounts_anything() && o.workdir.empty()) return Fd();  // a plain chroot needs no fd
    if (!o.lowers.empty()) {
        std::string upper = o.upper, work = o.work;
        if (o.upper_tmpfs) {
            // The overlay goes on top of this tmpfs, at the same place: it
            // hides it, keeps it alive, and both vanish with the namespace.
            sys::mount("keep the box's writes in memory: a tmpfs the overlay will cover", "tmpfs", o.new_root, "tmpfs",
                       MS_NOSUID | MS_NODEV, "mode=0755");
            upper = o.new_root + "/upper";
            work = o.new_root + "/work";
            sys::mkdirat("make the overlay's upper directory in it", AT_FDCWD, upper, 0755);
            sys::mkdirat("make the overlay's work directory in it", AT_FDCWD, work, 0755);
        }
        sys::mount("stack the read-only layers under a writable upper directory", "overlay", o.new_root, "overlay", 0,
                   overlay_options(o.lowers, upper, work));
    } else if (o.pivot || o.read_only) {
        sys::mount("make the new root a mount point of its own", o.new_root, o.new_root, "", MS_BIND | MS_REC);
    }
    return sys::open("hold the new root open, so every path below is resolved inside it", o.new_root,
                     O_PATH | O_DIRECTORY);
}

// /proc, /dev and /sys must be plain directories: a symlink there
// (proc -> /) is how a hostile root would aim our mounts at the host.
Fd checked_dir(int root, const Options& o, const std::string& path) {
    auto refuse = [&] {
        return Error("mount on " + path + " inside " + o.new_root, "", 0,
                     path + " in the root filesystem must be a plain directory, not a symlink or a file");
    };
    // An image without /proc or /dev is common: no exception for that.
    Fd fd = try_open_in_root(root, path, O_PATH | O_NOFOLLOW, {.no_symlinks = true});
    if (!fd) {
        if (errno != ENOENT) throw refuse();
        sys::mkdirat("make the directory the mount needs", root, path.substr(1), 0555);
        return open_in_root(root, o.new_root, path, O_PATH | O_DIRECTORY, {.no_symlinks = true});
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) return fd;
    throw refuse();
}

// 4. /proc: the kernel's view of processes. Without a new PID namespace it
//    still shows the host's, which lesson 02 points out.
void mount_proc(const Options& o, int root) {
    if (!o.proc) return;
    Fd target = checked_dir(root, o, "/proc");
    sys::mount_at("show the processes of this PID namespace in /proc", "proc", target.get(), o.new_root + "/proc",
                  "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

// 5. /dev: a small tmpfs with only the devices a program expects, bound
//    from the host's (which also works in a user namespace, unlike mknod).
void mount_dev(const Options& o, int root) {
    if (!o.dev) return;
    Fd target = checked_dir(root, o, "/dev");
    sys::mount_at("give the box an empty /dev of its own", "tmpfs", target.get(), o.new_root + "/dev", "tmpfs",
                  MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k");
    Fd dev = open_in_root(root, o.new_root, "/dev", O_PATH | O_DIRECTORY, {.no_symlinks = true});
    for (const char* name : {"null", "zero", "full", "random", "urandom", "tty"}) {
        std::string host = std::string("/dev/") + name;
        Fd node = sys::openat("make a place for " + host, dev.get(), name, O_WRONLY | O_CREAT | O_EXCL, 0666);
        sys::mount_at("let the box use the host's " + host, host, node.get(), o.new_root + host, "", MS_BIND);
    }
    sys::mkdirat("make room for the box's terminals", dev.get(), "pts", 0755);
    Fd pts = sys::openat("hold /dev/pts open", dev.get(), "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW);
    sys::mount_at("give the box its own pseudo-terminals", "devpts", pts.get(), o.new_root + "/dev/pts", "devpts",
                  MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
    sys::mkdirat("make room for shared memory", dev.get(), "shm", 01777);
    Fd shm = sys::openat("hold /dev/shm open", dev.get(), "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW);
    sys::mount_at("give the box its own shared memory", "shm", shm.get(), o.new_root + "/dev/shm", "tmpfs",
                  MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
    // The box's terminal, when its stdin is one, is the host's (nsjail-lite
    // made it before this /dev/pts existed), so `tty` could not name it. As
    // runc does, it is bound on /dev/console, where ttyname(3) finds it. It
    // is bound by its name here: the fd itself points into the caller's
    // mount namespace, which mount(2) refuses (EINVAL). A nicety: the box
    // runs without it if it cannot be had.
    char tty[PATH_MAX];
    if (::isatty(0) && ::ttyname_r(0, tty, sizeof tty) == 0) {
        try {
            Fd node = sys::openat("make a place for the box's terminal", dev.get(), "console",
                                  O_WRONLY | O_CREAT | O_EXCL, 0600);
            sys::mount_at("let the box name its terminal, " + std::string(tty), tty, node.get(),
                          o.new_root + "/dev/console", "", MS_BIND);
        } catch (const Error& e) {
            if (verbose()) detail("no /dev/console in the box: " + e.message());
        }
    }
    for (auto [name, target_path] : {std::pair{"ptmx", "pts/ptmx"}, {"fd", "/proc/self/fd"},
                                     {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
                                     {"stderr", "/proc/self/fd/2"}}) {
        sys::symlinkat("add the link programs expect", target_path, dev.get(), name);
    }
}

// 6. /sys, read-only: the box may look at devices, never change them.
void mount_sys(const Options& o, int root) {
    if (!o.sys) return;
    Fd target = checked_dir(root, o, "/sys");
    try {
        sys::mount_at("show the kernel's devices, read-only", "sysfs", target.get(), o.new_root + "/sys", "sysfs",
                      MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    } catch (const Error& e) {
        // A user namespace without its own network namespace may not mount
        // sysfs; a read-only bind of the host's /sys shows the same.
        if (e.err() != EPERM) throw;
        sys::mount_at("show the host's /sys instead", "/sys", target.get(), o.new_root + "/sys", "", MS_BIND | MS_REC);
        Fd again = open_in_root(root, o.new_root, "/sys", O_PATH | O_DIRECTORY, {.no_symlinks = true});
        sys::mount_at("make it read-only", "", again.get(), o.new_root + "/sys", "",
                      MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    }
}

// 7. Volumes: a host directory or file seen at a path inside the box.
void mount_binds(const Options& o, int root) {
    for (const auto& b : o.binds) {
        Fd source = sys::open("hold the volume's source open", b.source, O_PATH);
        struct stat st {};
        ::fstat(source.get(), &st);
        Fd target = S_ISDIR(st.st_mode) ? make_dirs_in_root(root, o.new_root, b.target, 0755)
                                        : make_file_in_root(root, o.new_root, b.target, 0644);
        std::string shown = o.new_root + clean_path(b.target);
        sys::mount("show " + b.source + " at " + b.target + " inside the box",
                   "/proc/self/fd/" + std::to_string(source.get()),
                   "/proc/self/fd/" + std::to_string(target.get()), "", MS_BIND | MS_REC, {}, shown);
        if (b.read_only) {
            Fd mounted = open_in_root(root, o.new_root, b.target, O_PATH);
            sys::mount_at("make the volume read-only", "", mounted.get(), shown, "",
                          MS_REMOUNT | MS_BIND | MS_RDONLY);
        }
    }
}

// 8. Scratch space that lives in memory and goes with the box.
void mount_tmpfs(const Options& o, int root) {
    for (const auto& path : o.tmpfs) {
        Fd target = make_dirs_in_root(root, o.new_root, path, 0755);
        sys::mount_at("give the box scratch space in memory", "tmpfs", target.get(), o.new_root + clean_path(path),
                      "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    }
}

// 9. The working directory must exist before the root turns read-only.
void make_workdir(const Options& o, int root) {
    if (!o.workdir.empty()) make_dirs_in_root(root, o.new_root, o.workdir, 0755);
}

// 10. docker run --read-only: the root cannot be written; the mounts on it
//     (/proc, /dev, volumes, tmpfs) keep their own flags.
void make_readonly(const Options& o) {
    if (!o.read_only) return;
    sys::mount("make the new root read-only", "", o.new_root, "", MS_REMOUNT | MS_BIND | MS_RDONLY);
}

// 11. Enter the root. pivot_root(".", ".") stacks the old root on top of the
//     new one; detaching "." then drops it, so no path leads back to the
//     host's files (the escape a plain chroot allows).
void enter_root(const Options& o) {
    if (!o.pivot) {
        sys::chroot("make " + o.new_root + " the root of this process", o.new_root);
        sys::chdir("start at the top of the new root", "/");
        return;
    }
    sys::chdir("go to the new root", o.new_root);
    try {
        sys::pivot_root("make the new root the root of this mount namespace", ".", ".");
    } catch (Error& e) {
        if (e.err() == EINVAL) e.with_hint("pivot_root needs a private mount namespace and a root that is not shared; " + std::string(k_mount_ns_hint));
        throw;
    }
    sys::umount2("detach the old root so nothing leads back to the host", ".", MNT_DETACH);
    sys::chdir("start at the top of the new root", "/");
}

void enter_workdir(const Options& o) {
    if (!o.workdir.empty()) sys::chdir("start the command in its working directory", o.workdir);
}

void set_environment(const Options& o) {
    // Empty means empty: not even boxkit's own narration flags reach the
    // box (pass one on with -e BOXKIT_EXPLAIN=1 to narrate a chain further).
    if (o.clear_env) ::clearenv();
    for (const auto& kv : o.env) {
        auto eq = kv.find('=');
        ::setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    }
}

// The box's /etc/passwd or /etc/group, read from inside the new root (so
// the box's files, never the host's). Not a FIFO or a device that would
// block us or never end: a regular file, of a sane size.
std::string read_box_id_file(const std::string& path, bool needed) {
    const std::string why = "look up --user's names in the box's " + path;
    explain(why, "open(" + quote(path) + ", O_RDONLY|O_NONBLOCK|O_CLOEXEC)");
    Fd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        int err = errno;
        if (err == ENOENT && !needed) return "";
        Error e(why, "open(" + quote(path) + ")", err);
        if (err == ENOENT) e.with_hint("the box has no " + path + "; add one, or give numbers: --user UID[:GID]");
        throw e;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (4 << 20))
        throw Error(why, "", 0, path + " in the box must be a regular file of at most 4 MiB");
    std::string text(size_t(st.st_size), '\0');
    ssize_t n = ::read(fd.get(), text.data(), text.size());
    if (n < 0) throw_errno(why, "read(" + quote(path) + ")");
    text.resize(size_t(n));
    return text;
}

// 12. Last, give up root: groups, then gid, then uid (after setuid we could
//     no longer change the others). Names are looked up now, inside.
void drop_to_user(const Options& o) {
    if (!o.user) return;
    UserSpec user = *o.user;
    if (!user.user_name.empty() || !user.group_name.empty()) {
        auto passwd = parse_id_file(read_box_id_file("/etc/passwd", !user.user_name.empty()));
        auto group = parse_id_file(read_box_id_file("/etc/group", !user.group_name.empty()));
        resolve_user(user, passwd, group);
    }
    try {
        sys::setgroups("drop the supplementary groups", {});
    } catch (const Error& e) {
        // In a user namespace with setgroups denied there are none to drop.
        if (e.err() != EPERM) throw;
    }
    sys::setresgid("run as the requested group", user.gid);
    sys::setresuid("run as the requested user", user.uid);
}

} // namespace

bool Options::mounts_anything() const {
    return pivot || proc || dev || sys || read_only || !binds.empty() || !tmpfs.empty() || !lowers.empty();
}

void validate(Options& o) {
    if (o.new_root.empty()) throw Error("start without a new root", "", 0, "give the directory: chrootify ./rootfs -- /bin/sh");
    if (!o.lowers.empty() && o.upper.empty() && !o.upper_tmpfs)
        throw Error("use --overlay without --upper", "", 0,
                    "say where the box's writes go: --upper DIR, or --upper-tmpfs to keep them in memory");
    if (o.upper_tmpfs && (!o.upper.empty() || !o.work.empty()))
        throw Error("use --upper-tmpfs with --upper or --work", "", 0,
                    "choose one place for the box's writes: memory (--upper-tmpfs) or a directory (--upper DIR)");
    if (o.lowers.empty() && (!o.upper.empty() || !o.work.empty() || o.upper_tmpfs))
        throw Error("use --upper, --upper-tmpfs or --work without --overlay", "", 0,
                    "give the layers too: --overlay LOWER --upper DIR");
    if (o.work.empty() && !o.upper.empty()) o.work = o.upper + ".work";
    if (!o.workdir.empty() && o.workdir[0] != '/')
        throw Error("use --workdir " + o.workdir, "", 0, "the working directory is a path inside the box: it starts with /");
    struct stat st {};
    if (::stat(o.new_root.c_str(), &st) < 0) {
        int err = errno;
        throw Error("use " + o.new_root + " as the new root", "stat(" + quote(o.new_root) + ")", err,
                    "make a root filesystem first, for example: lessons/02-chroot shows how with busybox");
    }
    if (!S_ISDIR(st.st_mode)) throw Error("use " + o.new_root + " as the new root", "", ENOTDIR);
    if (!o.upper.empty()) {
        for (auto* dir : {&o.upper, &o.work})
            if (::mkdir(dir->c_str(), 0755) < 0 && errno != EEXIST)
                throw_errno("make the overlay's directory " + *dir, "mkdir(" + quote(*dir) + ")");
    }
    if (o.command.empty()) o.command = {"/bin/sh"};
}

void run(const Options& o) {
    check_mount_namespace(o);
    make_mounts_private(o);
    Fd root = prepare_root(o);
    mount_proc(o, root.get());
    mount_dev(o, root.get());
    mount_sys(o, root.get());
    mount_binds(o, root.get());
    mount_tmpfs(o, root.get());
    make_workdir(o, root.get());
    make_readonly(o);
    enter_root(o);
    enter_workdir(o);
    set_environment(o);
    drop_to_user(o);
    exec_command(o.command);
}

} // namespace bk::chrootify
