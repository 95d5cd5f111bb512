// regpull: registries. It pulls an image from a registry into the image
// store (the one imgpack reads), pushes one from the store to a registry,
// and looks at tags and manifests without pulling.
//
// A pull is: resolve the tag to a manifest (choosing the platform from an
// index), then fetch every blob the store lacks, in parallel, each checked
// against its digest and size while it streams, and only then tag it. It
// leaves unpacking to imgpack and running to the other tools.
//
// See the distribution spec (https://github.com/opencontainers/distribution-spec),
// the OCI image spec (manifest.md, image-index.md) and docker pull(1).
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "json.hpp"
#include "registry.hpp"

namespace bk::regpull {

// How to reach and log in to a registry (every subcommand).
struct RemoteOptions {
    bool insecure = false;
    std::string username;
    bool password_stdin = false;
    int retries = 5;
};

struct PullOptions {
    RemoteOptions remote;
    std::string image;
    std::string platform;  // "" = this machine
    bool json = false;
    bool quiet = false;
    int jobs = 4;          // layers at once
};

struct PushOptions {
    RemoteOptions remote;
    std::string image;  // in the store
    std::string dest;   // registry reference
    bool json = false;
    bool quiet = false;
    int jobs = 4;
};

struct TagsOptions {
    RemoteOptions remote;
    std::string repo;
    bool json = false;
};

struct ManifestOptions {
    RemoteOptions remote;
    std::string ref;
    std::string platform;  // set: resolve an index to this platform's manifest
    bool json = false;
};

int pull(const PullOptions& o);
int push(const PushOptions& o);
int tags(const TagsOptions& o);
int manifest(const ManifestOptions& o);

// ---- shared by the subcommands -----------------------------------------

// Set when SIGINT or SIGTERM arrives: transfers stop, temporary blobs go.
std::atomic<bool>& cancelled();
int cancel_signal();  // the signal that set it, or 0
void install_signal_handlers();

// http::parallel, and the first failure stops the other transfers at once
// (they see cancelled()); that first failure is the one reported.
void run_parallel(size_t workers, size_t jobs, const std::function<void(size_t job, size_t worker)>& fn);

// Credentials for `registry`: --username with --password-stdin, else
// ~/.docker/config.json, else none (anonymous).
Connection connect(const RemoteOptions& o, const std::string& registry);

// A manifest or index as the registry served it, checked against its digest.
struct Fetched {
    std::string body;
    std::string digest;      // sha256 of body
    std::string media_type;  // from the document (or Content-Type)
    json doc;
};

// GET /v2/REPO/manifests/REF (a tag or a digest), at most 4 MiB. With a
// digest REF the body must hash to it; with a tag, to the registry's
// Docker-Content-Digest when it sends one.
Fetched fetch_manifest(Registry& reg, http::Client& client, const std::string& repo, const std::string& ref);

inline constexpr uint64_t k_max_manifest = 4 << 20;

} // namespace bk::regpull
