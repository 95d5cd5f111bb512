// Checking the store: `imgpack fsck`. Every blob is read in full and hashed
// (in 1 MiB pieces: memory stays the same for a 10 GB layer), index.json is
// parsed strictly, and every tag is followed down to its config and layers:
// each must be there, as large as its descriptor says, and parse. Temporary
// files a killed writer left behind are listed, and so are the layer cache's.
//
// fsck never changes the store. It holds the store's shared lock on blobs/
// (Store::hold_blobs) while it looks, as every reader does, so `imgpack gc`
// cannot remove blobs under it; a writer running beside it adds blobs only
// under their final names, complete and verified, so it never sees half a blob.
// See the OCI image spec: image-layout.md, descriptor.md; git-fsck(1).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "json.hpp"
#include "oci_store.hpp"

namespace bk::imgpack {

// One finding: a stable kind for scripts, what it is about, and one line for people.
struct FsckFinding {
    std::string kind;     // "blob_digest", "blob_missing", "blob_size", "not_a_file",
                          // "layout", "index", "manifest", "config", "layer_cache",
                          // "temporary_file", "temporary_layer", "in_progress", ...
    std::string subject;  // a digest, a tag or a path
    std::string message;  // "blob sha256:... does not match its name"
    json to_json() const { return {{"kind", kind}, {"subject", subject}, {"message", message}}; }
};

struct FsckReport {
    std::string store;
    // Damage: a blob that is not what its name says, a tag that does not
    // resolve to a whole image, an index.json or oci-layout that is not valid.
    std::vector<FsckFinding> problems;
    // What writers that were killed left (their pid is gone): never damage
    // (no tag or blob means anything else because of them), but the store is
    // not as it was; `imgpack gc` removes them.
    std::vector<FsckFinding> leftovers;
    // Worth knowing, not wrong: a writer at work, a blob no tag reaches,
    // names in the store that are not imgpack's.
    std::vector<FsckFinding> notes;

    uint64_t blobs = 0, bytes = 0;  // blobs hashed, and their bytes
    uint64_t tags = 0;              // index.json entries followed
    uint64_t unreferenced = 0;      // blobs no tag reaches (gc would remove them)
    uint64_t cached_layers = 0;     // directories in the layer cache

    bool clean() const { return problems.empty(); }
    json to_json() const;
};

// Whether a process with this pid exists (kill(pid, 0)); a test may pass another.
using PidAlive = std::function<bool(pid_t)>;
bool pid_alive(pid_t pid);

// Check the store at store.root() and the layer cache at layers_dir ("" to
// skip it). Throws bk::Error (exit 125) only when the store cannot be read at
// all; everything wrong inside it is a finding.
FsckReport fsck_store(const oci::Store& store, const std::string& layers_dir, const PidAlive& alive = pid_alive);

// The writer's pid from a temporary name: ".tmp-PID-N-RAND" (a blob),
// ".index.json.tmp-PID-N-RAND" (the index), ".tmp-HEX-PID" (a cached layer).
// 0 when the name holds none.
pid_t temp_writer_pid(const std::string& name, bool layer_cache);

// The exit status: 0 clean, 1 problems found (kExitProblems).
inline constexpr int k_exit_problems = 1;

} // namespace bk::imgpack
