// The image store: an OCI image layout (image-spec image-layout.md) at
// bk::paths::store(), shared by imgpack and regpull, and readable and
// writable by skopeo (`oci:STORE:REF`) and umoci:
//
//     STORE/oci-layout            {"imageLayoutVersion": "1.0.0"}
//     STORE/index.json            the tags: one descriptor per tag, annotated
//                                 org.opencontainers.image.ref.name = FULL reference
//     STORE/blobs/sha256/<hex>    every manifest, config and layer, named by its digest
//
// Directories are 0700. Blobs are written to a temporary file, their digest
// and size checked, fsync'd, then linked into place under their name, so a
// pull or build that fails or is killed leaves the store as it was. index.json
// is edited under flock(2) on the store directory and replaced by rename(2),
// so concurrent imgpack and regpull runs never lose or corrupt a tag.
//
// Typical use (regpull):
//
//     bk::oci::Store store;                       // bk::paths::store()
//     auto hold = store.hold_blobs();             // gc waits while we pull
//     if (!store.has_blob(d)) {
//         auto w = store.write_blob(d, size);     // expected digest and size
//         while (...) w.write(buf, n);            // stream from the network
//         w.commit();                             // verify, fsync, rename
//     }
//     auto m = store.put_blob(manifest_text, bk::oci::media::oci_manifest);
//     store.tag(bk::Reference::parse("alpine:3.19"), m);
//
// See the OCI image spec: image-layout.md, image-index.md, descriptor.md.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "digest.hpp"
#include "fd.hpp"
#include "json.hpp"
#include "reference.hpp"

namespace bk::oci {

namespace media {
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_manifest_list = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* docker_layer_foreign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

bool is_manifest(std::string_view mt);  // one image (OCI or Docker schema 2)
bool is_index(std::string_view mt);     // a list of images (OCI index or Docker manifest list)
bool is_layer(std::string_view mt);     // any tar layer, compressed or not
} // namespace media

inline constexpr const char* k_ref_name = "org.opencontainers.image.ref.name";

// A descriptor (descriptor.md): what a blob is, its digest and size.
struct Descriptor {
    std::string media_type;
    Digest digest;
    int64_t size = 0;
    json annotations = nullptr;  // object or null
    json platform = nullptr;     // object or null (in indexes)

    json to_json() const;
    // Strict: mediaType string, digest valid (digest.hpp), size >= 0.
    // Throws bk::Error (exit 125) naming `what`.
    static Descriptor from_json(const json& j, std::string_view what = "a descriptor");
};

// One tag in index.json.
struct Tagged {
    std::string name;  // the annotation as stored ("docker.io/library/alpine:3.19")
    std::optional<Reference> ref;  // it, parsed; empty when it is no image name
    Descriptor target;
};

class Store {
public:
    explicit Store(std::string root = {});  // {} = bk::paths::store()
    const std::string& root() const { return root_; }

    // Create the layout if it is missing (mkdir -p, 0700; oci-layout and an
    // empty index.json written atomically). Every write below calls it.
    void init();
    bool exists() const;  // oci-layout is there

    // ---- blobs ---------------------------------------------------------
    std::string blob_path(const Digest& d) const;
    bool has_blob(const Digest& d) const;
    int64_t blob_size(const Digest& d) const;  // -1 when missing
    // Open a blob for reading (O_CLOEXEC); throws with a hint when missing.
    Fd open_blob(const Digest& d) const;
    // A whole small blob (manifest, config, index), refused past max_size,
    // its digest checked against its name.
    std::string read_blob(const Digest& d, size_t max_size = 4 << 20) const;
    json read_json_blob(const Digest& d, size_t max_size = 4 << 20) const;

    // Streams one blob in. Move-only. Destroyed without commit(): nothing stays.
    class BlobWriter {
    public:
        BlobWriter(BlobWriter&& o) noexcept;
        BlobWriter& operator=(BlobWriter&&) = delete;
        ~BlobWriter();
        void write(const void* data, size_t size);
        void write(std::string_view data) { write(data.data(), data.size()); }
        uint64_t written() const { return hash_.bytes(); }
        // The digest of everything written, without naming the blob (a pull
        // checks every blob of an image before it names any). Ends writing.
        Digest digest();
        // Check the digest (and size) given to write_blob, fsync, and put the
        // blob under its name. If the same blob is already there, that is
        // fine. Returns the descriptor (media_type empty: the caller knows it).
        // A mismatch throws and leaves nothing behind.
        Descriptor commit();

    private:
        friend class Store;
        BlobWriter(const Store& s, Digest expected, int64_t expected_size);
        void discard();
        const Store* store_;
        Digest expected_;
        int64_t expected_size_;
        Fd fd_, dir_;
        std::string tmp_name_;  // empty when O_TMPFILE gave an unnamed file
        Sha256 hash_;
        std::optional<Digest> final_;  // set once digest() has finished the hash
        Fd hold_;  // shared lock on blobs/ (see hold_blobs)
    };
    // expected = {} when the digest is not known in advance (a build).
    BlobWriter write_blob(Digest expected = {}, int64_t expected_size = -1) const;
    // A blob from memory (manifests, configs); returns its descriptor with
    // media_type set. Writes nothing when it is already there.
    Descriptor put_blob(std::string_view data, std::string media_type) const;

    // While the returned fd is open, `imgpack gc` waits: hold it from the
    // first blob of a pull to its tag(), so gc cannot take blobs no tag reaches yet.
    Fd hold_blobs() const;
    // gc's side: an exclusive lock on blobs/.
    Fd lock_blobs_exclusive() const;

    // ---- tags (index.json) ---------------------------------------------
    std::vector<Tagged> tags() const;
    // The raw index.json (an empty index when there is none).
    json read_index() const;
    // By digest (ref@sha256:..., when the blob is here) or by tag. Tags stored
    // in short form by other tools ("alpine" by skopeo) match their normal form.
    std::optional<Descriptor> resolve(const Reference& ref) const;
    // Point ref (full form) at target; any entry with the same name goes.
    void tag(const Reference& ref, const Descriptor& target);
    // Remove the tag; false when there was none.
    bool untag(const Reference& ref);
    // Edit index.json under the lock and replace it atomically. The function
    // gets the current document and changes it in place.
    void update_index(const std::function<void(json& index)>& edit);

private:
    std::string root_;
};

} // namespace bk::oci
