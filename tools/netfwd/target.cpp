#include "target.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "boxes.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "net.hpp"
#include "sys.hpp"

namespace bk::netfwd {

namespace {

const char* const k_one_target = "name the box one way: --box NAME, --pid PID or --netns PATH";

std::uint64_t inode_of(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// A namespace file is only as good as its type: /proc/PID/ns/net is, a
// regular file or another kind of namespace is not.
void check_is_netns(int fd, const std::string& shown) {
    int type = ::ioctl(fd, NS_GET_NSTYPE);
    if (type < 0) {
        int err = errno;
        throw Error("use " + shown + " as a network namespace", "ioctl(NS_GET_NSTYPE)", err,
                    "give a network namespace file: /proc/PID/ns/net or /run/netns/NAME (ip netns add NAME)");
    }
    if (type != CLONE_NEWNET)
        throw Error("use " + shown + " as a network namespace", "", 0,
                    "it is another kind of namespace; give /proc/PID/ns/net or /run/netns/NAME");
}

// The host's own namespace needs no publishing, and forwarding a port into
// the namespace it is heard in would connect netfwd to itself.
void refuse_own_namespace(std::uint64_t inode, const std::string& shown) {
    struct stat self {};
    if (::stat("/proc/self/ns/net", &self) == 0 && self.st_ino == inode)
        throw Error("publish into " + shown + ": it shares the host's network namespace", "", 0,
                    "start the box with its own network (nsjail-lite --net, unshare --net, ip netns add); "
                    "a process on the host needs no port published");
}

void from_pid(Target& t, pid_t pid) {
    // The pidfd first, then the namespace: if the pid was reused between the
    // two, the pidfd (which cannot be reused) tells us below.
    t.pidfd = sys::pidfd_open("watch the box's pid 1, to stop when the box ends", pid);
    std::string path = "/proc/" + std::to_string(pid) + "/ns/net";
    t.netns = sys::open("hold the box's network namespace", path, O_RDONLY);
    if (::syscall(SYS_pidfd_send_signal, t.pidfd.get(), 0, nullptr, 0) < 0)
        throw Error("use pid " + std::to_string(pid), "pidfd_send_signal(0)", errno, "the process ended meanwhile");
    t.pid = pid;
    t.netns_path = path;
}

} // namespace

std::string link_name_for(std::uint64_t netns_inode) {
    // IFNAMSIZ is 16: "bk" and a namespace inode (10 digits) fit.
    return "bk" + std::to_string(netns_inode);
}

void TargetSpec::check(bool netns_allowed) const {
    int given = !box.empty() + (pid != 0) + !netns.empty();
    if (given != 1) throw Error("tell which box", "", 0, netns_allowed ? k_one_target : "name the box with --box NAME or --pid PID");
    if (!netns_allowed && !netns.empty())
        throw Error("use --netns here", "", 0, "a link is removed when the box's namespace goes; name the box with --box NAME or --pid PID");
    if (pid < 0) throw Error("use pid " + std::to_string(pid), "", 0, "a pid is a positive number");
}

Target resolve_target(const TargetSpec& spec) {
    Target t;
    if (!spec.box.empty()) {
        // nsjail-lite's record: the pid, and its start time to tell it from a reuse.
        boxes::Box box = boxes::find_running(spec.box);
        if (box.ns_path("net").empty())
            throw Error("publish into the box " + spec.box + ": it shares the host's network namespace", "", 0,
                        "start it with its own network: nsjail-lite --net --name " + spec.box + " -- ...");
        from_pid(t, box.pid);
        if (!boxes::alive(box))
            throw Error("use the box " + spec.box, "", 0, "it ended while netfwd was looking at it");
        t.shown = "box " + spec.box;
    } else if (spec.pid != 0) {
        try {
            from_pid(t, spec.pid);
        } catch (Error& e) {
            if (e.err() == ESRCH || e.err() == ENOENT)
                e.with_hint("no process has pid " + std::to_string(spec.pid) + "; see 'ps' or 'nsjail-lite ps'");
            throw;
        }
        t.shown = "pid " + std::to_string(spec.pid);
    } else {
        // O_NONBLOCK: a FIFO given here must not hang us waiting for a writer.
        t.netns = sys::open("hold the box's network namespace", spec.netns, O_RDONLY | O_NONBLOCK);
        check_is_netns(t.netns.get(), spec.netns);
        t.shown = "netns " + spec.netns;
        t.netns_path = spec.netns;
    }
    if (!t.netns_path.empty() && t.netns_path.find('/') == std::string::npos) t.netns_path = "./" + t.netns_path;
    t.netns_inode = inode_of(t.netns.get());
    refuse_own_namespace(t.netns_inode, t.shown);
    return t;
}

} // namespace bk::netfwd
