#include "layout.hpp"

#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "error.hpp"
#include "explain.hpp"

namespace bk::cgctl {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    std::istringstream in(s);
    while (std::getline(in, cur, sep)) out.push_back(cur);
    return out;
}

// The v1 controllers cgctl knows; "name=systemd" and the like carry none.
const std::set<std::string> k_v1_controllers = {"cpu",     "cpuacct", "cpuset", "memory",  "devices", "freezer",
                                                "blkio",   "pids",    "net_cls", "net_prio", "perf_event", "hugetlb",
                                                "rdma",    "misc"};

} // namespace

const char* kind_name(Kind k) {
    switch (k) {
    case Kind::v1: return "cgroup v1";
    case Kind::v2: return "cgroup v2";
    case Kind::hybrid: return "hybrid (v1 controllers, an empty v2 tree)";
    default: return "no cgroups";
    }
}

std::string unescape_mountinfo(const std::string& field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() &&
            std::isdigit(static_cast<unsigned char>(field[i + 1]))) {
            out += char(std::stoi(field.substr(i + 1, 3), nullptr, 8));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

Layout parse_mountinfo(const std::string& text) {
    Layout l;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
        std::vector<std::string> f = split(line, ' ');
        size_t dash = 0;
        for (size_t i = 6; i < f.size(); ++i)
            if (f[i] == "-") { dash = i; break; }
        if (dash == 0 || f.size() < dash + 4) continue;
        const std::string& fstype = f[dash + 1];
        std::string mountpoint = unescape_mountinfo(f[4]);
        if (fstype == "cgroup2") {
            if (l.v2_mount.empty()) l.v2_mount = mountpoint;
        } else if (fstype == "cgroup") {
            for (const auto& opt : split(f[dash + 3], ','))
                if (k_v1_controllers.count(opt) && !l.v1_mounts.count(opt)) l.v1_mounts[opt] = mountpoint;
        }
    }
    if (!l.v1_mounts.empty()) l.kind = l.v2_mount.empty() ? Kind::v1 : Kind::hybrid;
    else if (!l.v2_mount.empty()) l.kind = Kind::v2;
    return l;
}

Layout detect_layout(const std::string& mountinfo_path) {
    std::ifstream in(mountinfo_path);
    if (!in) throw Error("read the mount table", "open(" + quote(mountinfo_path) + ")", errno);
    std::stringstream text;
    text << in.rdbuf();
    Layout l = parse_mountinfo(text.str());
    if (l.kind == Kind::none)
        throw Error("find a cgroup filesystem in " + mountinfo_path, "", 0,
                    "mount one: mount -t cgroup2 none /sys/fs/cgroup (v2), as systemd does at boot");
    detail(std::string("cgroup layout: ") + kind_name(l.kind) +
           (l.kind == Kind::v2 ? " at " + l.v2_mount : ", using the v1 controllers"));
    return l;
}

std::string own_v2_cgroup(const std::string& text) {
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind("0::", 0) == 0) return line.substr(3);
    return "";
}

} // namespace bk::cgctl
