// netfwd ls: what is published and linked now, from the records, after
// dropping those whose netfwd or interface is gone.
#include <signal.h>

#include <algorithm>
#include <cstdio>

#include "error.hpp"
#include "json.hpp"
#include "link.hpp"
#include "nat.hpp"
#include "netfwd.hpp"
#include "state.hpp"

namespace bk::netfwd {

namespace {

bool alive(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

// A netfwd killed with SIGKILL could not clean up: its nftables table, and
// the link it made, are still there. Whoever lists next removes them.
void clean_after_killed(const json& r) {
    int pid = r.value("pid", 0);
    std::string table = r.value("nft_table", "");
    std::string link = r.value("link", "");
    if (!table.empty() && nat_table_exists(table)) {
        warn("netfwd " + std::to_string(pid) + " ended without cleaning up; removing its table " + table);
        delete_nat_rules(table, true);
    }
    json l;
    if (!link.empty() && read_record("link-" + link, l) && l.value("owner_pid", 0) == pid) {
        warn("removing the link " + link + " that netfwd " + std::to_string(pid) + " made");
        delete_link(link, true);
    }
}

} // namespace

int ls(const LsOptions& o) {
    json publishes = json::array(), links = json::array();
    for (json& r : read_records()) {
        std::string file = r.value("file", "");
        std::string kind = r.value("kind", "");
        r.erase("file");
        if (kind == "publish") {
            if (!alive(r.value("pid", 0))) {
                clean_after_killed(r);
                remove_record(file);
                continue;
            }
            publishes.push_back(r);
        } else if (kind == "link") {
            // The kernel removed the veth with the box's namespace.
            if (!link_exists(r.value("host_if", ""))) { remove_record(file); continue; }
            links.push_back(r);
        }
    }
    // Oldest first (pids grow), whatever order the directory holds them in.
    auto by = [](const char* key) {
        return [key](const json& a, const json& b) { return a.value(key, json()) < b.value(key, json()); };
    };
    std::sort(publishes.begin(), publishes.end(), by("pid"));
    std::sort(links.begin(), links.end(), by("host_if"));
    if (o.json) {
        print_json({{"published", publishes}, {"links", links}});
        return 0;
    }
    std::printf("%-8s %-28s %-6s %-8s %s\n", "PID", "PORT", "MODE", "LINK", "TARGET");
    for (auto& p : publishes)
        for (auto& port : p["ports"])
            std::printf("%-8d %-28s %-6s %-8s %s\n", p.value("pid", 0), port.value("spec", "").c_str(),
                        p.value("mode", "").c_str(), p.value("link", "").empty() ? "-" : p.value("link", "").c_str(),
                        p.value("target", "").c_str());
    if (!links.empty()) {
        std::printf("\n%-14s %-16s %-16s %-18s %s\n", "LINK", "HOST", "BOX", "SUBNET", "TARGET");
        for (auto& l : links)
            std::printf("%-14s %-16s %-16s %-18s %s\n", l.value("host_if", "").c_str(), l.value("host_address", "").c_str(),
                        (l.value("box_if", "") + " " + l.value("box_address", "")).c_str(), l.value("subnet", "").c_str(),
                        l.value("target", "").c_str());
    }
    return 0;
}

} // namespace bk::netfwd
