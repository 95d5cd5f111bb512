#include "spec.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "error.hpp"

namespace bk::netfwd {

namespace {

const char* const k_port_form =
    "write [HOST_IP:]HOST_PORT:BOX_PORT[/tcp|/udp], e.g. 8080:80, 127.0.0.1:8080:80/tcp, 0.0.0.0:5353:53/udp or [::1]:8080:80";

bool parse_number(const std::string& s, unsigned long max, unsigned long& out) {
    if (s.empty() || s.size() > 10) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size() && out <= max;
}

std::uint16_t parse_port(const std::string& text, const std::string& spec, const char* which) {
    unsigned long n = 0;
    if (!parse_number(text, 65535, n) || n == 0)
        throw Error("understand the port spec " + spec, "", 0,
                    std::string(which) + " must be a number from 1 to 65535; " + k_port_form);
    return std::uint16_t(n);
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> parts;
    std::string::size_type start = 0, at;
    while ((at = s.find(sep, start)) != std::string::npos) {
        parts.push_back(s.substr(start, at - start));
        start = at + 1;
    }
    parts.push_back(s.substr(start));
    return parts;
}

bool try_parse_ipv4(const std::string& text, Ipv4& out) {
    auto parts = split(text, '.');
    if (parts.size() != 4) return false;
    Ipv4 a = 0;
    for (auto& p : parts) {
        unsigned long n = 0;
        // No leading zeros: inet_aton reads "010" as octal 8, a classic surprise.
        if (p.size() > 1 && p[0] == '0') return false;
        if (!parse_number(p, 255, n)) return false;
        a = (a << 8) | Ipv4(n);
    }
    out = a;
    return true;
}

} // namespace

std::string ipv4_str(Ipv4 a) {
    return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." + std::to_string((a >> 8) & 255) +
           "." + std::to_string(a & 255);
}

const char* proto_str(Proto p) { return p == Proto::Tcp ? "tcp" : "udp"; }

std::string ipv6_str(const Ipv6& a) {
    char text[INET6_ADDRSTRLEN] = "?";
    ::inet_ntop(AF_INET6, a.data(), text, sizeof text);
    return text;
}

std::string PortSpec::host_str() const { return host_ip6 ? ipv6_str(*host_ip6) : ipv4_str(host_ip); }

std::string PortSpec::str() const {
    std::string host = host_ip6 ? "[" + ipv6_str(*host_ip6) + "]" : ipv4_str(host_ip);
    return host + ":" + std::to_string(host_port) + ":" + std::to_string(box_port) + "/" + proto_str(proto);
}

Ipv4 parse_ipv4(const std::string& text) {
    Ipv4 a = 0;
    if (!try_parse_ipv4(text, a))
        throw Error("understand the address " + text, "", 0, "write an IPv4 address as four numbers, e.g. 127.0.0.1");
    return a;
}

PortSpec parse_port_spec(const std::string& spec) {
    PortSpec p;
    std::string body = spec;
    if (auto slash = spec.rfind('/'); slash != std::string::npos) {
        std::string proto = spec.substr(slash + 1);
        body = spec.substr(0, slash);
        if (proto == "tcp")
            p.proto = Proto::Tcp;
        else if (proto == "udp")
            p.proto = Proto::Udp;
        else
            throw Error("understand the port spec " + spec, "", 0, "the protocol is tcp or udp; " + std::string(k_port_form));
    }
    if (!body.empty() && body[0] == '[') {
        // [IPv6]:HOST_PORT:BOX_PORT. The brackets keep the address's colons
        // apart from the ports' (as in URLs, RFC 3986).
        auto close = body.find(']');
        if (close == std::string::npos || close + 1 >= body.size() || body[close + 1] != ':')
            throw Error("understand the port spec " + spec, "", 0, "close the IPv6 address's bracket: " + std::string(k_port_form));
        std::string addr = body.substr(1, close - 1);
        Ipv6 a{};
        if (addr.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos || ::inet_pton(AF_INET6, addr.c_str(), a.data()) != 1)
            throw Error("understand the port spec " + spec, "", 0,
                        "inside [ ] goes an IPv6 address such as ::1 or :: (no zone, no name); " + std::string(k_port_form));
        static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::equal(mapped, mapped + 12, a.begin()))
            throw Error("understand the port spec " + spec, "", 0,
                        "[" + addr + "] is an IPv4 address in IPv6 form; write it as IPv4, e.g. " +
                            ipv4_str(Ipv4(a[12]) << 24 | Ipv4(a[13]) << 16 | Ipv4(a[14]) << 8 | a[15]) + ":...");
        p.host_ip6 = a;
        body = body.substr(close + 2);
        if (body.find_first_of("[]") != std::string::npos || std::count(body.begin(), body.end(), ':') != 1)
            throw Error("understand the port spec " + spec, "", 0, k_port_form);
    } else if (body.find_first_of("[]") != std::string::npos || std::count(body.begin(), body.end(), ':') > 2) {
        throw Error("understand the port spec " + spec, "", 0,
                    "an IPv6 address goes in brackets, e.g. [::1]:8080:80; " + std::string(k_port_form));
    }
    auto parts = split(body, ':');
    if (parts.size() == 3) {
        if (!try_parse_ipv4(parts[0], p.host_ip))
            throw Error("understand the port spec " + spec, "", 0,
                        "HOST_IP must be an IPv4 address such as 127.0.0.1 or 0.0.0.0; " + std::string(k_port_form));
        parts.erase(parts.begin());
    }
    if (parts.size() != 2) throw Error("understand the port spec " + spec, "", 0, k_port_form);
    p.host_port = parse_port(parts[0], spec, "HOST_PORT");
    p.box_port = parse_port(parts[1], spec, "BOX_PORT");
    return p;
}

