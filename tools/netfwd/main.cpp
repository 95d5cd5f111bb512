// netfwd publish SPEC... (--box NAME | --pid PID | --netns PATH) [--mode proxy|nat]
// netfwd link (--box NAME | --pid PID) [--subnet CIDR]    netfwd unlink ...    netfwd ls
// Options in, the subcommand's function out; the work is in the other files.
#include "argv.hpp"
#include "cli.hpp"
#include "error.hpp"
#include "netfwd.hpp"

using namespace bk;

namespace {

const char* const k_footer = R"(Ports are [HOST_IP:]HOST_PORT:BOX_PORT[/tcp|/udp]. HOST_IP defaults to
127.0.0.1: only this host can connect. Nothing listens on every interface
unless you ask with 0.0.0.0 (docker's -p 8080:80 means 0.0.0.0, a well-known surprise).
An IPv6 HOST_IP goes in brackets, [::1]:8080:80 (proxy mode; [::] is every IPv6 address).

Examples:
  nsjail-lite --net --name web --detach -- busybox httpd -f -p 80 -h ./www
  netfwd publish 8080:80 --box web             # proxy: 127.0.0.1:8080 -> the box's 127.0.0.1:80
  netfwd publish 0.0.0.0:5353:53/udp 8081:80 --pid 4242 --detach --pid-file fwd.pid
  netfwd publish 8082:80 --box web --mode nat  # veth + nftables DNAT, no process in the path
  netfwd link --box web && netfwd ls

netfwd runs until SIGINT/SIGTERM or until the box's pid 1 exits, then removes
what it set up. Exit status: 0 after a clean stop, 125 if netfwd fails.
Lesson: lessons/07-ports-and-volumes/README.md    Manual: man netfwd)";

void add_target(CLI::App* cmd, netfwd::TargetSpec& t, bool netns) {
    cmd->add_option("--box", t.box, "The named box (nsjail-lite --name)")->type_name("NAME");
    cmd->add_option("--pid", t.pid, "The box's pid 1, as the host sees it")->type_name("PID");
    if (netns)
        cmd->add_option("--netns", t.netns, "A network namespace file (/proc/PID/ns/net, /run/netns/NAME)")->type_name("PATH");
}

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("netfwd", [&] {
        SplitArgv args = split_argv(argc, argv);
        cli::Common common;
        CLI::App app{"Publish a host port into a box's network namespace (docker run -p), or link a box to the host.",
                     "netfwd"};
        cli::setup(app, common, k_footer);
        app.require_subcommand(1);
        app.fallthrough();

        netfwd::PublishOptions po;
        std::string mode = "proxy";
        unsigned long buffer = po.proxy.pipe_size;
        long udp_timeout = po.proxy.udp_timeout.count();
        auto* pub = app.add_subcommand("publish", "Publish host ports into a box (runs until stopped)");
        pub->add_option_function<std::vector<std::string>>(
               "SPEC", [&](const std::vector<std::string>& v) { for (auto& s : v) po.ports.push_back(netfwd::parse_port_spec(s)); },
               "[HOST_IP:]HOST_PORT:BOX_PORT[/tcp|/udp]; HOST_IP defaults to 127.0.0.1, never every interface unless you say 0.0.0.0; "
               "IPv6 in brackets: [::1]:8080:80")
            ->required()->type_name("SPEC...");
        add_target(pub, po.target, true);
        pub->add_option("--mode", mode, "proxy: relay in user space, reaches the box's loopback (default); "
                                        "nat: veth + nftables DNAT, reaches services listening on the box's eth0")
            ->check(CLI::IsMember({"proxy", "nat"}))->type_name("MODE");
        pub->add_flag("--detach,-d", po.detach, "Go to the background once the ports are ready");
        pub->add_option("--pid-file", po.pid_file, "With --detach: write the background process's pid here")->type_name("FILE");
        pub->add_option("--buffer", buffer, "Proxy: each direction's buffer per connection, at most (bytes)")
            ->check(CLI::Range(4096UL, 64UL << 20))->type_name("BYTES");
        pub->add_option("--threads", po.proxy.threads, "Proxy: relay threads, each an epoll loop accepting from the same sockets (default 1)")
            ->check(CLI::Range(1U, 64U))->type_name("N");
        pub->add_option("--udp-timeout", udp_timeout, "Proxy: forget a UDP client after this many idle seconds")
            ->check(CLI::Range(1L, 86400L))->type_name("SECONDS");

        netfwd::LinkOptions lo;
        std::string subnet;
        auto* lnk = app.add_subcommand("link", "Link a box to the host with a veth pair, addresses and a default route");
        add_target(lnk, lo.target, false);
        lnk->add_option("--subnet", subnet, "The link's subnet; the host takes the first address, the box the second "
                                            "(default: a free /30 in 10.203.0.0/16)")->type_name("CIDR");
        lnk->add_flag("--json", lo.json, "Print the link as JSON");

        netfwd::LinkOptions uo;
        auto* unl = app.add_subcommand("unlink", "Remove a box's link now (it goes by itself when the box ends)");
        add_target(unl, uo.target, false);

        netfwd::LsOptions so;
        auto* ls = app.add_subcommand("ls", "Show published ports and links");
        ls->add_flag("--json", so.json, "Print one JSON document");

        if (auto code = cli::parse(app, args.own, common)) return *code;
        if (args.had_separator) throw bk::Error("run a command", "", 0, "netfwd takes no command after --");
        if (pub->parsed()) {
            po.mode = mode == "nat" ? netfwd::Mode::Nat : netfwd::Mode::Proxy;
            po.proxy.pipe_size = buffer;
            po.proxy.udp_timeout = std::chrono::seconds(udp_timeout);
            netfwd::validate(po);
            return netfwd::publish(po);
        }
        if (lnk->parsed()) {
            if (!subnet.empty()) lo.subnet = netfwd::parse_link_subnet(subnet);
            return netfwd::link(lo);
        }
        if (unl->parsed()) return netfwd::unlink(uo);
        return netfwd::ls(so);
    });
}
