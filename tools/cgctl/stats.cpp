// cgctl stats NAME [--json] [--watch]: what a group uses now, like docker
// stats. The numbers are the kernel's own counters, read from the group's
// files; CPU % is the CPU time used between two readings over the time
// between them (100 % is one whole CPU).
#include "stats.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <thread>

#include "cgctl.hpp"
#include "error.hpp"
#include "explain.hpp"

namespace bk::cgctl {

namespace {

json opt(const std::optional<uint64_t>& v) {
    if (!v || *v == k_unlimited) return nullptr;
    return *v;
}

std::string count_of(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }
std::string limit_of(const std::optional<uint64_t>& v, bool bytes) {
    if (!v) return "-";
    if (*v == k_unlimited) return "max";
    return bytes ? format_size(*v) : std::to_string(*v);
}

// CPUs the quota allows ("0.2"), or "max".
std::string cpus_of(const Usage& u) {
    if (!u.cpu_quota_usec || !u.cpu_period_usec || *u.cpu_quota_usec == k_unlimited || *u.cpu_period_usec == 0) return "max";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", double(*u.cpu_quota_usec) / double(*u.cpu_period_usec));
    return buf;
}

std::string seconds(uint64_t usec) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f s", double(usec) / 1e6);
    return buf;
}

volatile sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

struct Sample {
    Usage u;
    std::chrono::steady_clock::time_point at;
};

Sample sample(const Backend& b, const std::string& name) { return {b.usage(name), std::chrono::steady_clock::now()}; }

std::optional<double> cpu_percent(const Sample& a, const Sample& b) {
    if (!a.u.cpu_usec || !b.u.cpu_usec) return std::nullopt;
    double wall = std::chrono::duration<double, std::micro>(b.at - a.at).count();
    if (wall <= 0) return std::nullopt;
    return 100.0 * double(*b.u.cpu_usec - std::min(*a.u.cpu_usec, *b.u.cpu_usec)) / wall;
}

std::string fixed(double v, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string watch_screen(const Backend& b, const std::string& name, const Sample& s, std::optional<double> cpu,
                         double interval) {
    const Usage& u = s.u;
    std::ostringstream out;
    out << "\033[H\033[2J";  // home, clear: redraw in place
    out << "cgctl stats " << name << "   " << b.path(name) << "   every " << interval << " s, Ctrl-C to stop\n\n";
    double cpus = cpus_of(u) == "max" ? 0 : std::stod(cpus_of(u));
    double cpu_frac = cpu ? *cpu / 100.0 / (cpus > 0 ? cpus : double(::sysconf(_SC_NPROCESSORS_ONLN))) : 0;
    out << "cpu     " << bar(cpu_frac, 30) << "  " << (cpu ? fixed(*cpu, 1) : "-") << " % of one CPU, limit "
        << cpus_of(u) << (cpus_of(u) == "max" ? "" : " CPU") << "\n";
    double mem_frac = u.memory_current && u.memory_limit && *u.memory_limit != k_unlimited
                          ? double(*u.memory_current) / double(*u.memory_limit) : 0;
    out << "memory  " << bar(mem_frac, 30) << "  " << (u.memory_current ? human_bytes(*u.memory_current) : "-")
        << " of " << limit_of(u.memory_limit, true) << ", peak " << (u.memory_peak ? human_bytes(*u.memory_peak) : "-")
        << "\n";
    double pids_frac = u.pids_current && u.pids_limit && *u.pids_limit != k_unlimited
                           ? double(*u.pids_current) / double(*u.pids_limit) : 0;
    out << "pids    " << bar(pids_frac, 30) << "  " << count_of(u.pids_current) << " of " << limit_of(u.pids_limit, false)
        << "\n\n";
    out << "oom kills " << count_of(u.oom_kills) << ", memory limit hits " << count_of(u.memory_limit_hits)
        << ", forks refused " << count_of(u.pids_limit_hits) << ", throttled "
        << (u.throttled_usec ? seconds(*u.throttled_usec) : "-") << ", "
        << (u.frozen && *u.frozen ? "frozen" : "running") << "\n";
    return out.str();
}

} // namespace

std::string human_bytes(uint64_t bytes) {
    if (bytes < 1024) return std::to_string(bytes) + "B";
    static const char* units[] = {"Ki", "Mi", "Gi", "Ti"};
    double v = double(bytes);
    int i = -1;
    while (v >= 1024 && i < 3) {
        v /= 1024;
        ++i;
    }
    return fixed(v, 1) + units[i];
}

json usage_json(const Usage& u) {
    json j;
    j["memory_current"] = opt(u.memory_current);
    j["memory_peak"] = opt(u.memory_peak);
    j["memory_limit"] = opt(u.memory_limit);
    j["cpu_usec"] = opt(u.cpu_usec);
    j["cpu_quota_usec"] = opt(u.cpu_quota_usec);
    j["cpu_period_usec"] = opt(u.cpu_period_usec);
    j["nr_periods"] = opt(u.nr_periods);
    j["nr_throttled"] = opt(u.nr_throttled);
    j["throttled_usec"] = opt(u.throttled_usec);
    j["pids_current"] = opt(u.pids_current);
    j["pids_peak"] = opt(u.pids_peak);
    j["pids_limit"] = opt(u.pids_limit);
    j["oom_kills"] = opt(u.oom_kills);
    j["memory_limit_hits"] = opt(u.memory_limit_hits);
    j["pids_limit_hits"] = opt(u.pids_limit_hits);
    j["frozen"] = u.frozen ? json(*u.frozen) : json(nullptr);
    j["members"] = u.members;
    return j;
}

std::string list_header() {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%-20s %5s %10s %8s %6s %5s %6s %4s %s", "NAME", "PROCS", "MEMORY", "LIMIT", "PIDS", "MAX",
                  "CPUS", "OOM", "STATE");
    return buf;
}

