// Applying an image's layers: into one flat root (unpack, bundle), or each
// once into the layer cache (bk::paths::layers(), one directory per diff_id)
// so that overlayfs can stack them as lowerdirs and every image that shares
// a layer shares its directory.
#pragma once
#include <string>
#include <vector>

#include "image.hpp"
#include "unpack.hpp"

namespace bk::imgpack {

// Stream one layer blob (digest and diff_id verified as it streams) into an
// extractor. Throws on any mismatch; the caller throws the result away.
UnpackStats apply_layer(const oci::Store& store, const Layer& layer, size_t index, Extractor& x, const Budget& budget);

// All layers in order into DEST (made if missing; must be empty). A failed
// unpack removes DEST again when it made it.
UnpackStats unpack_image(const oci::Store& store, const Image& img, const std::string& dest, const Budget& budget);

// The cache directory of a layer, unpacked now if it is not there yet:
// into a temporary directory, verified, then renamed, so a failed or killed
// unpack never leaves a partial layer under its real name.
std::string cached_layer(const oci::Store& store, const Layer& layer, size_t index, const Budget& budget, bool& made);
std::string layer_cache_dir(const Digest& diff_id);

} // namespace bk::imgpack
