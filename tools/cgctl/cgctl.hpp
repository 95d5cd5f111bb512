// cgctl: control groups, what a process may use. It makes groups under one
// "boxkit" parent group, writes their limits (memory, swap, CPU time and
// weight, CPU set, processes, disk), puts processes in them, reports what
// they use (like docker stats), follows their OOM kills and limit hits as
// they happen, freezes them (docker pause) and removes them. The same
// command line works on cgroup v1, v2 and the hybrid of the two; --explain
// shows which file each limit became.
//
// It leaves namespaces to nsjail-lite and the filesystem view to chrootify:
// `cgctl run LIMITS -- nsjail-lite ... -- chrootify ... -- CMD` limits the
// whole box. See cgroups(7), Documentation/admin-guide/cgroup-v2.rst and
// cgroup-v1/, systemd-run(1), docker-stats(1).
#pragma once
#include <string>
#include <vector>

#include "limits.hpp"

namespace bk::cgctl {

struct Options {
    std::string name;           // the group; run makes "run-PID" when empty
    Limits limits;
    bool force = false;         // rm: kill the members first
    bool json = false;          // data as one JSON document (run: the report)
    bool watch = false;         // stats: redraw live
    double interval = 1.0;      // stats --watch: seconds between redraws
    long count = 0;             // stats --watch / events: stop after N (0: never)
    std::string report_file;    // run: also write the JSON report here
    std::vector<std::string> command;  // after "--"
};

// One function per command; each returns the exit code.
int create(const Options& o);
int set(const Options& o);
int rm(const Options& o);
int ls(const Options& o);
int gc(const Options& o);
int exec(const Options& o);    // join (making it if needed), then exec: never returns on success
int run(const Options& o);     // transient group, child, report, remove
int stats(const Options& o);
int events(const Options& o);
int freeze(const Options& o);
int thaw(const Options& o);

} // namespace bk::cgctl
