// cgctl COMMAND [OPTIONS] [NAME] [-- COMMAND...]
// Options in, one function of cgctl.hpp out; the work is in the other files.
#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "argv.hpp"
#include "cgctl.hpp"
#include "cli.hpp"
#include "error.hpp"

using namespace bk;

namespace {

const char* const k_footer = R"(Examples:
  cgctl run --memory 64Mi --pids 64 -- /bin/sh -c 'echo limited'
  cgctl run --cpus 0.5 --json -- make -j2            # what it used, as JSON on stderr
  cgctl create web --memory 256Mi --cpus 1 && cgctl exec web -- ./server
  cgctl stats web --watch                            # live, like docker stats
  cgctl freeze web; cgctl thaw web; cgctl rm --force web

Sizes: K M G T are powers of 1000, Ki Mi Gi Ti powers of 1024 (64Mi = 67108864).
Groups live under a "boxkit" parent group: /sys/fs/cgroup/boxkit on cgroup v2,
/sys/fs/cgroup/<controller>/boxkit on v1. --explain shows every file written.
Exit status: 125 if cgctl fails, 126/127 if the command cannot run or is not
found, otherwise the command's own (run, exec).
Lesson: lessons/04-cgroups/README.md    Manual: man cgctl)";

void add_limits(CLI::App* cmd, cgctl::Limits& l) {
    using namespace cgctl;
    cmd->add_option_function<std::string>("--memory,-m", [&](const std::string& s) { l.memory = parse_size(s, "--memory"); },
                                          "Memory limit; past it the kernel reclaims, then OOM-kills inside the group")
        ->type_name("SIZE");
    cmd->add_option_function<std::string>("--memory-swap", [&](const std::string& s) { l.memory_swap = parse_size(s, "--memory-swap"); },
                                          "Memory plus swap limit, as docker's --memory-swap (max: unlimited swap)")
        ->type_name("SIZE");
    cmd->add_option_function<std::string>("--cpus", [&](const std::string& s) { l.cpus = parse_cpus(s); },
                                          "CPU time, in CPUs: 0.5 is half of one CPU's time, checked every 100 ms")
        ->type_name("N");
    cmd->add_option_function<std::string>("--cpu-weight", [&](const std::string& s) { l.cpu_weight = parse_weight(s, "--cpu-weight"); },
                                          "CPU share when CPUs are busy, 1 to 10000 (default 100; v1 cpu.shares 1024)")
        ->type_name("W");
    cmd->add_option_function<std::string>("--cpuset", [&](const std::string& s) { l.cpuset = parse_cpuset(s); },
                                          "Run only on these CPUs")
        ->type_name("LIST");
    cmd->add_option_function<std::string>("--pids", [&](const std::string& s) { l.pids = parse_count(s, "--pids"); },
                                          "At most N processes and threads (stops a fork bomb)")
        ->type_name("N");
    cmd->add_option_function<std::string>("--io-weight", [&](const std::string& s) { l.io_weight = parse_weight(s, "--io-weight"); },
                                          "Disk share, 1 to 10000 (default 100), where the I/O scheduler supports it")
        ->type_name("W");
    cmd->add_option_function<std::vector<std::string>>(
           "--io-max", [&](const std::vector<std::string>& v) { for (auto& s : v) l.io_max.push_back(parse_io_max(s)); },
           "Cap a disk's traffic (repeatable): rbps, wbps (bytes/s), riops, wiops")
        ->type_name("DEV:KEY=VAL,...")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

// A subcommand, how to add its options, and what it does.
struct Subcommand {
    std::string name, about;
    std::function<void(CLI::App*)> add_options;
    int (*act)(const cgctl::Options&);
    bool runs_command = false;  // takes a command after --
    CLI::App* app = nullptr;
};

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("cgctl", [&]() -> int {
        SplitArgv args = split_argv(argc, argv);
        cgctl::Options o;
        cli::Common common;
        CLI::App app{"Limit, count, freeze and remove control groups: what a process may use.", "cgctl"};
        cli::setup(app, common, k_footer);
        app.require_subcommand(1);
        app.fallthrough();  // --explain, -v, -q after the command name too

        auto name = [&](CLI::App* c, bool required = true) {
            auto* opt = c->add_option("NAME", o.name, "The group, under the boxkit parent group");
            if (required) opt->required();
        };
        std::vector<Subcommand> subs = {
            {"create", "Make a group with limits", [&](CLI::App* c) { name(c); add_limits(c, o.limits); }, cgctl::create},
            {"set", "Change a group's limits", [&](CLI::App* c) { name(c); add_limits(c, o.limits); }, cgctl::set},
            {"exec", "Join a group (making it if needed), then exec the command after --",
             [&](CLI::App* c) { name(c); add_limits(c, o.limits); }, cgctl::exec, true},
            {"run", "Run the command after -- in a new group; report what it used; remove the group",
             [&](CLI::App* c) {
                 c->add_option("--name", o.name, "Name the group (default run-PID)")->type_name("NAME");
                 add_limits(c, o.limits);
                 c->add_flag("--json", o.json, "Report as one line of JSON on stderr");
                 c->add_option("--report", o.report_file, "Also write the JSON report to FILE")->type_name("FILE");
             },
             cgctl::run, true},
            {"rm", "Remove a group; a group with processes only with --force",
             [&](CLI::App* c) { name(c); c->add_flag("--force,-f", o.force, "Kill the group's processes first"); }, cgctl::rm},
            {"ls", "List boxkit's groups", [&](CLI::App* c) { c->add_flag("--json", o.json, "As JSON"); }, cgctl::ls},
            {"stats", "What a group uses now, like docker stats",
             [&](CLI::App* c) {
                 name(c);
                 c->add_flag("--json", o.json, "As JSON (with --watch: one document a line)");
                 c->add_flag("--watch,-w", o.watch, "Redraw live with bars against each limit");
                 c->add_option("--interval", o.interval, "Seconds between redraws (default 1)")->check(CLI::Range(0.1, 3600.0));
                 c->add_option("--count", o.count, "With --watch: stop after N redraws")->check(CLI::PositiveNumber);
             },
             cgctl::stats},
            {"events", "Follow OOM kills and limit hits as they happen",
             [&](CLI::App* c) {
                 name(c);
                 c->add_flag("--json", o.json, "One JSON document a line");
                 c->add_option("--count", o.count, "Stop after N events")->check(CLI::PositiveNumber);
             },
             cgctl::events},
            {"freeze", "Stop every process in the group (docker pause)", [&](CLI::App* c) { name(c); }, cgctl::freeze},
            {"thaw", "Let a frozen group run again (docker unpause)", [&](CLI::App* c) { name(c); }, cgctl::thaw},
            {"gc", "Remove groups a killed 'cgctl run' left behind", [](CLI::App*) {}, cgctl::gc},
        };
        // Every call names one: build only what the words may choose (all
        // eleven with their options cost each box's start about 0.1 ms), or
        // all when they name none, so CLI11 says what it always said.
        bool named = std::any_of(subs.begin(), subs.end(), [&](auto& sub) { return cli::may_choose(args.own, sub.name); });
        for (auto& sub : subs) {
            if (named && !cli::may_choose(args.own, sub.name)) continue;
            sub.app = app.add_subcommand(sub.name, sub.about);
            sub.add_options(sub.app);
        }

        if (auto code = cli::parse(app, args.own, common)) return *code;
        o.command = args.command;
        cgctl::check_limits(o.limits);
        for (const auto& sub : subs) {
            if (!sub.app || !*sub.app) continue;
            if (args.had_separator && !sub.runs_command)
                throw bk::Error("use -- with this command", "", 0, "only 'cgctl run' and 'cgctl exec' run a command");
            return sub.act(o);
        }
        return 125;
    });
}
