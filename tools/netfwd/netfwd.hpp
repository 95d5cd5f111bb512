// netfwd: networking a box that has its own network namespace.
//
//   publish  a host port reaches a port inside the box, like docker run -p:
//            --mode proxy (default) relays in user space from sockets made
//            inside the box's namespace; --mode nat links the box with a veth
//            and rewrites packets with an nftables DNAT rule.
//   link     a veth between host and box, addresses and a default route.
//   unlink   remove it early.  ls  what is published and linked.
//
// It leaves making the namespace to nsjail-lite --net (or unshare --net, or
// ip netns add), and it changes no global setting of the host (ip_forward
// stays as it is). See network_namespaces(7), veth(4), splice(2), nft(8).
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "proxy.hpp"
#include "spec.hpp"
#include "target.hpp"

namespace bk::netfwd {

enum class Mode { Proxy, Nat };

struct PublishOptions {
    std::vector<PortSpec> ports;
    TargetSpec target;
    Mode mode = Mode::Proxy;
    bool detach = false;
    std::string pid_file;
    ProxyConfig proxy;
};

struct LinkOptions {
    TargetSpec target;
    std::optional<Cidr> subnet;
    bool json = false;
};

struct LsOptions {
    bool json = false;
};

void validate(PublishOptions& o);
int publish(const PublishOptions& o);
int link(const LinkOptions& o);
int unlink(const LinkOptions& o);
int ls(const LsOptions& o);

} // namespace bk::netfwd
