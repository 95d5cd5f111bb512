// The named-box commands that do not enter a box: ps, inspect, logs, stop
// and kill. They read the records in the run directory (lib/boxes.hpp) and
// signal a box through a pidfd, which cannot come to mean another process.
// See pidfd_open(2), pidfd_send_signal(2), signal(7).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "boxes.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "json.hpp"
#include "ns.hpp"
#include "nsjail_lite.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

namespace {

std::string join_command(const std::vector<std::string>& argv) {
    std::string out;
    for (auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

// A pidfd for the box's process, taken only after checking it is still the
// box (same start time), so a signal never reaches a stranger.
Fd hold_box(const boxes::Box& box) {
    Fd fd = sys::pidfd_for("hold the box's first process, so its pid cannot be reused under us", box.pid);
    if (!boxes::alive(box)) throw Error("find a running box named " + box.name, "", 0, "it ended just now");
    return fd;
}

// Wait up to `seconds` for the process behind a pidfd to end.
bool wait_exit(int pidfd, double seconds) {
    struct pollfd p {pidfd, POLLIN, 0};
    int ms = int(seconds * 1000);
    for (;;) {
        int rc = ::poll(&p, 1, ms);
        if (rc < 0 && errno == EINTR) continue;
        return rc > 0;
    }
}

json inspect_json(const boxes::Box& b) {
    json doc = boxes::to_json(b);
    bool running = boxes::alive(b);
    // Made in another PID namespace: its pids cannot be checked from here.
    doc["running"] = boxes::foreign(b) ? json(nullptr) : json(running);
    json ids = json::object();
    if (running && !boxes::foreign(b))
        for (auto& [kind, path] : b.namespaces) ids[kind] = ns::id(path);
    doc["namespace_ids"] = ids;
    return doc;
}

} // namespace

std::string age_string(long long s) {
    if (s < 0) s = 0;
    if (s < 60) return std::to_string(s) + "s";
    if (s < 3600) return std::to_string(s / 60) + "m";
    if (s < 86400) return std::to_string(s / 3600) + "h";
    return std::to_string(s / 86400) + "d";
}

int parse_signal(const std::string& text) {
    std::string t;
    for (char c : text) t += char(std::toupper((unsigned char)c));
    if (!t.empty() && std::all_of(t.begin(), t.end(), ::isdigit) && t.size() <= 2) {
        int n = std::stoi(t);
        if (n >= 1 && n <= 64) return n;
    }
    if (t.rfind("SIG", 0) == 0) t = t.substr(3);
    for (int n = 1; n < 32; ++n) {
        const char* abbrev = sigabbrev_np(n);
        if (abbrev && t == abbrev) return n;
    }
    throw Error("understand the signal " + quote(text), "", 0, "use a name like TERM, KILL, HUP, USR1 or a number 1-64");
}

int cmd_ps(bool all, bool as_json) {
    json doc = json::array();
    std::vector<std::vector<std::string>> rows;
    long long now = (long long)::time(nullptr);
    for (auto& b : boxes::list()) {
        bool running = boxes::alive(b);
        if (!running && !all) continue;
        if (as_json) {
            doc.push_back(inspect_json(b));
            continue;
        }
        std::string ns;
        for (auto& [kind, path] : b.namespaces) ns += (ns.empty() ? "" : ",") + kind;
        rows.push_back({b.name, std::to_string(b.pid),
                        boxes::foreign(b) ? "in another pid namespace"
                        : running         ? "up " + age_string(now - b.started_unix)
                                          : "gone (stale record)",
                        ns.empty() ? "-" : ns, join_command(b.command)});
    }
    if (as_json) {
        print_json(doc);
        return 0;
    }
    std::vector<std::string> head{"NAME", "PID", "STATUS", "NAMESPACES", "COMMAND"};
    std::vector<size_t> width(head.size());
    for (size_t i = 0; i < head.size(); ++i) width[i] = head[i].size();
    for (auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    auto print = [&](const std::vector<std::string>& r) {
        std::string line;
        for (size_t i = 0; i < r.size(); ++i)
            line += i + 1 == r.size() ? r[i] : r[i] + std::string(width[i] - r[i].size() + 2, ' ');
        std::printf("%s\n", line.c_str());
    };
    print(head);
    for (auto& r : rows) print(r);
    return 0;
}

int cmd_inspect(const std::string& name, bool as_json) {
    boxes::check_name(name);
    auto box = boxes::read(name);
    if (!box) throw Error("find a box named " + name, "", 0, "see the boxes with 'nsjail-lite ps --all'");
    json doc = inspect_json(*box);
    if (as_json) {
        print_json(doc);
        return 0;
    }
    std::printf("name:       %s\n", box->name.c_str());
    std::printf("status:     %s\n", doc["running"].get<bool>() ? "running" : "gone (stale record)");
    std::printf("pid:        %d (start time %llu)\n", box->pid, box->start_time);
    std::printf("command:    %s\n", join_command(box->command).c_str());
    std::printf("started:    %s\n", box->started.c_str());
    if (!box->hostname.empty()) std::printf("hostname:   %s\n", box->hostname.c_str());
    std::printf("cwd:        %s\n", box->cwd.c_str());
    if (!box->log_path.empty()) std::printf("log:        %s\n", box->log_path.c_str());
    for (auto& [kind, path] : box->namespaces) {
        std::string id = doc["namespace_ids"].value(kind, std::string());
        std::printf("namespace:  %-7s %s%s\n", kind.c_str(), path.c_str(), id.empty() ? "" : ("  " + id).c_str());
    }
    return 0;
}

int cmd_logs(const std::string& name, bool follow) {
    boxes::check_name(name);
    auto box = boxes::read(name);
    std::string path = box && !box->log_path.empty() ? box->log_path : boxes::log_path(name);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        Error e("read the log of box " + name, "openat(AT_FDCWD, " + quote(path) + ", O_RDONLY|O_CLOEXEC)", errno);
        throw e.with_hint("only boxes started with --detach keep a log; see 'nsjail-lite ps'");
    }
    Fd log(fd);
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(log.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read the log of box " + name, "read(" + quote(path) + ")");
        if (n > 0) {
            if (std::fwrite(buf, 1, size_t(n), stdout) != size_t(n)) return 0;  // reader went away
            continue;
        }
        std::fflush(stdout);
        // At the end: with --follow, wait for more while the box runs.
        if (!follow || !box || !boxes::alive(*box)) {
            if (follow && box) {  // one last read after it ended
                while ((n = ::read(log.get(), buf, sizeof buf)) > 0) std::fwrite(buf, 1, size_t(n), stdout);
            }
            return 0;
        }
        ::usleep(100 * 1000);
    }
}

int cmd_stop(const std::string& name, double grace) {
    boxes::Box box = boxes::find_running(name);
    Fd fd = hold_box(box);
    std::string shown = "box " + name + ", pid " + std::to_string(box.pid);
    sys::pidfd_send_signal("ask the box to end", fd.get(), SIGTERM, shown);
    if (!wait_exit(fd.get(), grace)) {
        detail("box " + name + " did not end within the grace time; killing it");
        sys::pidfd_send_signal("end the box: it did not end when asked", fd.get(), SIGKILL, shown);
        if (!wait_exit(fd.get(), 10)) throw Error("stop box " + name, "", 0, "its process did not end even on SIGKILL");
    }
    // Its supervisor removes the record once it has reaped the box; if there
    // is none (it was killed), we do.
    for (int i = 0; i < 50; ++i) {
        auto b = boxes::read(name);
        if (!b || b->pid != box.pid) break;
        if (b->supervisor_pid == 0 || !boxes::process_start_time(b->supervisor_pid) ||
            *boxes::process_start_time(b->supervisor_pid) != b->supervisor_start_time) {
            boxes::remove(name, box.pid);
            break;
        }
        ::usleep(20 * 1000);
    }
    std::printf("%s\n", name.c_str());
    return 0;
}

int cmd_kill(const std::string& name, const std::string& signal) {
    int sig = parse_signal(signal);
    boxes::Box box = boxes::find_running(name);
    Fd fd = hold_box(box);
    sys::pidfd_send_signal("send the box the signal", fd.get(), sig, "box " + name + ", pid " + std::to_string(box.pid));
    std::printf("%s\n", name.c_str());
    return 0;
}

} // namespace bk::nsjail_lite
