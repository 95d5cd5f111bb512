// nsjail-lite [OPTIONS] -- COMMAND [ARG...]
// nsjail-lite ps|exec|stop|kill|inspect|logs ...
// Options in, Options::run out; the work is in the other files.
#include "argv.hpp"
#include "cli.hpp"
#include "error.hpp"
#include "nsjail_lite.hpp"

using namespace bk;

namespace {

const char* const k_footer = R"(Named boxes:
  nsjail-lite ps [--all] [--json]           list boxes (--all: stale records too)
  nsjail-lite exec NAME [--] COMMAND        run COMMAND inside a running box (docker exec;
                                            -e K=V and --clear-env before NAME)
  nsjail-lite stop NAME [--time 10]         SIGTERM, then SIGKILL after the grace time
  nsjail-lite kill NAME [--signal SIG]      send a signal (default KILL)
  nsjail-lite inspect NAME [--json]         its record: pid, namespaces, command
  nsjail-lite logs NAME [--follow]          the output of a --detach box

Examples:
  nsjail-lite --mount-proc -- ps -e            # pid 1 is ps; the host is gone
  nsjail-lite --pid --mount -- chrootify --pivot --proc ./rootfs -- /bin/ps
  nsjail-lite --user -- id                   # rootless: root inside, you outside
  nsjail-lite --all --hostname web --name web --detach -- /bin/sleep 1000
  nsjail-lite exec web -- hostname

Exit status: 125 if nsjail-lite fails, 126/127 if the command cannot run or is
not found, otherwise the command's own (128+S when a signal S ended it).
Lesson: lessons/03-namespaces/README.md    Manual: man nsjail-lite)";

// The usage line CLI11 would print says [SUBCOMMAND] and hides the "--".
class Formatter : public CLI::Formatter {
public:
    std::string make_usage(const CLI::App* app, std::string name) const override {
        if (app->get_parent()) return CLI::Formatter::make_usage(app, std::move(name));
        return "Usage: nsjail-lite [OPTIONS] -- COMMAND [ARG...]\n"
               "       nsjail-lite ps|exec|stop|kill|inspect|logs [OPTIONS] [NAME] ...\n";
    }
};

// `exec NAME COMMAND...` may leave out the "--": the command then starts at
// the first word after NAME.
void split_exec_without_separator(SplitArgv& args) {
    if (args.had_separator || args.own.size() < 3 || args.own[1] != "exec") return;
    for (size_t i = 2; i < args.own.size(); ++i) {
        if (args.own[i].rfind("-", 0) == 0) continue;
        args.command.assign(args.own.begin() + long(i) + 1, args.own.end());
        args.own.resize(i + 1);
        return;
    }
}

// The named-box commands, and what they take.
struct Subcommands {
    CLI::App *ps = nullptr, *exec = nullptr, *stop = nullptr, *kill = nullptr, *inspect = nullptr, *logs = nullptr;
    std::string name, signal = "KILL";
    bool all = false, json = false, follow = false, clear_env = false;
    std::vector<std::string> env;
    double grace = 10;

