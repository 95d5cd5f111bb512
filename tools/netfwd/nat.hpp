// NAT mode: the kernel way, what docker does without its proxy. The box gets
// a link (a veth and addresses, link.hpp); then one nftables table rewrites
// the destination of packets for HOST_IP:HOST_PORT to BOX_ADDRESS:BOX_PORT
// (DNAT), and conntrack rewrites the replies back. No process copies bytes.
//
// Two hooks see the packets: prerouting for those arriving from other
// machines, output for those this host sends itself (a client on the host).
// A packet for 127.0.0.1 that is sent down a veth must be allowed to leave
// loopback (route_localnet on that interface) and must get a source the box
// can answer (masquerade). Each netfwd has its own table, so stopping it is
// one `nft delete table`. See nft(8), "NAT" in nftables' wiki, ip-sysctl.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "spec.hpp"

namespace bk::netfwd {

std::string nat_table_name(pid_t pid);

// The whole table, as `nft -f -` reads it. Pure, for the unit tests.
std::string nat_ruleset(const std::string& table, const std::vector<PortSpec>& ports, const std::string& host_if,
                        Ipv4 box_address);

void add_nat_rules(const std::string& table, const std::vector<PortSpec>& ports, const std::string& host_if,
                   Ipv4 box_address);
void delete_nat_rules(const std::string& table, bool quiet = false);
bool nat_table_exists(const std::string& table);

// Deletes the table when it goes, unless released.
class NatOwner {
public:
    NatOwner() = default;
    explicit NatOwner(std::string table) : table_(std::move(table)) {}
    NatOwner(NatOwner&& o) noexcept : table_(std::exchange(o.table_, {})) {}
    NatOwner& operator=(NatOwner&& o) noexcept {
        std::swap(table_, o.table_);
        return *this;
    }
    ~NatOwner();
    void release() { table_.clear(); }

private:
    std::string table_;
};

} // namespace bk::netfwd
