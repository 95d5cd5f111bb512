// regpull [OPTIONS] IMAGE | push IMAGE DEST | tags REPO | manifest REF
// Options in, a subcommand's function out; the work is in pull.cpp,
// push.cpp and look.cpp.
#include <unistd.h>

#include <functional>

#include "argv.hpp"
#include "cli.hpp"
#include "error.hpp"
#include "paths.hpp"
#include "regpull.hpp"

using namespace bk;
using namespace bk::regpull;

namespace {

const char* const k_footer = R"(Commands:
  regpull IMAGE                 pull IMAGE into the store (also: regpull pull IMAGE)
  regpull push IMAGE DEST       push an image from the store to a registry
  regpull tags REPO             list a repository's tags
  regpull manifest REF          print a manifest or index as the registry serves it

Examples:
  regpull 127.0.0.1:5000/demo/busybox:1.35
  regpull --platform linux/arm64 alpine:3.19
  regpull push demo/busybox:1.35 127.0.0.1:5000/class/busybox:1.35
  regpull manifest --json 127.0.0.1:5000/demo/busybox:1.35 | jq .manifest.layers

Plain http only to loopback registries (127.0.0.0/8, ::1, localhost) or with --insecure.
Credentials: --username NAME --password-stdin, else ~/.docker/config.json.
The last line on stdout is the image's reference with its digest.
Lesson: lessons/06-registries/README.md    Manual: man regpull)";

void remote_options(CLI::App& app, RemoteOptions& r) {
    app.add_flag("--insecure", r.insecure, "Allow plain http to a registry that is not on loopback");
    app.add_option("--username,-u", r.username, "Log in as this user (the password comes from --password-stdin)")
        ->type_name("NAME");
    app.add_flag("--password-stdin", r.password_stdin, "Read the password from stdin");
    app.add_option("--retries", r.retries, "Retries on 429, 5xx and cut connections (default 5)")
        ->type_name("N")->check(CLI::Range(0, 20));
}

// A pull or push stopped by SIGINT/SIGTERM/SIGHUP unwinds (temporary blobs
// go, nothing is tagged) and exits 128+S like a process the signal killed.
int interruptible(const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        if (!cancel_signal() && full_disk_without_hint(e)) {
            Error full = e;  // a full disk: say which, and that nothing was stored
            throw full.with_hint("the image store " + paths::store() +
                                 " is on a full filesystem (df -h shows it); nothing was stored. Free space (imgpack gc"
                                 " removes blobs no tag reaches) or set BOXKIT_STORE to a larger one");
        }
        if (!cancel_signal()) throw;
        bk::report(Error("finish: interrupted by signal " + std::to_string(cancel_signal()), "", 0,
                         "nothing was tagged and no temporary file stays behind"));
        return 128 + cancel_signal();
    }
}

std::vector<std::string> without(const std::vector<std::string>& args, size_t i) {
    std::vector<std::string> out = args;
    out.erase(out.begin() + long(i));
    return out;
}

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("regpull", [&]() -> int {
        SplitArgv args = split_argv(argc, argv);
        if (!args.command.empty()) {
            std::fprintf(stderr, "regpull: cannot understand the command line: regpull runs no command after --\n");
            std::fprintf(stderr, "regpull: hint: see 'regpull --help'\n");
            return EXIT_TOOL_FAILED;
        }
        cli::Common common;
        // The subcommand is the first word that is not an option.
        std::string sub;
        size_t at = 0;
        for (size_t i = 1; i < args.own.size(); ++i)
            if (!args.own[i].starts_with("-")) {
                if (args.own[i] == "push" || args.own[i] == "tags" || args.own[i] == "manifest" ||
                    args.own[i] == "pull")
                    sub = args.own[i], at = i;
                break;
            }
        if (sub == "push") {
            PushOptions o;
            CLI::App app{"Push an image from the store to a registry: blobs it lacks, then the manifest.", "regpull push"};
            cli::setup(app, common, k_footer);
            remote_options(app, o.remote);
            app.add_option("IMAGE", o.image, "The image in the store")->required();
            app.add_option("DEST", o.dest, "Where to push it: REGISTRY/REPO:TAG")->required();
            app.add_flag("--json", o.json, "JSON events on stdout, one per line");
            app.add_option("--jobs,-j", o.jobs, "Blobs at once (default 4)")->check(CLI::Range(1, 16));
            if (auto code = cli::parse(app, without(args.own, at), common)) return *code;
            o.quiet = common.quiet;
            return interruptible([&] { return push(o); });
        }
        if (sub == "tags") {
            TagsOptions o;
            CLI::App app{"List the tags of a repository in a registry.", "regpull tags"};
            cli::setup(app, common, k_footer);
            remote_options(app, o.remote);
            app.add_option("REPO", o.repo, "The repository: alpine, 127.0.0.1:5000/team/app")->required();
            app.add_flag("--json", o.json, "One JSON document: {name, tags}");
            if (auto code = cli::parse(app, without(args.own, at), common)) return *code;
            return tags(o);
        }
        if (sub == "manifest") {
            ManifestOptions o;
            CLI::App app{"Print the manifest or index a reference names, as the registry serves it.", "regpull manifest"};
            cli::setup(app, common, k_footer);
            remote_options(app, o.remote);
            app.add_option("REF", o.ref, "A tag or digest reference")->required();
            app.add_option("--platform", o.platform, "From an index, print this platform's manifest")
                ->type_name("OS/ARCH[/VARIANT]");
            app.add_flag("--json", o.json, "One JSON document: {reference, digest, media_type, manifest}");
            if (auto code = cli::parse(app, without(args.own, at), common)) return *code;
            return manifest(o);
        }
        PullOptions o;
        CLI::App app{"Pull an image from a registry into the image store, every blob checked against its digest.",
                     "regpull"};
        cli::setup(app, common, k_footer);
        remote_options(app, o.remote);
        app.add_option("IMAGE", o.image, "What docker pull takes: alpine, alpine:3.19, REPO@sha256:..., HOST:PORT/REPO:TAG")
            ->required();
        app.add_option("--platform", o.platform, "The platform to pick from an index (default: this machine)")
            ->type_name("OS/ARCH[/VARIANT]");
        app.add_flag("--json", o.json, "JSON events on stdout, one per line; the last names the image");
        app.add_option("--jobs,-j", o.jobs, "Layers at once (default 4)")->check(CLI::Range(1, 16));
        if (auto code = cli::parse(app, sub == "pull" ? without(args.own, at) : args.own, common)) return *code;
        o.quiet = common.quiet;
        return interruptible([&] { return pull(o); });
    });
}
