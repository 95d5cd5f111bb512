// A link: a veth pair, a virtual cable with one end on the host and the
// other moved into the box's network namespace (named eth0 there), an
// address on each end, and a default route in the box pointing back at the
// host. The kernel removes both ends when the box's namespace goes, because
// a veth cannot outlive either of its halves. See veth(4), ip-link(8),
// ip-address(8), ip-route(8).
#pragma once
#include <optional>
#include <string>
#include <utility>

#include "spec.hpp"
#include "target.hpp"

namespace bk::netfwd {

struct Link {
    std::string host_if;          // bk<netns inode>, on the host
    std::string box_if = "eth0";  // inside the box
    Cidr subnet;
};

// Every IPv4 subnet the host already uses (addresses and routes), so a new
// link never shadows one.
std::vector<Cidr> used_subnets();

bool link_exists(const std::string& host_if);

// Make the link; on failure removes what it made and throws.
Link create_link(const Target& t, std::optional<Cidr> subnet);

// ip link del: removing the host's end removes the box's end too.
void delete_link(const std::string& host_if, bool quiet = false);

// The link to this box that `netfwd link` made earlier, if there is one.
std::optional<Link> existing_link(const Target& t);

// The record ls shows.
void record_link(const Link& l, const Target& t, pid_t owner);

// Deletes the link (and its record) when it goes, unless released.
class LinkOwner {
public:
    LinkOwner() = default;
    explicit LinkOwner(std::string host_if) : host_if_(std::move(host_if)) {}
    LinkOwner(LinkOwner&& o) noexcept : host_if_(std::exchange(o.host_if_, {})) {}
    LinkOwner& operator=(LinkOwner&& o) noexcept {
        std::swap(host_if_, o.host_if_);
        return *this;
    }
    ~LinkOwner();
    void release() { host_if_.clear(); }
    bool owns() const { return !host_if_.empty(); }

private:
    std::string host_if_;
};

} // namespace bk::netfwd
