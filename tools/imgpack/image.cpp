#include "image.hpp"

#include <sys/utsname.h>

#include <cerrno>
#include <ctime>

#include "error.hpp"

namespace bk::imgpack {

std::string host_architecture() {
    struct utsname u {};
    ::uname(&u);
    std::string m = u.machine;
    if (m == "x86_64") return "amd64";
    if (m == "aarch64") return "arm64";
    if (m.rfind("arm", 0) == 0) return "arm";
    if (m == "i686" || m == "i386") return "386";
    return m;
}

std::string now_rfc3339() {
    char buf[64];
    std::time_t t = std::time(nullptr);
    std::tm tm {};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

namespace {
[[noreturn]] void bad(const std::string& shown, const std::string& why) {
    throw Error("use the image " + shown + ": " + why, "", EINVAL,
                "the image is malformed or damaged; pull, build or load it again");
}
} // namespace

void check_manifest(const json& m, const std::string& shown) {
    if (!m.is_object()) bad(shown, "its manifest is not a JSON object");
    if (!m.contains("schemaVersion") || m["schemaVersion"] != 2) bad(shown, "its manifest is not schemaVersion 2");
    if (!m.contains("config")) bad(shown, "its manifest names no config");
    oci::Descriptor::from_json(m["config"], "the manifest's config");
    if (!m.contains("layers") || !m["layers"].is_array()) bad(shown, "its manifest has no layers list");
    for (auto& l : m["layers"]) {
        auto d = oci::Descriptor::from_json(l, "a layer in the manifest");
        if (!oci::media::is_layer(d.media_type)) bad(shown, "a layer has the media type " + d.media_type);
    }
}

void check_config(const json& c, size_t layers, const std::string& shown) {
    if (!c.is_object()) bad(shown, "its config is not a JSON object");
    auto rootfs = c.find("rootfs");
    if (rootfs == c.end() || !rootfs->is_object() || !rootfs->contains("diff_ids") || !(*rootfs)["diff_ids"].is_array())
        bad(shown, "its config has no rootfs.diff_ids");
    auto& ids = (*rootfs)["diff_ids"];
    if (ids.size() != layers)
        bad(shown, "its config lists " + std::to_string(ids.size()) + " diff_ids for " + std::to_string(layers) + " layers");
    for (auto& id : ids) {
        if (!id.is_string()) bad(shown, "a diff_id is not a string");
        Digest::parse(id.get<std::string>(), "a diff_id in the config");
    }
    if (c.contains("config") && !c["config"].is_object() && !c["config"].is_null()) bad(shown, "its config.config is not an object");
}

oci::Descriptor pick_platform(const json& index, const std::string& shown) {
    if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty())
        bad(shown, "its index lists no images");
    std::string arch = host_architecture();
    std::optional<oci::Descriptor> first;
    for (auto& m : index["manifests"]) {
        auto d = oci::Descriptor::from_json(m, "an entry of the image index");
        if (!oci::media::is_manifest(d.media_type)) continue;
        if (!first) first = d;
        auto& p = d.platform;
        if (p.is_object() && p.value("os", "") == "linux" && p.value("architecture", "") == arch) return d;
    }
    if (first && !first->platform.is_object()) return *first;
    throw Error("use the image " + shown + ": it has no linux/" + arch + " variant", "", ENOENT,
                "pull it for this platform (regpull --platform linux/" + arch + ")");
}

Image load_image(const oci::Store& store, const std::string& name) {
    Image img;
    img.shown = name;
    auto all = store.tags();
    std::optional<oci::Descriptor> desc;
    // An image ID: the config digest, whole or its first 12+ hex digits.
    std::string hex = name.rfind("sha256:", 0) == 0 ? name.substr(7) : name;
    bool looks_id = hex.size() >= 12 && hex.size() <= 64 && hex.find_first_not_of("0123456789abcdef") == std::string::npos &&
                    (name.rfind("sha256:", 0) == 0 || hex.size() == 12 || hex.size() == 64 || !Reference::try_parse(name));
    if (looks_id) {
        for (auto& t : all) {
            try {
                json m = store.read_json_blob(t.target.digest);
                oci::Descriptor md = t.target;
                if (oci::media::is_index(t.target.media_type)) {
                    md = pick_platform(m, name);
                    m = store.read_json_blob(md.digest);
                }
                std::string cfg = m.at("config").at("digest").get<std::string>();
                if (cfg.compare(7, hex.size(), hex) == 0 || std::string(md.digest.hex()).rfind(hex, 0) == 0) {
                    desc = t.target;
                    break;
                }
            } catch (const std::exception&) {
            }
        }
    }
    if (!desc) {
        Reference ref = Reference::parse(name);
        if (!store.exists()) desc = std::nullopt;
        else desc = store.resolve(ref);
        if (!desc)
            throw Error("find the image " + ref.familiar() + " in the store " + store.root(), "", ENOENT,
                        "see 'imgpack ls'; get it with 'regpull " + ref.familiar() + "', 'imgpack build' or 'imgpack load'");
    }
    for (auto& t : all)
        if (t.target.digest == desc->digest) img.tags.push_back(t.ref ? t.ref->full() : t.name);
    img.top = *desc;
    json doc = store.read_json_blob(desc->digest);
    if (oci::media::is_index(desc->media_type) || (desc->media_type.empty() && doc.contains("manifests"))) {
        *desc = pick_platform(doc, name);
        doc = store.read_json_blob(desc->digest);
    }
    img.manifest_desc = *desc;
    img.manifest = doc;
    check_manifest(img.manifest, name);
    img.config_desc = oci::Descriptor::from_json(img.manifest["config"], "the manifest's config");
    img.config = store.read_json_blob(img.config_desc.digest, 16 << 20);
    check_config(img.config, img.manifest["layers"].size(), name);
    auto& ids = img.config["rootfs"]["diff_ids"];
    for (size_t i = 0; i < ids.size(); ++i)
        img.layers.push_back({oci::Descriptor::from_json(img.manifest["layers"][i], "a layer"),
                              Digest::parse(ids[i].get<std::string>(), "a diff_id")});
    return img;
}

oci::Descriptor write_image(oci::Store& store, const json& config, const std::vector<Layer>& layers,
                            const std::optional<Reference>& tag) {
    auto cfg = store.put_blob(config.dump(), oci::media::oci_config);
    json m = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest}, {"config", cfg.to_json()},
              {"layers", json::array()}};
    for (auto& l : layers) m["layers"].push_back(l.blob.to_json());
    auto md = store.put_blob(m.dump(), oci::media::oci_manifest);
    if (tag) store.tag(*tag, md);
    return md;
}

} // namespace bk::imgpack
