// One image in the store, read and checked: the tag (or ID) resolves to a
// manifest (through an index for multi-platform images: the one for this
// machine), the manifest names a config and layers, and the config's
// rootfs.diff_ids match the layers one for one. Everything here reads blobs
// with a size cap and checks every digest (lib/digest, lib/oci_store).
// See the OCI image spec: manifest.md, config.md, image-index.md.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "digest.hpp"
#include "json.hpp"
#include "oci_store.hpp"
#include "reference.hpp"

namespace bk::imgpack {

struct Layer {
    oci::Descriptor blob;  // as stored: maybe compressed
    Digest diff_id;        // of the uncompressed tar
};

struct Image {
    std::string shown;                 // what the user typed, for messages
    std::vector<std::string> tags;     // full references pointing here
    oci::Descriptor top;               // what the tag points at (maybe an index)
    oci::Descriptor manifest_desc;     // this machine's manifest
    json manifest;
    oci::Descriptor config_desc;
    json config;
    std::vector<Layer> layers;         // bottom first

    std::string id() const { return config_desc.digest.str(); }  // docker's image ID
};

// "linux/amd64" for this machine, in OCI's words.
std::string host_architecture();

// Checks that throw bk::Error (exit 125) naming what is wrong.
void check_manifest(const json& m, const std::string& shown);
void check_config(const json& c, size_t layers, const std::string& shown);
// From an index: the descriptor for this machine's platform.
oci::Descriptor pick_platform(const json& index, const std::string& shown);

// A tag ("alpine:3.19"), a full reference, NAME@sha256:..., or an image ID
// (the config digest, "sha256:..." or 12+ hex digits, as docker accepts).
Image load_image(const oci::Store& store, const std::string& name);

// Write config and manifest (OCI media types) for these layers; tag it when
// `tag` is given. Returns the manifest's descriptor.
oci::Descriptor write_image(oci::Store& store, const json& config, const std::vector<Layer>& layers,
                            const std::optional<Reference>& tag);

// UTC now as RFC 3339, as configs write "created".
std::string now_rfc3339();

} // namespace bk::imgpack
