// Writing a new layer: tar entries (pax, as Docker writes them) streamed
// through gzip or zstd straight into the store, the diff_id (the
// uncompressed tar's digest) and the blob digest computed on the way.
#pragma once
#include <sys/types.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "image.hpp"
#include "oci_store.hpp"

struct archive;

namespace bk::imgpack {

class LayerWriter {
public:
    LayerWriter(const oci::Store& store, const std::string& compression);  // gzip | zstd | none
    ~LayerWriter();
    LayerWriter(const LayerWriter&) = delete;
    LayerWriter& operator=(const LayerWriter&) = delete;

    // The file at host path `src` as tar entry `name` ("etc/passwd"); its
    // missing parent directories first, taken from `src_root`.
    void add(const std::string& name, const std::string& src);
    // A whiteout: ".wh.NAME" beside NAME, or ".wh..wh..opq" in DIR.
    void add_whiteout(const std::string& name);
    void add_opaque(const std::string& dir);
    void set_source_root(const std::string& root) { src_root_ = root; }
    uint64_t entries() const { return entries_; }
    // End the tar, flush the compressor, verify and store the blob.
    Layer finish();

private:
    struct Impl;
    void parents(const std::string& name);
    void entry(const std::string& name, const std::string& src);
    std::unique_ptr<Impl> impl_;
    std::string src_root_;
    std::set<std::string> dirs_done_;
    std::map<std::pair<dev_t, ino_t>, std::string> inodes_;  // hard links: first name seen
    uint64_t entries_ = 0;
};

} // namespace bk::imgpack