bool Cidr::overlaps(const Cidr& o) const {
    int shorter = prefix < o.prefix ? prefix : o.prefix;
    Ipv4 m = shorter == 0 ? 0 : ~Ipv4(0) << (32 - shorter);
    return (network & m) == (o.network & m);
}

std::string Cidr::str() const { return ipv4_str(network) + "/" + std::to_string(prefix); }

Cidr parse_cidr(const std::string& text) {
    const std::string form = "write an IPv4 subnet as ADDRESS/BITS, e.g. 10.203.7.0/30 or 192.168.50.0/24";
    auto slash = text.find('/');
    if (slash == std::string::npos) throw Error("understand the subnet " + text, "", 0, form);
    Cidr c;
    unsigned long bits = 0;
    if (!try_parse_ipv4(text.substr(0, slash), c.network) || !parse_number(text.substr(slash + 1), 32, bits))
        throw Error("understand the subnet " + text, "", 0, form);
    c.prefix = int(bits);
    if ((c.network & c.mask()) != c.network)
        throw Error("understand the subnet " + text, "", 0,
                    "the address has bits set past /" + std::to_string(c.prefix) + "; did you mean " +
                        Cidr{c.network & c.mask(), c.prefix}.str() + "?");
    return c;
}

Cidr parse_link_subnet(const std::string& text) {
    Cidr c = parse_cidr(text);
    if (c.prefix > 30 || c.prefix < 8)
        throw Error("use the subnet " + text + " for a link", "", 0,
                    "a link needs two addresses besides the network and broadcast ones: use /8 to /30, e.g. " +
                        ipv4_str(c.network) + "/30");
    return c;
}

std::optional<std::string> find_clash(const std::vector<PortSpec>& specs) {
    for (size_t i = 0; i < specs.size(); ++i)
        for (size_t j = i + 1; j < specs.size(); ++j) {
            const PortSpec &a = specs[i], &b = specs[j];
            // 0.0.0.0 covers every IPv4 address and :: every IPv6 one (netfwd
            // sets IPV6_V6ONLY, so :: leaves IPv4 alone).
            bool same_ip;
            if (a.host_ip6.has_value() != b.host_ip6.has_value())
                same_ip = false;
            else if (a.host_ip6)
                same_ip = *a.host_ip6 == *b.host_ip6 || *a.host_ip6 == Ipv6{} || *b.host_ip6 == Ipv6{};
            else
                same_ip = a.host_ip == b.host_ip || a.host_ip == 0 || b.host_ip == 0;
            if (a.proto == b.proto && a.host_port == b.host_port && same_ip) return a.str() + " and " + b.str();
        }
    return std::nullopt;
}

std::optional<Cidr> allocate_subnet(const Cidr& pool, int prefix, const std::vector<Cidr>& used) {
    if (prefix < pool.prefix || prefix > 32) return std::nullopt;
    std::uint64_t step = std::uint64_t(1) << (32 - prefix);
    std::uint64_t end = std::uint64_t(pool.network) + (std::uint64_t(1) << (32 - pool.prefix));
    for (std::uint64_t net = pool.network; net < end; net += step) {
        Cidr candidate{Ipv4(net), prefix};
        bool free = true;
        for (const auto& u : used)
            if (candidate.overlaps(u)) { free = false; break; }
        if (free) return candidate;
    }
    return std::nullopt;
}

} // namespace bk::netfwd
