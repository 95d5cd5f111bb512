// Image references, read and normalised the way Docker does, so a student
// can type what they would type to docker:
//
//     alpine                      -> docker.io/library/alpine:latest
//     alpine:3.19                 -> docker.io/library/alpine:3.19
//     team/app:1                  -> docker.io/team/app:1
//     127.0.0.1:5000/team/app:1   -> 127.0.0.1:5000/team/app:1
//     localhost/app               -> localhost/app:latest
//     alpine@sha256:<64 hex>      -> docker.io/library/alpine@sha256:<64 hex>  (no :latest added)
//
// The first path component is a registry host when it has a "." or a ":" or
// is "localhost"; otherwise the image is on docker.io, and a one-component
// name there is under "library/". Names are lowercase (Docker refuses
// "Alpine"); tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; digests are strict
// (digest.hpp). People see the short form (familiar()); JSON and index.json
// hold the full one (full()). See distribution/reference (normalize.go).
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "digest.hpp"

namespace bk {

struct Reference {
    std::string domain;  // "docker.io", "127.0.0.1:5000", "localhost"
    std::string path;    // "library/alpine", "team/app"
    std::string tag;     // "latest"; empty only when a digest is given without a tag
    Digest digest;       // empty unless "@sha256:..." was given

    // Throws bk::Error (exit 125) with a hint naming what is wrong.
    static Reference parse(std::string_view text);
    static std::optional<Reference> try_parse(std::string_view text);

    std::string name() const { return domain + "/" + path; }  // "docker.io/library/alpine"
    std::string full() const;      // "docker.io/library/alpine:3.19" (+ "@sha256:..." if any)
    std::string familiar() const;  // "alpine:3.19": what `docker images` would show
    std::string familiar_name() const;  // "alpine", "team/app", "127.0.0.1:5000/team/app"

    // The same image name and tag (and digest): compare normalised forms.
    bool operator==(const Reference& o) const { return full() == o.full(); }
};

} // namespace bk
