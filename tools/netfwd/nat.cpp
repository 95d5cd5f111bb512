#include "nat.hpp"

#include "command.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "sys.hpp"

namespace bk::netfwd {

std::string nat_table_name(pid_t pid) { return "boxkit_netfwd_" + std::to_string(pid); }

std::string nat_ruleset(const std::string& table, const std::vector<PortSpec>& ports, const std::string& host_if,
                        Ipv4 box_address) {
    std::string dnat;
    for (const auto& p : ports) {
        // 0.0.0.0 means every local address: match "is this host", as docker does.
        std::string match = p.host_ip == 0 ? "fib daddr type local" : "ip daddr " + ipv4_str(p.host_ip);
        dnat += "    " + match + " " + proto_str(p.proto) + " dport " + std::to_string(p.host_port) + " dnat to " +
                ipv4_str(box_address) + ":" + std::to_string(p.box_port) + "\n";
    }
    return "table ip " + table + " {\n"
           "  chain prerouting {\n"
           "    type nat hook prerouting priority dstnat; policy accept;\n" + dnat +
           "  }\n"
           "  chain output {\n"
           "    type nat hook output priority -100; policy accept;\n" + dnat +
           "  }\n"
           "  chain postrouting {\n"
           "    type nat hook postrouting priority srcnat; policy accept;\n"
           "    oifname \"" + host_if + "\" ip saddr 127.0.0.0/8 masquerade\n"
           "  }\n"
           "}\n";
}

void add_nat_rules(const std::string& table, const std::vector<PortSpec>& ports, const std::string& host_if,
                   Ipv4 box_address) {
    bool local = false;
    for (const auto& p : ports) local |= p.host_ip == 0 || (p.host_ip >> 24) == 127;
    if (local)
        sys::write_file("let packets for 127.0.0.1 leave loopback through the link, once rewritten",
                        "/proc/sys/net/ipv4/conf/" + host_if + "/route_localnet", "1\n");
    RunOptions how;
    how.input = nat_ruleset(table, ports, host_if, box_address);
    run_command("rewrite the published ports' destination to the box's address (DNAT)", {"nft", "-f", "-"}, how);
}

bool nat_table_exists(const std::string& table) {
    RunOptions how;
    how.quiet_errors = true;
    bool ok = false;
    run_command("check for the table", {"nft", "list", "table", "ip", table}, how, &ok);
    return ok;
}

void delete_nat_rules(const std::string& table, bool quiet) {
    RunOptions how;
    how.quiet_errors = quiet;
    run_command("remove the published ports' rules", {"nft", "delete", "table", "ip", table}, how);
}

NatOwner::~NatOwner() {
    if (table_.empty()) return;
    try {
        delete_nat_rules(table_, true);
    } catch (...) {
    }
}

} // namespace bk::netfwd
