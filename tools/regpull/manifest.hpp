// Manifests and indexes: the JSON documents a registry serves for a tag.
//
//   an index (OCI image index / Docker manifest list) lists one manifest per
//   platform; a manifest names one config blob and the layer blobs, each by
//   digest and size. Nothing is trusted before its digest is checked, so the
//   checks here are strict: the media type, every descriptor, the platform.
//
// See the OCI image spec (manifest.md, image-index.md, descriptor.md) and
// Docker's "Image Manifest Version 2, Schema 2".
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json.hpp"
#include "oci_store.hpp"

namespace bk::regpull {

namespace media {
// The OCI and Docker schema-2 types are lib/oci_store's (bk::oci::media).
using namespace bk::oci::media;
// Schema 1 is named only here, to be refused.
inline constexpr const char* docker_schema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr const char* docker_schema1_signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
} // namespace media

// The Accept header for GET /v2/NAME/manifests/REF: every kind we read.
std::string manifest_accept();

enum class Kind { Index, Manifest };

// What kind of document a body is, from its mediaType field and, when it
// has none, the Content-Type the registry sent. Throws bk::Error (with a
// hint) for schema 1, unknown types and documents that contradict themselves.
Kind classify(const json& doc, std::string_view content_type);

struct Platform {
    std::string os, architecture, variant;
    std::string str() const;  // "linux/arm64/v8"
};

// "os/arch[/variant]"; throws bk::Error.
Platform parse_platform(std::string_view s);
// This machine's platform, as Go names it (x86_64 -> amd64, aarch64 -> arm64/v8).
Platform host_platform();
// Whether an index entry's platform fits what was asked for.
bool platform_matches(const Platform& want, const Platform& have);

struct Descriptor {
    std::string media_type;
    std::string digest;
    uint64_t size = 0;
    std::optional<Platform> platform;
};

// A descriptor from JSON, checked: a known digest algorithm and a
// well-formed hex value, a size in range. `what` names it in errors.
Descriptor parse_descriptor(const json& j, const std::string& what);

// Pick the manifest for `want` from an index. Throws bk::Error naming the
// platforms the index has when none fits.
Descriptor select_platform(const json& index, const Platform& want);

struct Manifest {
    std::string media_type;
    Descriptor config;
    std::vector<Descriptor> layers;
};

// Check a manifest and return its blobs. Layers must be tar, tar+gzip or
// tar+zstd (OCI or Docker names); foreign layers are refused.
Manifest parse_manifest(const json& doc, std::string_view content_type);

// "sha256:" + 64 lowercase hex (bk::Digest's rule: a digest becomes a file
// name). Anything else (../../x, upper case, short, sha512) is refused.
bool valid_digest(std::string_view d);

// The short id people see: the first 12 hex digits.
std::string short_id(std::string_view digest);

} // namespace bk::regpull
