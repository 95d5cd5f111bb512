// imgpack SUBCOMMAND [OPTIONS] ...
// Options in, one run_* function out; the work is in the other files here.
#include <cstdlib>

#include "argv.hpp"
#include "cli.hpp"
#include "error.hpp"
#include "imgpack.hpp"

using namespace bk;

namespace {

const char* const k_footer = R"(Examples:
  imgpack build ./rootfs --tag demo/app:1 --cmd '["/bin/sh"]'
  imgpack unpack demo/app:1 ./box
  imgpack layers demo/app:1 --lowerdirs     # for chrootify --overlay
  imgpack save demo/app:1 -o app.tar && imgpack load -i app.tar
  imgpack commit --upper ./box/upper --from demo/app:1 --tag demo/app:2
  imgpack fsck --json | jq '.problems[].message'

The store is an OCI image layout ($BOXKIT_STORE, default /var/lib/boxkit/store
as root); skopeo (oci:STORE:REF) and umoci read and write it too.
Exit status: 0 on success, 125 if imgpack fails; fsck exits 1 when the store has problems.
Lesson: lessons/05-images/README.md    Manual: man imgpack)";

void budget_options(CLI::App* sub, imgpack::Options& o) {
    sub->add_option("--max-bytes", o.budget.max_bytes, "Refuse a layer that expands past this many bytes (default 16 GiB)")
        ->type_name("N");
    sub->add_option("--max-entries", o.budget.max_entries, "Refuse a layer with more entries than this (default 2000000)")
        ->type_name("N");
}

void config_options(CLI::App* sub, imgpack::Options& o) {
    sub->add_option("--tag,-t", o.tag, "Name the new image NAME:TAG")->required()->type_name("NAME:TAG");
    sub->add_option_function<std::string>(
           "--cmd", [&](const std::string& v) { o.cmd = imgpack::command_form(v, "--cmd"); o.cmd_set = true; },
           "The command: a JSON array (exec form) or a string run by /bin/sh -c, as in a Dockerfile")
        ->type_name("CMD");
    sub->add_option_function<std::string>(
           "--entrypoint", [&](const std::string& v) { o.entrypoint = imgpack::command_form(v, "--entrypoint"); o.entrypoint_set = true; },
           "The entrypoint, in the same two forms")
        ->type_name("CMD");
    sub->add_option("--env,-e", o.env, "Set an environment variable (repeatable)")->type_name("K=V")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_option("--workdir,-w", o.workdir, "The working directory")->type_name("DIR");
    sub->add_option("--user,-u", o.user, "The user the command runs as")->type_name("USER[:GROUP]");
    sub->add_option("--label,-l", o.labels, "Add a label (repeatable)")->type_name("K=V")
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    sub->add_option("--compress", o.compression, "How to compress the new layer")
        ->check(CLI::IsMember({"gzip", "zstd", "none"}))->type_name("gzip|zstd|none");
    sub->add_option("--message,-m", o.message, "A line for the image's history")->type_name("TEXT");
}

} // namespace

