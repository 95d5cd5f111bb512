#include <unistd.h>

#include "error.hpp"
#include "explain.hpp"
#include "json.hpp"
#include "link.hpp"
#include "nat.hpp"
#include "net.hpp"
#include "netfwd.hpp"
#include "state.hpp"
#include "sys.hpp"
#include "watch.hpp"

namespace bk::netfwd {

namespace {

// Every connection costs 6 fds (2 sockets, 2 pipes); the usual soft limit of
// 1024 would stop at about 170 of them.
void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max) return;
    sys::setrlimit_nofile("allow as many open connections as the hard limit does", rl.rlim_max, rl.rlim_max);
}

json record_doc(const PublishOptions& o, const Target& t, const std::string& table, const std::string& link) {
    json ports = json::array();
    for (auto& p : o.ports)
        ports.push_back({{"host_ip", p.host_str()}, {"host_port", p.host_port}, {"box_port", p.box_port},
                         {"proto", proto_str(p.proto)}, {"spec", p.str()}});
    return {{"kind", "publish"}, {"pid", ::getpid()}, {"mode", o.mode == Mode::Proxy ? "proxy" : "nat"},
            {"target", t.shown}, {"box_pid", t.pid}, {"ports", ports}, {"nft_table", table}, {"link", link}};
}

void say_published(const PublishOptions& o, const Target& t) {
    for (auto& p : o.ports)
        detail("publishing " + p.str() + " into " + t.shown + " (" + (o.mode == Mode::Proxy ? "proxy" : "nat") + ")");
}

void warn_not_forwarding(const PublishOptions& o) {
    bool remote = false;
    for (auto& p : o.ports) remote |= !p.host_ip6 && (p.host_ip >> 24) != 127;
    if (!remote) return;
    FILE* f = std::fopen("/proc/sys/net/ipv4/ip_forward", "re");
    int on = 0;
    if (f) {
        if (std::fscanf(f, "%d", &on) != 1) on = 0;
        std::fclose(f);
    }
    if (!on)
        warn("net.ipv4.ip_forward is 0: other machines cannot reach a nat-mode port (this host can); "
             "netfwd does not change that setting for you");
}

int publish_proxy(const PublishOptions& o, Target& t) {
    raise_fd_limit();
    std::vector<Listener> listeners = open_listeners(o.ports);
    Fd stop = stop_signals();
    Detach detach;
    if (o.detach) detach.start(o.pid_file);
    // From here on, every socket this thread makes is the box's.
    sys::setns("move into the box's network namespace, so backend sockets are made there", t.netns.get(),
               CLONE_NEWNET, t.shown);
    write_record("publish-" + std::to_string(::getpid()), record_doc(o, t, "", ""));
    RecordOwner record("publish-" + std::to_string(::getpid()));
    say_published(o, t);
    std::string why = run_proxy(listeners, o.proxy, stop.get(), t.pidfd.get(), [&] { detach.ready(); });
    detail("stopping: " + why);
    return 0;
}

int publish_nat(const PublishOptions& o, Target& t) {
    Fd stop = stop_signals();
    warn_not_forwarding(o);
    // The link: the one `netfwd link` made, kept afterwards; or our own.
    LinkOwner own_link;
    std::optional<Link> l = existing_link(t);
    if (!l) {
        l = create_link(t, std::nullopt);
        own_link = LinkOwner(l->host_if);
        record_link(*l, t, ::getpid());
    }
    std::string table = nat_table_name(::getpid());
    add_nat_rules(table, o.ports, l->host_if, l->subnet.box_address());
    NatOwner rules(table);
    Detach detach;
    if (o.detach) detach.start(o.pid_file);
    if (o.detach && own_link.owns()) record_link(*l, t, ::getpid());
    write_record("publish-" + std::to_string(::getpid()), record_doc(o, t, table, l->host_if));
    RecordOwner record("publish-" + std::to_string(::getpid()));
    say_published(o, t);
    // The namespace must be free to go when the box ends: our fd would keep it.
    t.netns.reset();
    detach.ready();
    std::string why = wait_for_stop(stop.get(), t.pidfd.get());
    detail("stopping: " + why);
    return 0;
}

} // namespace

void validate(PublishOptions& o) {
    o.target.check();
    if (o.ports.empty()) throw Error("publish nothing", "", 0, "give at least one port, e.g. 8080:80");
    if (auto clash = find_clash(o.ports)) throw Error("publish " + *clash + ": the same host port twice", "", 0, "give each HOST_IP:HOST_PORT/proto once");
    if (o.mode == Mode::Nat)
        for (auto& p : o.ports)
            if (p.host_ip6)
                throw Error("publish " + p.str() + " with --mode nat", "", 0,
                            "nat mode's DNAT rule and link are IPv4; an IPv6 host address needs --mode proxy (the default)");
    if (!o.pid_file.empty() && !o.detach) throw Error("use --pid-file without --detach", "", 0, "add --detach, or leave --pid-file out");
}

int publish(const PublishOptions& o) {
    Target t = resolve_target(o.target);
    return o.mode == Mode::Proxy ? publish_proxy(o, t) : publish_nat(o, t);
}

} // namespace bk::netfwd