    // Only those the words before "--" may choose (cli::may_choose): a
    // box's start names none, and building them would cost it 0.1 ms.
    void add_to(CLI::App& app, const std::vector<std::string>& own) {
        auto add = [&](const char* n, const char* about) {
            return cli::may_choose(own, n) ? app.add_subcommand(n, about) : nullptr;
        };
        if ((ps = add("ps", "List the running boxes"))) {
            ps->add_flag("-a,--all", all, "Also records left by boxes that are gone");
            ps->add_flag("--json", json, "One JSON array on stdout");
        }
        if ((exec = add("exec", "Run a command inside a running box (docker exec)"))) {
            exec->add_option("NAME", name, "The box")->required();
            exec->add_flag("--clear-env", clear_env, "Start the command from an empty environment");
            exec->add_option("-e,--env", env, "Set a variable for the command (repeatable)")->type_name("K=V");
        }
        if ((stop = add("stop", "Stop a box: SIGTERM, then SIGKILL after the grace time"))) {
            stop->add_option("NAME", name, "The box")->required();
            stop->add_option("-t,--time", grace, "Seconds to wait before SIGKILL (default 10)")->check(CLI::Range(0.0, 86400.0));
        }
        if ((kill = add("kill", "Send a signal to a box's first process"))) {
            kill->add_option("NAME", name, "The box")->required();
            kill->add_option("-s,--signal", signal, "The signal (default KILL)")->type_name("SIG");
        }
        if ((inspect = add("inspect", "Show a box's record"))) {
            inspect->add_option("NAME", name, "The box")->required();
            inspect->add_flag("--json", json, "One JSON document on stdout");
        }
        if ((logs = add("logs", "Print the output of a --detach box"))) {
            logs->add_option("NAME", name, "The box")->required();
            logs->add_flag("-f,--follow", follow, "Keep printing while the box runs");
        }
    }
    static bool chosen(const CLI::App* sub) { return sub && *sub; }
};

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("nsjail-lite", [&] {
        SplitArgv args = split_argv(argc, argv);
        split_exec_without_separator(args);
        nsjail_lite::Options o;
        cli::Common common;
        CLI::App app{"Run a command in new namespaces, so it sees only what the box shows it.", "nsjail-lite"};
        cli::setup(app, common, k_footer);
        auto formatter = std::make_shared<Formatter>();
        formatter->column_width(32);
        app.formatter(formatter);
        app.add_flag("--pid", o.pid, "New PID namespace: the command is pid 1 and sees only its own processes");
        app.add_flag("--uts", o.uts, "New UTS namespace: its own hostname");
        app.add_flag("--ipc", o.ipc, "New IPC namespace: its own System V IPC and message queues");
        app.add_flag("--mount", o.mount, "New mount namespace, made private: its mounts stay inside");
        app.add_flag("--net", o.net, "New network namespace: only loopback, brought up");
        app.add_flag("--user", o.user, "New user namespace (rootless): root inside is you outside");
        app.add_flag("--cgroup", o.cgroup, "New cgroup namespace: its own cgroup looks like the root");
        app.add_flag("--mount-proc", o.mount_proc, "Mount a fresh /proc, so ps shows only the box (implies --pid --mount)");
        app.add_flag("--all", o.all, "All of the above (--user only when not root)");
        app.add_option("--hostname", o.hostname, "Set the box's hostname (implies --uts)")->type_name("NAME");
        app.add_flag("--init", o.init, "Run a tiny pid 1 that reaps orphans and forwards signals (like tini)");
        app.add_flag("--map-root", o.map_root, "With --user: root inside is you outside (the default)");
        app.add_option("--map-user", o.map_user, "With --user: you are UID:GID inside")->type_name("UID:GID");
        app.add_option("--uid-map", o.uid_map, "With --user: map a range of uids (repeatable; newuidmap when not root)")
            ->type_name("IN:OUT:COUNT");
        app.add_option("--gid-map", o.gid_map, "With --user: map a range of gids (repeatable; newgidmap when not root)")
            ->type_name("IN:OUT:COUNT");
        app.add_option("--keep-fd", o.keep_fds, "Let the command inherit this fd too (repeatable)")->type_name("N");
        app.add_option("--name", o.name, "Record the box under NAME, for ps/exec/stop/kill/inspect/logs")
            ->type_name("NAME");
        app.add_flag("-d,--detach", o.detach, "Start in the background, print the name, log output to the run dir");
        app.add_flag("--no-tty", o.no_tty,
                     "From a terminal, pass it through instead of giving the box a terminal and session of its own");

        app.fallthrough();
        app.require_subcommand(0, 1);
        Subcommands sub;
        sub.add_to(app, args.own);

        if (auto code = cli::parse(app, args.own, common)) return *code;
        auto no_command = [&](const char* sub) {
            if (args.had_separator)
                throw bk::Error(std::string("use -- with ") + sub, "", 0, std::string("'nsjail-lite ") + sub + "' runs no command");
        };
        if (sub.chosen(sub.ps)) return no_command("ps"), nsjail_lite::cmd_ps(sub.all, sub.json);
        if (sub.chosen(sub.exec)) return nsjail_lite::cmd_exec(sub.name, args.command, sub.clear_env, sub.env);
        if (sub.chosen(sub.stop)) return no_command("stop"), nsjail_lite::cmd_stop(sub.name, sub.grace);
        if (sub.chosen(sub.kill)) return no_command("kill"), nsjail_lite::cmd_kill(sub.name, sub.signal);
        if (sub.chosen(sub.inspect)) return no_command("inspect"), nsjail_lite::cmd_inspect(sub.name, sub.json);
        if (sub.chosen(sub.logs)) return no_command("logs"), nsjail_lite::cmd_logs(sub.name, sub.follow);
        if (app.count("--name") && o.name.empty())
            throw bk::Error("name a box \"\"", "", 0, "a name is 1-64 letters, digits, '_', '.' or '-'");
        o.command = args.command;
        nsjail_lite::validate(o);
        return nsjail_lite::run(o);
    });
}
