#include "link.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "command.hpp"
#include "error.hpp"
#include "json.hpp"
#include "state.hpp"
#include "sys.hpp"

namespace bk::netfwd {

namespace {

// The namespace as a path `ip` can open: our own fd, through /proc, so it is
// exactly the namespace we hold even if the box's pid were reused.
std::string fd_path(const Target& t) { return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(t.netns.get()); }

RunOptions in_box(const Target& t) {
    RunOptions r;
    r.netns_fd = t.netns.get();
    r.netns_shown = t.netns_path.empty() ? fd_path(t) : t.netns_path;
    return r;
}

std::string record_name(const std::string& host_if) { return "link-" + host_if; }

} // namespace

bool link_exists(const std::string& host_if) {
    struct stat st {};
    return ::stat(("/sys/class/net/" + host_if).c_str(), &st) == 0;
}

std::vector<Cidr> used_subnets() {
    std::vector<Cidr> used;
    auto add_all = [&](const std::string& text, bool routes) {
        json doc = json::parse(text, nullptr, false);
        if (!doc.is_array()) return;
        for (auto& item : doc) {
            try {
                if (routes) {
                    std::string dst = item.value("dst", "");
                    if (dst.empty() || dst == "default") continue;
                    used.push_back(parse_cidr(dst.find('/') == std::string::npos ? dst + "/32" : dst));
                } else {
                    for (auto& a : item.value("addr_info", json::array())) {
                        if (a.value("family", "") != "inet") continue;
                        Ipv4 ip = parse_ipv4(a.value("local", ""));
                        int len = a.value("prefixlen", 32);
                        Cidr c{ip, len};
                        c.network = ip & c.mask();
                        used.push_back(c);
                    }
                }
            } catch (const Error&) {
                // A form we do not read cannot clash with a /30 we would pick.
            }
        }
    };
    add_all(run_command("see which subnets the host already uses", {"ip", "-j", "-4", "addr", "show"}), false);
    add_all(run_command("see which subnets the host already routes", {"ip", "-j", "-4", "route", "show", "table", "all"}), true);
    return used;
}

Link create_link(const Target& t, std::optional<Cidr> subnet) {
    Link l;
    l.host_if = link_name_for(t.netns_inode);
    if (link_exists(l.host_if))
        throw Error("link " + t.shown + " to the host: " + l.host_if + " already exists", "", 0,
                    "the box is linked already (netfwd ls); remove it first with 'netfwd unlink'");
    std::vector<Cidr> used = used_subnets();
    if (subnet) {
        for (auto& u : used)
            if (subnet->overlaps(u))
                throw Error("use the subnet " + subnet->str(), "", 0,
                            "it overlaps " + u.str() + ", which the host already uses; pick another or leave --subnet out");
        l.subnet = *subnet;
    } else {
        Cidr pool = parse_cidr(k_default_pool);
        auto free = allocate_subnet(pool, k_default_link_prefix, used);
        if (!free) throw Error("find a free /30 in " + pool.str(), "", 0, "give one with --subnet CIDR");
        l.subnet = *free;
    }
    std::string len = "/" + std::to_string(l.subnet.prefix);
    std::string host_addr = ipv4_str(l.subnet.host_address()) + len;
    std::string box_addr = ipv4_str(l.subnet.box_address()) + len;
    RunOptions box = in_box(t);

    run_command("make a veth pair, a virtual cable, and put one end in the box as " + l.box_if,
                {"ip", "link", "add", l.host_if, "type", "veth", "peer", "name", l.box_if, "netns", fd_path(t)});
    LinkOwner owner(l.host_if);
    run_command("give the host's end an address", {"ip", "addr", "add", host_addr, "dev", l.host_if});
    run_command("bring the host's end up", {"ip", "link", "set", l.host_if, "up"});
    run_command("bring the box's loopback up (a new namespace starts with it down)", {"ip", "link", "set", "lo", "up"}, box);
    run_command("give the box's end an address", {"ip", "addr", "add", box_addr, "dev", l.box_if}, box);
    run_command("bring the box's end up", {"ip", "link", "set", l.box_if, "up"}, box);
    run_command("send the box's other traffic to the host", {"ip", "route", "add", "default", "via", ipv4_str(l.subnet.host_address())}, box);
    owner.release();
    return l;
}

void delete_link(const std::string& host_if, bool quiet) {
    RunOptions how;
    how.quiet_errors = quiet;
    if (link_exists(host_if))
        run_command("remove the veth pair (both ends go together)", {"ip", "link", "del", host_if}, how);
    remove_record(record_name(host_if));
}

std::optional<Link> existing_link(const Target& t) {
    std::string name = link_name_for(t.netns_inode);
    if (!link_exists(name)) return std::nullopt;
    json doc;
    if (!read_record(record_name(name), doc))
        throw Error("use the existing link " + name, "", 0, "netfwd has no record of it; remove it with 'ip link del " + name + "'");
    Link l;
    l.host_if = name;
    l.box_if = doc.value("box_if", "eth0");
    l.subnet = parse_cidr(doc.value("subnet", ""));
    return l;
}

void record_link(const Link& l, const Target& t, pid_t owner) {
    json doc = {{"kind", "link"},
                {"host_if", l.host_if},
                {"box_if", l.box_if},
                {"subnet", l.subnet.str()},
                {"host_address", ipv4_str(l.subnet.host_address())},
                {"box_address", ipv4_str(l.subnet.box_address())},
                {"target", t.shown},
                {"box_pid", t.pid},
                {"owner_pid", owner}};
    write_record(record_name(l.host_if), doc);
}

LinkOwner::~LinkOwner() {
    if (host_if_.empty()) return;
    try {
        delete_link(host_if_, true);
    } catch (...) {
    }
}

} // namespace bk::netfwd

// ---- the link and unlink subcommands --------------------------------------

#include "netfwd.hpp"

namespace bk::netfwd {

int link(const LinkOptions& o) {
    o.target.check(false);
    Target t = resolve_target(o.target);
    Link l = create_link(t, o.subnet);
    record_link(l, t, 0);
    if (o.json) {
        print_json({{"host_if", l.host_if}, {"box_if", l.box_if}, {"subnet", l.subnet.str()},
                    {"host_address", ipv4_str(l.subnet.host_address())}, {"box_address", ipv4_str(l.subnet.box_address())}});
    } else {
        std::printf("%s %s <-> %s %s (%s)\n", l.host_if.c_str(), ipv4_str(l.subnet.host_address()).c_str(),
                    l.box_if.c_str(), ipv4_str(l.subnet.box_address()).c_str(), l.subnet.str().c_str());
    }
    return 0;
}

int unlink(const LinkOptions& o) {
    o.target.check(false);
    Target t = resolve_target(o.target);
    std::string name = link_name_for(t.netns_inode);
    if (!link_exists(name)) {
        remove_record("link-" + name);
        throw Error("unlink " + t.shown + ": it has no link", "", 0, "see 'netfwd ls' for the links there are");
    }
    json doc;
    if (read_record("link-" + name, doc) && doc.value("owner_pid", 0) > 0 && ::kill(doc.value("owner_pid", 0), 0) == 0)
        throw Error("unlink " + t.shown + ": a nat-mode netfwd (pid " + std::to_string(doc.value("owner_pid", 0)) + ") uses it",
                    "", 0, "stop that netfwd; it removes its own link");
    delete_link(name);
    return 0;
}

} // namespace bk::netfwd
