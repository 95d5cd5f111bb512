// regpull push IMAGE DEST: the steps of `docker push`. Blobs first (the
// registry refuses a manifest whose blobs it lacks), then the manifest.
#include <set>

#include "digest.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "manifest.hpp"
#include "oci_store.hpp"
#include "progress.hpp"
#include "reference.hpp"
#include "regpull.hpp"

namespace bk::regpull {

namespace {

struct PushBlob {
    Descriptor d;
};

// HEAD: the registry has it already (from an earlier push, or another tag).
bool registry_has(Registry& reg, http::Client& c, const std::string& repo, const std::string& scope,
                  const Descriptor& d) {
    http::Request r;
    r.why = "ask whether the registry has blob " + short_id(d.digest);
    r.method = "HEAD";
    r.url = reg.base() + "/v2/" + repo + "/blobs/" + d.digest;
    http::Response resp = reg.send(c, r, scope);
    return resp.status == 200;
}

// POST .../uploads/ (with ?mount= when the blob may be in `from`): 201 means
// mounted, nothing to send; 202 gives the upload's Location.
std::string start_upload(Registry& reg, http::Client& c, const std::string& repo, const std::string& scope,
                         const Descriptor& d, const std::string& from, bool& mounted) {
    http::Request r;
    r.method = "POST";
    r.url = reg.base() + "/v2/" + repo + "/blobs/uploads/";
    if (!from.empty()) {
        r.why = "mount blob " + short_id(d.digest) + " from " + from + " (no bytes move)";
        r.url += "?mount=" + http::url_escape(d.digest) + "&from=" + http::url_escape(from);
    } else {
        r.why = "start an upload of blob " + short_id(d.digest);
    }
    http::Response resp = reg.send(c, r, scope);
    mounted = resp.status == 201;
    if (mounted) return {};
    if (resp.status != 202) reg.fail(resp, r.why, "POST " + r.url);
    std::string loc = resp.header("Location");
    if (loc.empty()) throw Error(r.why, "POST " + r.url + ": 202 without a Location", 0, "the registry is misbehaving");
    return http::resolve_url(r.url, loc);
}

void push_blob(Registry& reg, http::Client& c, const oci::Store& store, const std::string& repo,
               const std::string& scope, const std::string& from, const Descriptor& d, Progress& progress) {
    if (registry_has(reg, c, repo, scope, d)) {
        progress.done(d.digest, "Layer already exists");
        return;
    }
    bool mounted = false;
    std::string location = start_upload(reg, c, repo, scope, d, from, mounted);
    if (mounted) {
        progress.done(d.digest, "Mounted from " + from);
        return;
    }
    progress.status(d.digest, "Pushing " + human_size(d.size));
    Fd fd = store.open_blob(Digest::parse(d.digest));
    http::Request r;
    r.why = "upload blob " + short_id(d.digest) + " (" + human_size(d.size) + ")";
    r.method = "PUT";
    r.url = location + (location.find('?') == std::string::npos ? "?" : "&") + "digest=" + http::url_escape(d.digest);
    r.headers = {{"Content-Type", "application/octet-stream"}};
    r.upload = {fd.get(), d.size};
    http::Response resp = reg.send(c, r, scope);
    if (resp.status != 201) reg.fail(resp, r.why, "PUT " + r.url);
    progress.done(d.digest, "Pushed");
}

} // namespace

int push(const PushOptions& o) {
    Reference src = Reference::parse(o.image);
    Reference dest = Reference::parse(o.dest);
    if (dest.tag.empty() && !dest.digest.valid())
        throw Error("push to " + o.dest, "", 0, "name a tag: REGISTRY/REPO:TAG");
    Progress progress(choose_mode(o.quiet || bk::quiet(), o.json));
    install_signal_handlers();

    // 1. The image in the store: its manifest and the blobs it names.
    oci::Store store;
    auto found = store.exists() ? store.resolve(src) : std::nullopt;
    if (!found)
        throw Error("push " + src.familiar() + ": it is not in the store " + store.root(), "", 0,
                    "pull it first (regpull " + o.image + ") or build it (imgpack build)");
    std::string body = store.read_blob(found->digest, k_max_manifest);
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded()) throw Error("read the manifest of " + src.familiar(), "", 0, "it is not JSON");
    if (classify(doc, found->media_type) == Kind::Index)
        throw Error("push " + src.familiar(), "", 0, "it is a multi-platform index; push one platform's image");
    Manifest m = parse_manifest(doc, found->media_type);
    std::string media_type = doc.contains("mediaType") ? doc["mediaType"].get<std::string>() : found->media_type;
    if (media_type.empty()) media_type = media::oci_manifest;

    // 2. Blobs: skip what the registry has, mount what a sibling repository has.
    Registry reg(connect(o.remote, dest.domain));
    std::string from = (src.domain == dest.domain && src.path != dest.path) ? src.path : "";
    std::string scope = scope_for(dest.path, "pull,push") + (from.empty() ? "" : " " + scope_for(from, "pull"));
    auto first = reg.client();
    reg.ping(*first);
    std::vector<Descriptor> blobs;
    std::set<std::string> seen;
    for (const Descriptor& d : m.layers)
        if (seen.insert(d.digest).second) blobs.push_back(d);
    if (seen.insert(m.config.digest).second) blobs.push_back(m.config);
    for (auto& d : blobs) progress.add(d.digest, d.size);
    progress.note("The push refers to repository [" + dest.name() + "]",
                  {{"event", "start"}, {"reference", dest.full()}, {"registry", reg.base()}});
    std::vector<std::unique_ptr<http::Client>> clients;
    clients.push_back(std::move(first));
    while (clients.size() < std::min<size_t>(size_t(std::max(1, o.jobs)), blobs.size())) clients.push_back(reg.client());
    run_parallel(clients.size(), blobs.size(), [&](size_t job, size_t worker) {
        push_blob(reg, *clients[worker], store, dest.path, scope, from, blobs[job], progress);
    });

    // 3. The manifest, byte for byte, so its digest stays the same.
    std::string digest = sha256_of(body).str();
    http::Request r;
    r.why = "publish the manifest as " + dest.familiar();
    r.method = "PUT";
    r.url = reg.base() + "/v2/" + dest.path + "/manifests/" + (dest.tag.empty() ? dest.digest.str() : dest.tag);
    r.headers = {{"Content-Type", media_type}};
    r.body = body;
    http::Response resp = reg.send(*clients[0], r, scope);
    if (resp.status != 201 && resp.status != 200) reg.fail(resp, r.why, "PUT " + r.url);
    std::string said = resp.header("Docker-Content-Digest");
    if (!said.empty() && said != digest)
        throw Error(r.why, "PUT " + r.url, 0, "the registry stored it as " + said + ", not " + digest);
    progress.finish();
    std::string pinned = dest.name() + (dest.tag.empty() ? "" : ":" + dest.tag) + "@" + digest;
    progress.note((dest.tag.empty() ? digest : dest.tag) + ": digest: " + digest + " size: " + std::to_string(body.size()));
    if (o.json)
        Progress(ProgressMode::Json).note("", {{"event", "pushed"}, {"reference", pinned}, {"digest", digest},
                                               {"media_type", media_type}, {"size", body.size()}});
    else
        std::printf("%s\n", pinned.c_str());
    return 0;
}

} // namespace bk::regpull