std::string list_line(const std::string& name, const Usage& u) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "%-20s %5zu %10s %8s %6s %5s %6s %4s %s", name.c_str(), u.members,
                  u.memory_current ? human_bytes(*u.memory_current).c_str() : "-", limit_of(u.memory_limit, true).c_str(),
                  count_of(u.pids_current).c_str(), limit_of(u.pids_limit, false).c_str(), cpus_of(u).c_str(),
                  count_of(u.oom_kills).c_str(), u.frozen && *u.frozen ? "frozen" : u.members ? "running" : "empty");
    return buf;
}

std::string usage_summary(const Usage& u) {
    std::string s = "memory peak " + (u.memory_peak ? human_bytes(*u.memory_peak) : std::string("-"));
    if (u.memory_limit && *u.memory_limit != k_unlimited) s += " of " + format_size(*u.memory_limit);
    s += ", cpu " + (u.cpu_usec ? seconds(*u.cpu_usec) : std::string("-"));
    s += ", pids peak " + count_of(u.pids_peak);
    if (u.pids_limit && *u.pids_limit != k_unlimited) s += " of " + std::to_string(*u.pids_limit);
    s += ", oom kills " + count_of(u.oom_kills);
    s += ", throttled " + (u.throttled_usec ? seconds(*u.throttled_usec) : std::string("-"));
    if (u.nr_throttled && u.nr_periods && *u.nr_periods)
        s += " (" + std::to_string(*u.nr_throttled) + " of " + std::to_string(*u.nr_periods) + " periods)";
    if (u.pids_limit_hits && *u.pids_limit_hits) s += ", forks refused " + std::to_string(*u.pids_limit_hits);
    return s;
}

std::string bar(double fraction, int width) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    int full = int(fraction * width + 0.5);
    return "[" + std::string(size_t(full), '#') + std::string(size_t(width - full), '.') + "]";
}

int stats(const Options& o) {
    check_name(o.name);
    auto b = open_backend();
    if (!b->exists(o.name))
        throw Error("find the group " + o.name, "", ENOENT, "see 'cgctl ls' for the groups under " + b->parent_path());
    using namespace std::chrono;
    // Two readings a moment apart give a CPU rate, as docker stats does.
    Sample before = sample(*b, o.name);
    if (!o.watch) {
        std::this_thread::sleep_for(200ms);
        Sample now = sample(*b, o.name);
        auto cpu = cpu_percent(before, now);
        if (o.json) {
            json j = usage_json(now.u);
            j["name"] = o.name;
            j["path"] = b->path(o.name);
            j["cpu_percent"] = cpu ? json(*cpu) : json(nullptr);
            print_json(j);
        } else {
            std::cout << "NAME        CPU %   MEM USAGE / LIMIT      PIDS / LIMIT   OOM KILLS   STATE\n";
            char buf[256];
            std::snprintf(buf, sizeof buf, "%-10s %6s   %-22s %-14s %-11s %s", o.name.c_str(),
                          cpu ? fixed(*cpu, 1).c_str() : "-",
                          ((now.u.memory_current ? human_bytes(*now.u.memory_current) : "-") + " / " +
                           limit_of(now.u.memory_limit, true)).c_str(),
                          (count_of(now.u.pids_current) + " / " + limit_of(now.u.pids_limit, false)).c_str(),
                          count_of(now.u.oom_kills).c_str(), now.u.frozen && *now.u.frozen ? "frozen" : "running");
            std::cout << buf << "\n";
        }
        return 0;
    }
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    for (long n = 0; !g_stop && (o.count == 0 || n < o.count); ++n) {
        ::poll(nullptr, 0, int(o.interval * 1000));
        if (g_stop) break;
        if (!b->exists(o.name)) {
            std::cout << "\ncgctl: the group " << o.name << " is gone\n";
            return 0;
        }
        Sample now = sample(*b, o.name);
        if (o.json) {
            json j = usage_json(now.u);
            j["name"] = o.name;
            auto cpu = cpu_percent(before, now);
            j["cpu_percent"] = cpu ? json(*cpu) : json(nullptr);
            std::cout << j.dump() << "\n" << std::flush;  // one JSON document a line
        } else {
            std::cout << watch_screen(*b, o.name, now, cpu_percent(before, now), o.interval) << std::flush;
        }
        before = now;
    }
    return 0;
}

} // namespace bk::cgctl
