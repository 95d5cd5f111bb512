#include "userns.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <tuple>

#include "argv.hpp"
#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "process.hpp"
#include "sys.hpp"

namespace bk::userns {

namespace {

constexpr unsigned long k_max_id = 4294967295UL;  // (uid_t)-1 is never a valid id

unsigned long parse_number(const std::string& s, const std::string& whole, const char* what) {
    if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) || s.size() > 10)
        throw Error("understand " + quote(whole), "", 0, std::string("expected ") + what);
    unsigned long v = std::stoul(s);
    if (v >= k_max_id) throw Error("understand " + quote(whole), "", 0, "ids stop below 4294967295");
    return v;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t pos = s.find(sep, start);
        out.push_back(s.substr(start, pos - start));
        if (pos == std::string::npos) return out;
        start = pos + 1;
    }
}

void run_helper(const std::string& helper, pid_t pid, const std::vector<IdRange>& ranges) {
    auto argv = helper_argv(helper, pid, ranges);
    std::string shown;
    for (auto& a : argv) shown += (shown.empty() ? "" : " ") + a;
    explain("let the setuid helper write the ranges /etc/sub" + std::string(helper == "newuidmap" ? "uid" : "gid") +
                " grants",
            shown);
    pid_t child = ::fork();
    if (child < 0) throw_errno("start " + helper, "fork()");
    if (child == 0) {
        auto cargv = to_exec_argv(argv);
        ::execvp(cargv[0], cargv.data());
        ::_exit(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
    }
    int status = Child(child).wait();
    if (status == 0) return;
    int code = exit_code_from_status(status);
    if (code == EXIT_NOT_FOUND)
        throw Error("map ids with " + helper, shown, ENOENT,
                    "install the helpers (Debian: apt-get install uidmap), or map only yourself with --map-root");
    throw Error("map ids with " + helper, shown + ": exit status " + std::to_string(code), 0,
                "the ranges must be granted to you in /etc/sub" + std::string(helper == "newuidmap" ? "uid" : "gid") +
                    " (see subuid(5)); your own id maps with --map-root");
}

} // namespace

IdRange parse_range(const std::string& text) {
    auto parts = split(text, ':');
    if (parts.size() < 2 || parts.size() > 3)
        throw Error("understand the id range " + quote(text), "", 0, "write INSIDE:OUTSIDE[:COUNT], e.g. 0:100000:65536");
    IdRange r;
    r.inside = parse_number(parts[0], text, "INSIDE:OUTSIDE[:COUNT] in numbers");
    r.outside = parse_number(parts[1], text, "INSIDE:OUTSIDE[:COUNT] in numbers");
    r.count = parts.size() == 3 ? parse_number(parts[2], text, "INSIDE:OUTSIDE[:COUNT] in numbers") : 1;
    if (r.count == 0) throw Error("understand the id range " + quote(text), "", 0, "COUNT must be at least 1");
    if (r.inside + r.count > k_max_id || r.outside + r.count > k_max_id)
        throw Error("understand the id range " + quote(text), "", 0, "the range runs past the last id");
    return r;
}

std::pair<unsigned long, unsigned long> parse_user(const std::string& text) {
    auto parts = split(text, ':');
    if (parts.size() > 2) throw Error("understand the user " + quote(text), "", 0, "write UID:GID, e.g. 1000:1000");
    unsigned long uid = parse_number(parts[0], text, "UID:GID in numbers");
    unsigned long gid = parts.size() == 2 ? parse_number(parts[1], text, "UID:GID in numbers") : uid;
    return {uid, gid};
}

std::string map_text(const std::vector<IdRange>& ranges) {
    std::string out;
    for (auto& r : ranges)
        out += std::to_string(r.inside) + " " + std::to_string(r.outside) + " " + std::to_string(r.count) + "\n";
    return out;
}

void check_ranges(const std::vector<IdRange>& ranges, const std::string& which) {
    // The kernel takes at most 340 lines (since Linux 4.15; 5 before).
    if (ranges.size() > 340) throw Error("map " + which, "", 0, "the kernel takes at most 340 ranges");
    for (size_t i = 0; i < ranges.size(); ++i) {
        for (size_t j = i + 1; j < ranges.size(); ++j) {
            auto overlap = [](unsigned long a, unsigned long b, unsigned long n, unsigned long m) {
                return a < b + m && b < a + n;
            };
            const IdRange &a = ranges[i], &b = ranges[j];
            if (overlap(a.inside, b.inside, a.count, b.count) || overlap(a.outside, b.outside, a.count, b.count))
                throw Error("map " + which, "", 0,
                            "ranges " + map_text({a}).substr(0, map_text({a}).size() - 1) + " and " +
                                map_text({b}).substr(0, map_text({b}).size() - 1) +
                                " overlap; the kernel refuses overlapping ranges");
        }
    }
}

Plan plan(uid_t euid, gid_t egid, const std::string& map_user, const std::vector<IdRange>& uid_ranges,
          const std::vector<IdRange>& gid_ranges) {
    Plan p;
    unsigned long in_uid = 0, in_gid = 0;
    if (!map_user.empty()) std::tie(in_uid, in_gid) = parse_user(map_user);
    p.uids = uid_ranges.empty() ? std::vector<IdRange>{{in_uid, euid, 1}} : uid_ranges;
    p.gids = gid_ranges.empty() ? std::vector<IdRange>{{in_gid, egid, 1}} : gid_ranges;
    check_ranges(p.uids, "user ids");
    check_ranges(p.gids, "group ids");
    bool only_self = p.uids.size() == 1 && p.uids[0].outside == euid && p.uids[0].count == 1 && p.gids.size() == 1 &&
                     p.gids[0].outside == egid && p.gids[0].count == 1;
    // Root writes any map itself. An ordinary user writes only their own id,
    // and only after denying setgroups; anything wider needs the helpers.
    p.use_helpers = euid != 0 && !only_self;
    p.deny_setgroups = euid != 0 && !p.use_helpers;
    return p;
}

std::vector<std::string> helper_argv(const std::string& helper, pid_t pid, const std::vector<IdRange>& ranges) {
    std::vector<std::string> argv{helper, std::to_string(pid)};
    for (auto& r : ranges) {
        argv.push_back(std::to_string(r.inside));
        argv.push_back(std::to_string(r.outside));
        argv.push_back(std::to_string(r.count));
    }
    return argv;
}

void write_maps(const Plan& plan, pid_t pid) {
    if (plan.use_helpers) {
        run_helper("newuidmap", pid, plan.uids);
        run_helper("newgidmap", pid, plan.gids);
        return;
    }
    std::string dir = "/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid));
    if (plan.deny_setgroups)
        sys::write_file("an ordinary user may map a group only once setgroups is denied", dir + "/setgroups", "deny");
    sys::write_file("say which user ids inside are which outside", dir + "/uid_map", map_text(plan.uids));
    sys::write_file("say which group ids inside are which outside", dir + "/gid_map", map_text(plan.gids));
}

} // namespace bk::userns
