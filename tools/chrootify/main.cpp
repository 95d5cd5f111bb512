// chrootify [OPTIONS] NEWROOT [-- COMMAND [ARG...]]
// Options in, Options::run out; the work is in chrootify.cpp.
#include "argv.hpp"
#include "chrootify.hpp"
#include "cli.hpp"

using namespace bk;

namespace {

const char* const k_footer = R"(Examples:
  chrootify ./rootfs -- /bin/sh -c 'ls /'
  unshare -m chrootify --proc --dev ./rootfs -- /bin/ps
  nsjail-lite --mount -- chrootify --pivot --proc --dev --bind ./data:/data ./rootfs -- /bin/sh
  nsjail-lite --mount -- chrootify --overlay ./layers/base --upper ./box/upper ./box/root -- /bin/sh
  nsjail-lite --mount -- chrootify --overlay ./layers/base --upper-tmpfs ./box/root -- /bin/sh

Mount options need a private mount namespace (nsjail-lite --mount or unshare -m),
so nothing chrootify mounts outlives the box or reaches the host.
Exit status: 125 if chrootify fails, 126/127 if the command cannot run or is not
found, otherwise the command's own.
Lesson: lessons/02-chroot/README.md    Manual: man chrootify)";

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("chrootify", [&] {
        SplitArgv args = split_argv(argc, argv);
        chrootify::Options o;
        cli::Common common;
        CLI::App app{"Run a command with a different root directory: the filesystem view of a container.",
                     "chrootify"};
        cli::setup(app, common, k_footer);
        app.add_option("NEWROOT", o.new_root, "The directory that becomes / for the command")->required();
        app.add_flag("--pivot", o.pivot, "Use pivot_root and detach the old root (needs a mount namespace); a plain chroot can be escaped");
        app.add_flag("--proc", o.proc, "Mount /proc inside the new root");
        app.add_flag("--dev", o.dev, "Mount a small /dev: null zero full random urandom tty pts shm, and the fd links");
        app.add_flag("--sys", o.sys, "Mount /sys read-only");
        app.add_option_function<std::vector<std::string>>(
               "--bind", [&](const std::vector<std::string>& v) { for (auto& s : v) o.binds.push_back(chrootify::parse_bind(s)); },
               "Bind-mount a host path into the box, like docker run -v (repeatable)")
            ->type_name("SRC:DST[:ro]")->take_last()->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        app.add_option("--tmpfs", o.tmpfs, "Mount an empty tmpfs at DST (repeatable)")->type_name("DST");
        app.add_option_function<std::string>(
               "--overlay", [&](const std::string& s) { o.lowers = chrootify::split_lowers(s); },
               "Mount an overlay of these read-only layers (top first) as NEWROOT")
            ->type_name("LOWER[:LOWER...]");
        app.add_option("--upper", o.upper, "With --overlay: the directory that receives the box's writes")->type_name("DIR");
        app.add_flag("--upper-tmpfs", o.upper_tmpfs,
                     "With --overlay, instead of --upper: the box's writes go to memory (a tmpfs) and vanish with it");
        app.add_option("--work", o.work, "With --overlay: overlayfs's work directory (default UPPER.work)")->type_name("DIR");
        app.add_flag("--readonly,--read-only", o.read_only, "Make the new root read-only (its mounts keep their own flags)");
        app.add_option("--workdir,-w", o.workdir, "Start the command in this directory inside the box")->type_name("DIR");
        app.add_option_function<std::vector<std::string>>(
               "--env,-e", [&](const std::vector<std::string>& v) { for (auto& s : v) { chrootify::check_env(s); o.env.push_back(s); } },
               "Set an environment variable (repeatable)")
            ->type_name("K=V")->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
        app.add_flag("--clear-env", o.clear_env, "Start from an empty environment (then add -e K=V)");
        app.add_option_function<std::string>(
               "--user,-u", [&](const std::string& s) { o.user = chrootify::parse_user(s); },
               "Run the command as this user and group: numbers, or names from the box's /etc/passwd and /etc/group")
            ->type_name("USER[:GROUP]");
        if (auto code = cli::parse(app, args.own, common)) return *code;
        o.command = args.command;
        chrootify::validate(o);
        chrootify::run(o);
    });
}
