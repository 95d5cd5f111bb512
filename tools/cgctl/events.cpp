// cgctl events NAME: OOM kills and limit hits as they happen. The kernel
// counts them in the group's files, and says when they change:
//
//   v2  memory.events (oom, oom_kill, max, high), pids.events (max) and
//       cgroup.events (populated, frozen) are "modified" for inotify(7)
//       and poll(2) whenever a count changes;
//   v1  an eventfd(2) registered in cgroup.event_control together with an
//       open memory.oom_control fires when the group runs out of memory
//       (the OOM notifier; memory.rst "Memory thresholds"/"OOM control").
//
// Either way cgctl re-reads the counters when woken, and also every 200 ms
// (pids.events on v1 notifies no one), and prints what went up. It ends when
// the group is removed, on SIGINT/SIGTERM, or after --count events.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>

#include "backend.hpp"
#include "cgctl.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "json.hpp"
#include "sys.hpp"

namespace bk::cgctl {

namespace {

volatile sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

// The counters we follow, with what each means for a student.
struct Counter {
    const char* key;
    const char* meaning;
};
const Counter k_counters[] = {
    {"oom_kill", "the OOM killer killed a process in the group"},
    {"memory_max", "memory use hit the limit (the kernel reclaimed or refused memory)"},
    {"pids_max", "a fork or clone was refused at the pids limit"},
    {"memory_high", "memory use went over memory.high (the group was slowed down)"},
    {"oom", "the group ran out of memory"},
};

std::map<std::string, uint64_t> counters(const Backend& b, const std::string& name) {
    Usage u = b.usage(name);
    std::map<std::string, uint64_t> c;
    if (u.oom_kills) c["oom_kill"] = *u.oom_kills;
    if (u.memory_limit_hits) c["memory_max"] = *u.memory_limit_hits;
    if (u.pids_limit_hits) c["pids_max"] = *u.pids_limit_hits;
    if (b.version() == Version::v2) {
        auto ev = b.fs().read(b.path(name) + "/memory.events");
        if (auto v = keyed_value(ev, "high")) c["memory_high"] = *v;
        if (auto v = keyed_value(ev, "oom")) c["oom"] = *v;
    }
    return c;
}

std::string now_utc() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
    return buf;
}

// v1's OOM notifier: "EVENTFD FD" into cgroup.event_control.
Fd v1_oom_eventfd(Backend& b, const std::string& name, Fd& oom_control) {
    std::string path = b.path(name);
    // The v1 memory tree is where path() points.
    oom_control = sys::open("hold memory.oom_control open for the OOM notifier", path + "/memory.oom_control", O_RDONLY);
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) throw_errno("make an eventfd for OOM notices", "eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)");
    Fd ev(efd);
    explain("make an eventfd for OOM notices", "eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK) = " + std::to_string(efd));
    b.fs().write("ask the kernel to signal the eventfd when the group runs out of memory",
                 path + "/cgroup.event_control", std::to_string(ev.get()) + " " + std::to_string(oom_control.get()));
    return ev;
}

} // namespace

int events(const Options& o) {
    check_name(o.name);
    auto b = open_backend();
    if (!b->exists(o.name))
        throw Error("find the group " + o.name, "", ENOENT, "see 'cgctl ls' for the groups under " + b->parent_path());

    struct sigaction sa {};
    sa.sa_handler = on_stop;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);

    Fd wake, oom_control;
    if (b->version() == Version::v2) {
        int in = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        if (in < 0) throw_errno("watch the group's event files", "inotify_init1(IN_CLOEXEC|IN_NONBLOCK)");
        wake = Fd(in);
        for (const auto& f : b->event_files(o.name)) {
            explain("wake up when the kernel changes a count", "inotify_add_watch(" + quote(f) + ", IN_MODIFY)");
            ::inotify_add_watch(in, f.c_str(), IN_MODIFY);
        }
    } else {
        try {
            wake = v1_oom_eventfd(*b, o.name, oom_control);
        } catch (const Error& e) {
            detail("no OOM notifier, counting only: " + e.message());
        }
    }

    auto last = counters(*b, o.name);
    if (!o.json)
        std::fprintf(stderr, "%s: following %s (Ctrl-C to stop)\n", tool_name().c_str(), b->path(o.name).c_str());
    long seen = 0;
    while (!g_stop && (o.count == 0 || seen < o.count)) {
        pollfd p{wake.get(), POLLIN, 0};
        int n = ::poll(&p, wake ? 1 : 0, 200);
        if (n > 0) {
            char buf[4096];
            while (::read(wake.get(), buf, sizeof buf) > 0) {}  // drain
        }
        if (!b->exists(o.name)) {
            if (!o.json) std::fprintf(stderr, "%s: the group %s is gone\n", tool_name().c_str(), o.name.c_str());
            break;
        }
        auto now = counters(*b, o.name);
        for (const auto& c : k_counters) {
            auto it = now.find(c.key);
            if (it == now.end()) continue;
            uint64_t before = last.count(c.key) ? last[c.key] : 0;
            if (it->second <= before || (o.count && seen >= o.count)) continue;
            ++seen;
            if (o.json) {
                json j{{"group", o.name}, {"event", c.key}, {"new", it->second - before}, {"total", it->second}, {"time", now_utc()}};
                std::cout << j.dump() << "\n" << std::flush;
            } else {
                std::cout << now_utc() << " " << o.name << " " << c.key << " +" << (it->second - before) << " (total "
                          << it->second << "): " << c.meaning << "\n" << std::flush;
            }
        }
        last = now;
    }
    return 0;
}

} // namespace bk::cgctl