int main(int argc, char** argv) {
    return cli::main_guard("imgpack", [&] {
        SplitArgv args = split_argv(argc, argv);
        imgpack::Options o;
        cli::Common common;
        std::string store;
        CLI::App app{"Build, store, unpack and move container images: an OCI image layout and its layers.", "imgpack"};
        cli::setup(app, common, k_footer);
        app.require_subcommand(1);
        app.fallthrough();
        app.add_option("--store", store, "The image store (default $BOXKIT_STORE or the DESIGN.md place)")->type_name("DIR");
        auto json_flag = [&](CLI::App* s) { s->add_flag("--json", o.json, "Print one JSON document"); };

        auto* unpack = app.add_subcommand("unpack", "Apply all layers in order into DEST, a flat root filesystem");
        unpack->add_option("IMAGE", o.image, "The image (NAME[:TAG], NAME@DIGEST or image ID)")->required();
        unpack->add_option("DEST", o.dest, "A new or empty directory")->required();
        budget_options(unpack, o);
        json_flag(unpack);

        auto* layers = app.add_subcommand("layers", "List an image's layers; unpack each once into the layer cache");
        layers->add_option("IMAGE", o.image, "The image")->required();
        layers->add_flag("--unpack", o.unpack_cache, "Unpack every layer into the cache (once; shared by every image)");
        layers->add_flag("--lowerdirs", o.lowerdirs, "Unpack, then print the lowerdir list (top first) for chrootify --overlay");
        budget_options(layers, o);
        json_flag(layers);

        auto* build = app.add_subcommand("build", "Make an image from a directory (with --from: only what differs)");
        build->add_option("DIR", o.dir, "The directory that becomes the image's files")->required();
        build->add_option("--from", o.from, "The base image: the new layer holds only the differences")->type_name("IMAGE");
        config_options(build, o);
        json_flag(build);

        auto* commit = app.add_subcommand("commit", "Make an overlay box's upper directory a new layer (docker commit)");
        commit->add_option("--upper", o.upper, "The overlay upper directory")->required()->type_name("DIR");
        commit->add_option("--from", o.from, "The image the box runs")->required()->type_name("IMAGE");
        config_options(commit, o);
        json_flag(commit);

        auto* inspect = app.add_subcommand("inspect", "Show an image: id, tags, config, layers, history");
        inspect->add_option("IMAGE", o.image, "The image")->required();
        json_flag(inspect);

        auto* config = app.add_subcommand("config", "Show an image's config (--json: the whole OCI config)");
        config->add_option("IMAGE", o.image, "The image")->required();
        json_flag(config);

        auto* ls = app.add_subcommand("ls", "List the tagged images");
        json_flag(ls);

        auto* tag = app.add_subcommand("tag", "Give an image another name");
        tag->add_option("SRC", o.image, "The image")->required();
        tag->add_option("DST", o.target, "The new NAME:TAG")->required();
        json_flag(tag);

        auto* rm = app.add_subcommand("rm", "Remove tags (blobs stay until gc; shared layers stay)");
        rm->add_option("IMAGE", o.images, "Images (by tag: that tag; by ID: all its tags)")->required();
        json_flag(rm);

        auto* gc = app.add_subcommand("gc", "Remove blobs and cached layers no tag reaches; say how much was freed");
        json_flag(gc);

        auto* save = app.add_subcommand("save", "Write images into one archive (docker save / OCI layout)");
        save->add_option("IMAGE", o.images, "Images")->required();
        save->add_option("-o,--output", o.output, "The archive to write")->required()->type_name("FILE");
        save->add_option("--format", o.format, "docker (docker load, skopeo docker-archive:) or oci (oci-archive:)")
            ->check(CLI::IsMember({"docker", "oci"}));

        auto* load = app.add_subcommand("load", "Read images from a docker save or OCI archive into the store");
        load->add_option("-i,--input", o.input, "The archive")->required()->type_name("FILE");
        json_flag(load);

        auto* bundle = app.add_subcommand("bundle", "Make an OCI runtime bundle (rootfs + config.json) for runc/crun");
        bundle->add_option("IMAGE", o.image, "The image")->required();
        bundle->add_option("DIR", o.dest, "A new or empty directory")->required();
        budget_options(bundle, o);
        json_flag(bundle);

        auto* fsck = app.add_subcommand("fsck", "Check the store: every blob against its name, every tag down to its layers");
        fsck->footer("With -q (--quiet), only problems are printed.\n"
                     "Exit status: 0 when the store is whole, 1 when fsck found problems (each printed), 125 when\n"
                     "the store cannot be read. Left-over temporary files are listed; imgpack gc removes them.\n"
                     "fsck changes nothing. See imgpack --help and man imgpack.");
        json_flag(fsck);

        for (auto* s : app.get_subcommands({}))
            if (s != fsck) s->footer("See imgpack --help and man imgpack.");
        if (auto code = cli::parse(app, args.own, common)) return *code;
        if (!store.empty()) ::setenv("BOXKIT_STORE", store.c_str(), 1);
        if (!args.command.empty())
            throw bk::Error("understand the command line: imgpack runs no command after --", "", 0, "see 'imgpack --help'");

        CLI::App* sub = app.get_subcommands().front();
        return imgpack::with_full_disk_hint(imgpack::full_disk_hint(sub->get_name(), o), [&] {
            if (unpack->parsed()) return imgpack::run_unpack(o);
            if (layers->parsed()) return imgpack::run_layers(o);
            if (build->parsed()) return imgpack::run_build(o);
            if (commit->parsed()) return imgpack::run_commit(o);
            if (inspect->parsed()) return imgpack::run_inspect(o);
            if (config->parsed()) return imgpack::run_config(o);
            if (ls->parsed()) return imgpack::run_ls(o);
            if (tag->parsed()) return imgpack::run_tag(o);
            if (rm->parsed()) return imgpack::run_rm(o);
            if (gc->parsed()) return imgpack::run_gc(o);
            if (save->parsed()) return imgpack::run_save(o);
            if (load->parsed()) return imgpack::run_load(o);
            if (bundle->parsed()) return imgpack::run_bundle(o);
            if (fsck->parsed()) return imgpack::run_fsck(o);
            return 125;
        });
    });
}
