// The small languages netfwd's arguments speak, parsed and checked before
// anything touches the kernel: a published port in docker's -p shape
// ([HOST_IP:]HOST_PORT:BOX_PORT[/tcp|/udp], HOST_IP IPv4 or [IPv6]), an IPv4 subnet in CIDR form, and
// the choice of a free subnet for a new link.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bk::netfwd {

enum class Proto { Tcp, Udp };

// An IPv4 address in host byte order (10.0.0.1 is 0x0a000001).
using Ipv4 = std::uint32_t;
// An IPv6 address, network byte order (as in in6_addr).
using Ipv6 = std::array<std::uint8_t, 16>;

struct PortSpec {
    Ipv4 host_ip = 0x7f000001;      // 127.0.0.1 unless the spec names another
    std::optional<Ipv6> host_ip6;   // [::1]:8080:80: the host side is IPv6 (host_ip unused)
    std::uint16_t host_port = 0;
    std::uint16_t box_port = 0;     // always the box's 127.0.0.1, whichever the host side
    Proto proto = Proto::Tcp;

    // "127.0.0.1:8080:80/tcp" or "[::1]:8080:80/tcp", the canonical form ls and --json show.
    std::string str() const;
    // "127.0.0.1" or "::1".
    std::string host_str() const;
    bool operator==(const PortSpec&) const = default;
};

struct Cidr {
    Ipv4 network = 0;
    int prefix = 0;

    Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4(0) << (32 - prefix); }
    bool contains(Ipv4 a) const { return (a & mask()) == network; }
    bool overlaps(const Cidr& o) const;
    // The two ends of a point-to-point link: the host takes the first usable
    // address, the box the second (10.203.0.1 and 10.203.0.2 in 10.203.0.0/30).
    Ipv4 host_address() const { return network + 1; }
    Ipv4 box_address() const { return network + 2; }
    std::string str() const;
    bool operator==(const Cidr&) const = default;
};

// Each throws bk::Error (exit 125) naming the accepted form.
PortSpec parse_port_spec(const std::string& spec);
Ipv4 parse_ipv4(const std::string& text);
// "10.9.0.0/24". The address must be the network itself (no host bits).
Cidr parse_cidr(const std::string& text);
// A subnet a link can use: room for two hosts, so /30 or wider.
Cidr parse_link_subnet(const std::string& text);

std::string ipv4_str(Ipv4 a);
std::string ipv6_str(const Ipv6& a);
const char* proto_str(Proto p);

// Two specs that would listen on the same host socket, or nothing.
std::optional<std::string> find_clash(const std::vector<PortSpec>& specs);

// The first /`prefix` inside `pool` that overlaps none of `used`, or nothing.
std::optional<Cidr> allocate_subnet(const Cidr& pool, int prefix, const std::vector<Cidr>& used);

// The pool links take their subnets from when --subnet is not given.
inline constexpr const char* k_default_pool = "10.203.0.0/16";
inline constexpr int k_default_link_prefix = 30;

} // namespace bk::netfwd
