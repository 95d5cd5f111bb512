#include "manifest.hpp"

#include <sys/utsname.h>

#include "digest.hpp"
#include "error.hpp"

namespace bk::regpull {

namespace {

std::string base_type(std::string_view content_type) {
    auto semi = content_type.find(';');
    std::string_view t = content_type.substr(0, semi);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return std::string(t);
}

bool is_index_type(const std::string& t) { return t == media::oci_index || t == media::docker_manifest_list; }
bool is_manifest_type(const std::string& t) { return t == media::oci_manifest || t == media::docker_manifest; }

const char* const k_schema1_hint =
    "Docker schema 1 manifests are deprecated and unsigned in practice; push the image again "
    "with a current client (docker push, skopeo copy) so the registry serves schema 2 or OCI";

bool known_layer_type(const std::string& t) {
    return t == "application/vnd.oci.image.layer.v1.tar" || t == "application/vnd.oci.image.layer.v1.tar+gzip" ||
           t == "application/vnd.oci.image.layer.v1.tar+zstd" ||
           t == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
           t == "application/vnd.docker.image.rootfs.diff.tar";
}

} // namespace

std::string manifest_accept() {
    return std::string(media::oci_index) + ", " + media::oci_manifest + ", " + media::docker_manifest_list + ", " +
           media::docker_manifest;
}

Kind classify(const json& doc, std::string_view content_type) {
    if (!doc.is_object()) throw Error("read the manifest", "", 0, "it is not a JSON object");
    if (doc.contains("schemaVersion") && doc["schemaVersion"] == 1)
        throw Error("pull a Docker schema 1 manifest", "", 0, k_schema1_hint);
    std::string header = base_type(content_type);
    if (header == media::docker_schema1 || header == media::docker_schema1_signed)
        throw Error("pull a Docker schema 1 manifest", "", 0, k_schema1_hint);
    std::string field;
    if (doc.contains("mediaType")) {
        if (!doc["mediaType"].is_string()) throw Error("read the manifest", "", 0, "its mediaType is not a string");
        field = doc["mediaType"].get<std::string>();
    }
    std::string type = !field.empty() ? field : header;
    bool has_manifests = doc.contains("manifests"), has_layers = doc.contains("layers");
    if (has_manifests && has_layers)
        throw Error("read the manifest", "", 0, "it has both \"manifests\" and \"layers\": neither an index nor a manifest");
    if (type.empty() || type == "application/json") {  // OCI allows leaving mediaType out
        if (has_manifests) return Kind::Index;
        if (has_layers) return Kind::Manifest;
    }
    if (is_index_type(type)) {
        if (!has_manifests) throw Error("read the index", "", 0, "it has no \"manifests\" list");
        return Kind::Index;
    }
    if (is_manifest_type(type)) {
        if (!has_layers && !doc.contains("config")) throw Error("read the manifest", "", 0, "it has no config and no layers");
        if (has_manifests) throw Error("read the manifest", "", 0, "it says it is a manifest but lists manifests");
        return Kind::Manifest;
    }
    throw Error("read the manifest", "", 0, "unknown media type \"" + type + "\" (Content-Type: " +
                                               std::string(content_type) + ")");
}

std::string Platform::str() const {
    return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

Platform parse_platform(std::string_view s) {
    Platform p;
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        auto slash = s.find('/', start);
        parts.emplace_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    auto ok = [](const std::string& w) {
        if (w.empty() || w.size() > 32) return false;
        for (char c : w)
            if (!(std::isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.')) return false;
        return true;
    };
    if (parts.size() < 2 || parts.size() > 3 || !ok(parts[0]) || !ok(parts[1]) || (parts.size() == 3 && !ok(parts[2])))
        throw Error("understand the platform \"" + std::string(s) + "\"", "", 0,
                    "write it as os/arch or os/arch/variant, e.g. linux/amd64, linux/arm64, linux/arm/v7");
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
    return p;
}

Platform host_platform() {
    utsname u{};
    ::uname(&u);
    std::string m = u.machine;
    Platform p{"linux", m, ""};
    if (m == "x86_64") p.architecture = "amd64";
    else if (m == "aarch64" || m == "arm64") p = {"linux", "arm64", "v8"};
    else if (m == "armv7l") p = {"linux", "arm", "v7"};
    else if (m == "armv6l") p = {"linux", "arm", "v6"};
    else if (m == "i686" || m == "i386") p.architecture = "386";
    else if (m == "ppc64le") p.architecture = "ppc64le";
    else if (m == "s390x") p.architecture = "s390x";
    else if (m == "riscv64") p.architecture = "riscv64";
    return p;
}

bool platform_matches(const Platform& want, const Platform& have) {
    if (want.os != have.os || want.architecture != have.architecture) return false;
    if (want.variant.empty() || want.variant == have.variant) return true;
    // arm64 images usually leave out the only variant there is.
    return want.architecture == "arm64" && want.variant == "v8" && have.variant.empty();
}

bool valid_digest(std::string_view d) { return Digest::is_valid(d); }

std::string short_id(std::string_view digest) {
    auto colon = digest.find(':');
    return std::string(digest.substr(colon == std::string_view::npos ? 0 : colon + 1, 12));
}

Descriptor parse_descriptor(const json& j, const std::string& what) {
    auto bad = [&](const std::string& why) { return Error("trust the " + what, "", 0, why); };
    if (!j.is_object()) throw bad("it is not a JSON object");
    Descriptor d;
    if (!j.contains("mediaType") || !j["mediaType"].is_string()) throw bad("it has no mediaType");
    d.media_type = j["mediaType"].get<std::string>();
    if (!j.contains("digest") || !j["digest"].is_string()) throw bad("it has no digest");
    d.digest = j["digest"].get<std::string>();
    if (!valid_digest(d.digest))
        throw bad("its digest " + json(d.digest).dump() + " is not sha256: followed by 64 lowercase hex digits");
    if (!j.contains("size") || !j["size"].is_number_integer()) throw bad("it has no size");
    if (j["size"].is_number_unsigned()) {
        d.size = j["size"].get<uint64_t>();
    } else {
        int64_t s = j["size"].get<int64_t>();
        if (s < 0) throw bad("its size is negative");
        d.size = uint64_t(s);
    }
    if (d.size > (uint64_t(1) << 40)) throw bad("its size " + std::to_string(d.size) + " is over a terabyte");
    if (j.contains("platform")) {
        const json& p = j["platform"];
        if (!p.is_object() || !p.contains("os") || !p.contains("architecture") || !p["os"].is_string() ||
            !p["architecture"].is_string())
            throw bad("its platform has no os and architecture");
        Platform pl{p["os"].get<std::string>(), p["architecture"].get<std::string>(), ""};
        if (p.contains("variant") && p["variant"].is_string()) pl.variant = p["variant"].get<std::string>();
        d.platform = pl;
    }
    return d;
}

Descriptor select_platform(const json& index, const Platform& want) {
    if (!index.contains("manifests") || !index["manifests"].is_array())
        throw Error("read the index", "", 0, "its \"manifests\" is not a list");
    std::vector<Descriptor> fits;
    std::string have;
    size_t n = 0;
    for (const json& m : index["manifests"]) {
        Descriptor d = parse_descriptor(m, "index entry " + std::to_string(n++));
        if (!d.platform) continue;
        if (d.platform->os == "unknown") continue;  // attestations and signatures
        if (!have.empty()) have += ", ";
        have += d.platform->str();
        if (platform_matches(want, *d.platform)) fits.push_back(d);
    }
    if (fits.empty())
        throw Error("find a manifest for " + want.str() + " in the index", "", 0,
                    "the image is built for: " + (have.empty() ? std::string("no platform at all") : have) +
                        "; choose one with --platform");
    // With no variant asked for, prefer the entry that names none, then the first.
    if (want.variant.empty())
        for (auto& d : fits)
            if (d.platform->variant.empty()) return d;
    for (auto& d : fits)
        if (d.platform->variant == want.variant) return d;
    return fits.front();
}

Manifest parse_manifest(const json& doc, std::string_view content_type) {
    if (classify(doc, content_type) != Kind::Manifest)
        throw Error("read the manifest", "", 0, "an index is here where a single-platform manifest should be");
    if (!doc.contains("schemaVersion") || doc["schemaVersion"] != 2)
        throw Error("read the manifest", "", 0, "its schemaVersion is not 2");
    Manifest m;
    m.media_type = doc.contains("mediaType") ? doc["mediaType"].get<std::string>() : base_type(content_type);
    if (m.media_type.empty()) m.media_type = media::oci_manifest;
    if (!doc.contains("config")) throw Error("read the manifest", "", 0, "it has no config");
    m.config = parse_descriptor(doc["config"], "config descriptor");
    if (m.config.media_type != media::oci_config && m.config.media_type != media::docker_config)
        throw Error("pull this image", "", 0,
                    "its config is \"" + m.config.media_type + "\", not a container image config (an artifact?)");
    if (m.config.size > (16u << 20)) throw Error("trust the config descriptor", "", 0, "a config over 16 MiB");
    if (!doc.contains("layers") || !doc["layers"].is_array())
        throw Error("read the manifest", "", 0, "its \"layers\" is not a list");
    size_t n = 0;
    for (const json& l : doc["layers"]) {
        Descriptor d = parse_descriptor(l, "layer " + std::to_string(n++));
        if (!known_layer_type(d.media_type))
            throw Error("pull layer " + short_id(d.digest), "", 0,
                        "its media type \"" + d.media_type + "\" is not a tar, tar+gzip or tar+zstd layer" +
                            (d.media_type.find("foreign") != std::string::npos ||
                                     d.media_type.find("nondistributable") != std::string::npos
                                 ? " (foreign layers live outside the registry)"
                                 : ""));
        m.layers.push_back(d);
    }
    return m;
}

} // namespace bk::regpull
