// netfwd's kernel-way steps (veth links, addresses, routes, nftables rules)
// run the same iproute2 and nft commands a student would type, rather than
// speaking rtnetlink and nf_tables' netlink messages itself: the commands are
// what the lesson teaches, --explain prints them so they can be copied, and
// the netlink encoding would be a thousand lines of a different lesson.
// A command meant for the box runs after setns(2) into its namespace.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace bk::netfwd {

struct RunOptions {
    int netns_fd = -1;             // run inside this network namespace
    std::string netns_shown;       // how --explain names it
    std::string input;             // fed on stdin (nft -f -)
    bool quiet_errors = false;     // clean-up: a failure is not an error
};

// Run argv, wait, and return its stdout. Throws bk::Error naming the command
// and quoting its stderr when it fails (unless quiet_errors: then returns
// and sets `ok` false).
std::string run_command(std::string_view why, const std::vector<std::string>& argv, const RunOptions& how = {},
                        bool* ok = nullptr);

} // namespace bk::netfwd
