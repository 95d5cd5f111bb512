// nsjail-lite: what a process can see. It runs a command in new namespaces
// (pid, uts, ipc, mount, net, user, cgroup), as pid 1 of its own process tree
// or under a tiny init that reaps orphans; rootless with a user namespace;
// and keeps named boxes that `ps`, `exec`, `stop`, `kill`, `inspect` and
// `logs` find again (the docker ps/exec/stop of this toolkit).
//
// It leaves the filesystem view to chrootify, limits to cgctl and ports to
// netfwd: put them after `--`. See namespaces(7), pid_namespaces(7),
// user_namespaces(7), mount_namespaces(7), clone(2), unshare(2), setns(2).
//
// One file per concept, like google/nsjail: pid.cpp (the box's first
// process), init.cpp (--init), user.cpp, uts.cpp, mount.cpp, net.cpp, and
// run.cpp that calls them in order; join.cpp (exec) and commands.cpp (ps,
// stop, kill, inspect, logs) for named boxes.
#pragma once
#include <sys/types.h>
#include <termios.h>

#include <optional>
#include <string>
#include <vector>

#include "fd.hpp"
#include "userns.hpp"

namespace bk::nsjail_lite {

struct Options {
    bool pid = false, uts = false, ipc = false, mount = false, net = false, user = false, cgroup = false;
    bool all = false;
    bool mount_proc = false;  // a fresh /proc for the new PID namespace
    std::string hostname;
    bool init = false;
    bool map_root = false;
    std::string map_user;                  // "UID:GID" inside for the caller
    std::vector<std::string> uid_map, gid_map;  // INSIDE:OUTSIDE:COUNT ranges
    std::vector<int> keep_fds;
    std::string name;
    bool detach = false;
    bool no_tty = false;                   // --no-tty: pass the caller's terminal through
    std::vector<std::string> command;

    // Filled in by validate():
    userns::Plan user_plan;
    // With --detach: the log the command's stdout and stderr go to. They are
    // switched to it only at the exec, so --explain still narrates every
    // step on the terminal.
    int log_fd = -1;
    // With a terminal of its own (tty.cpp): the box's end of it, which
    // becomes its stdin, stdout and stderr at the exec.
    int tty_fd = -1;
    int tty_master = -1;                   // nsjail-lite's end, closed in the box

    // CLONE_NEW* flags for the namespaces asked for.
    int clone_flags() const;
    // Whether nsjail-lite must stay as a parent (a new PID namespace needs a
    // child; so do --init, names, --detach and the newuidmap helpers).
    bool needs_child() const;
};

// Check the options against each other (after --all and --hostname have
// been applied); throws bk::Error with a hint, exit 125.
void validate(Options& o);

// Start the box. Returns the exit code for main (with --detach: 0 once the
// box runs); without a child it execs and returns only by throwing.
int run(Options& o);

// ---- the steps, one file each ---------------------------------------------

// user.cpp: map ids for process `pid` (0: ourselves) as planned.
void setup_user(const Options& o, pid_t pid);
// uts.cpp, mount.cpp, net.cpp: run inside the new namespaces.
void setup_uts(const Options& o);
void setup_mount(const Options& o);
void setup_net(const Options& o);
// pid.cpp: the inside half, in the child (or in us, without a child):
// every step after the namespaces exist, ending in exec (or --init).
[[noreturn]] void enter_box(const Options& o, int error_fd);
// init.cpp: pid 1 that runs the command as its child, reaps every orphan,
// forwards signals, and exits as the command did.
[[noreturn]] void run_init(const Options& o, int error_fd);
// exec the command with only 0, 1, 2 and --keep-fd fds open.
[[noreturn]] void exec_command(const Options& o);

// hints.cpp: the hint for a failed unshare/clone/setns, keyed on errno and
// on what the machine allows (not root, user namespaces off, limits).
std::string namespace_hint(int err, int flags);
// Names of the namespaces in `flags` missing from this kernel ("" if none).
std::string missing_kinds(int flags);

// tty.cpp: a terminal of the box's own, when run from a terminal.
struct Terminal {
    Fd master, slave;
    struct termios saved {};
    bool raw = false;
};
bool foreground_terminal();              // stdin is a terminal we are the foreground job of
bool wants_terminal(const Options& o);
Terminal open_terminal();                 // in nsjail-lite, before the clone
void take_terminal(int slave);            // in the box: setsid, TIOCSCTTY
// Put the caller's terminal in raw mode, copy both ways until pid ends, and
// restore the terminal (on an error too).
void relay(Terminal& t, pid_t pid);

// ---- named boxes: join.cpp and commands.cpp ----------------------------------

// exec: with clear_env the command starts from an empty environment; env
// ("K=V") is added either way, as docker exec's -e.
int cmd_exec(const std::string& name, std::vector<std::string> command, bool clear_env = false,
             const std::vector<std::string>& env = {});
int cmd_ps(bool all, bool json);
int cmd_inspect(const std::string& name, bool json);
int cmd_logs(const std::string& name, bool follow);
int cmd_stop(const std::string& name, double grace_seconds);
int cmd_kill(const std::string& name, const std::string& signal);

// "TERM", "SIGTERM", "term", "15" -> 15. Throws bk::Error on anything else.
int parse_signal(const std::string& text);
// "3s", "2m", "1h", "4d": how long ago, the way docker ps prints it.
std::string age_string(long long seconds);

} // namespace bk::nsjail_lite
