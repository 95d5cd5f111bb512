// imgpack: images. An image is a template: files in layers (tar archives,
// each a change to the one below), a config (the command, environment,
// working directory) and a manifest that ties them together by digest, all
// kept in an OCI image layout (lib/oci_store) that regpull pulls into.
//
// imgpack builds images from directories (a new layer holds only what
// differs from its base, with whiteouts for what was removed), unpacks them
// safely into a root filesystem, or once per layer into a cache whose
// directories become overlayfs lowerdirs (chrootify --overlay); it inspects,
// tags, removes and garbage-collects; it saves and loads docker- and
// OCI-format archives; it commits an overlay box's upper directory as a new
// layer; and it makes OCI runtime bundles that runc and crun start.
//
// It leaves registries to regpull and running boxes to chrootify,
// nsjail-lite and cgctl. See the OCI image spec (image-layout.md,
// manifest.md, config.md, layer.md), tar(5), openat2(2), overlayfs.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "json.hpp"
#include "unpack.hpp"

namespace bk::imgpack {

struct Options {
    bool json = false;
    Budget budget;

    // unpack / layers / inspect / config / bundle / tag / rm / commit
    std::string image;
    std::string dest;           // unpack DEST, bundle DIR
    bool unpack_cache = false;  // layers --unpack
    bool lowerdirs = false;     // layers --lowerdirs

    // build / commit
    std::string dir;            // build DIR
    std::string upper;          // commit --upper
    std::string tag;            // --tag
    std::string from;           // --from
    std::vector<std::string> cmd, entrypoint, env, labels;
    bool cmd_set = false, entrypoint_set = false;
    std::string workdir, user, compression = "gzip", message;

    // tag SRC DST, rm IMAGE..., save IMAGE... -o FILE --format, load -i FILE
    std::string target;
    std::vector<std::string> images;
    std::string output, input, format = "docker";
};

// --cmd / --entrypoint: '["a","b"]' is the exec form; anything else is the
// shell form, ["/bin/sh", "-c", TEXT], as a Dockerfile's CMD does.
std::vector<std::string> command_form(const std::string& text, const std::string& option);

int run_unpack(const Options& o);
int run_layers(const Options& o);
int run_build(const Options& o);
int run_commit(const Options& o);
int run_inspect(const Options& o);
int run_config(const Options& o);
int run_ls(const Options& o);
int run_tag(const Options& o);
int run_rm(const Options& o);
int run_gc(const Options& o);
int run_save(const Options& o);
int run_load(const Options& o);
int run_bundle(const Options& o);
int run_fsck(const Options& o);  // fsck.cpp: 0 clean, 1 problems found

// "3.1MB", as docker prints sizes.
std::string human_size(int64_t n);

// diskfull.cpp: run a subcommand; an ENOSPC or EDQUOT error gets `hint`,
// which names the place that filled up (the store, the layer cache, DEST).
int with_full_disk_hint(const std::string& hint, const std::function<int()>& body);
std::string full_disk_hint(const std::string& subcommand, const Options& o);

// The runtime spec (config.json) for an image config; rootfs is read for user names.
json runtime_spec(const json& image_config, const std::string& rootfs);

} // namespace bk::imgpack
