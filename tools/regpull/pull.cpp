// regpull IMAGE: the steps of `docker pull`, one function each.
#include <map>
#include <optional>
#include <set>
#include <vector>

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

// One blob streaming from the registry into the store: every byte goes
// through the store's BlobWriter (an unnamed file, hashed as it is written,
// until commit), and the whole pull is checked before any blob gets its
// name: a pull that fails half-way leaves the store exactly as it was.
class BlobSink : public http::Sink {
public:
    BlobSink(const oci::Store& store, const Descriptor& d, Progress& p)
        : store_(store), d_(d), digest_(Digest::parse(d.digest, "the blob digest")), progress_(p) {
        restart();
    }
    void write(const char* data, size_t n) override {
        if (have_ + n > d_.size)
            throw Error("download blob " + short_id(d_.digest), "", 0,
                        "the registry sent more than the " + std::to_string(d_.size) +
                            " bytes the manifest promises; nothing was stored");
        // libcurl hands over at most 16 KiB at a time; a write(2) per MiB
        // instead of per 16 KiB takes 60 system calls off every MiB.
        buf_.insert(buf_.end(), data, data + n);
        if (buf_.size() >= k_chunk) flush();
        have_ += n;
        progress_.bytes(d_.digest, have_);
    }
    void restart() override {
        writer_.reset();  // the partial temporary file goes with it
        writer_.emplace(store_.write_blob(digest_, int64_t(d_.size)));
        buf_.clear();
        buf_.reserve(std::min<uint64_t>(d_.size, k_chunk + (16 << 10)));
        have_ = 0;
    }
    uint64_t size() const override { return have_; }
    // Every byte is here: check size and digest, still without a name.
    void verify() {
        flush();
        if (have_ != d_.size)
            throw Error("download blob " + short_id(d_.digest), "", 0,
                        "the registry sent " + std::to_string(have_) + " bytes, the manifest promises " +
                            std::to_string(d_.size) + "; nothing was stored");
        Digest got = writer_->digest();
        if (got != digest_)
            throw Error("download blob " + d_.digest + ": its bytes have the digest " + got.str(), "", 0,
                        "the blob was damaged or swapped on the way; nothing was stored");
    }
    // The store checks size and digest (already taken, not hashed again),
    // fsyncs, and links it in under its name.
    void commit() { writer_->commit(); }

private:
    static constexpr size_t k_chunk = 1 << 20;
    void flush() {
        if (!buf_.empty()) writer_->write(buf_.data(), buf_.size());
        buf_.clear();
    }
    const oci::Store& store_;
    const Descriptor& d_;
    Digest digest_;
    Progress& progress_;
    std::optional<oci::Store::BlobWriter> writer_;
    std::vector<char> buf_;
    uint64_t have_ = 0;
};

std::unique_ptr<BlobSink> fetch_blob(Registry& reg, http::Client& client, const oci::Store& store,
                                     const std::string& repo, const Descriptor& d, Progress& progress) {
    progress.status(d.digest, "Downloading " + human_size(d.size));
    auto sink = std::make_unique<BlobSink>(store, d, progress);
    http::Request r;
    r.why = "download blob " + short_id(d.digest) + " (" + human_size(d.size) + ")";
    r.url = reg.base() + "/v2/" + repo + "/blobs/" + d.digest;
    http::Response resp = reg.send(client, r, scope_for(repo, "pull"), sink.get());
    if (resp.status != 200 && resp.status != 206) reg.fail(resp, r.why, "GET " + r.url);
    progress.status(d.digest, "Verifying Checksum");
    sink->verify();
    progress.status(d.digest, "Download complete");
    return sink;
}

oci::Descriptor store_descriptor(const std::string& media_type, const std::string& digest, uint64_t size) {
    oci::Descriptor d;
    d.media_type = media_type;
    d.digest = Digest::parse(digest, "the manifest digest");
    d.size = int64_t(size);
    return d;
}

} // namespace

int pull(const PullOptions& o) {
    Reference ref = Reference::parse(o.image);
    Platform want = o.platform.empty() ? host_platform() : parse_platform(o.platform);
    Progress progress(choose_mode(o.quiet || bk::quiet(), o.json));
    install_signal_handlers();

    // 1. Who the registry is, and how to log in.
    Registry reg(connect(o.remote, ref.domain));
    auto client = reg.client();
    std::string tag_or_digest = ref.digest.valid() ? ref.digest.str() : ref.tag;
    progress.note((ref.tag.empty() ? ref.digest.str() : ref.tag) + ": Pulling from " + ref.path,
                  {{"event", "start"}, {"reference", ref.full()}, {"registry", reg.base()}});

    // 2. The tag names a manifest, or an index of manifests per platform.
    Fetched top = fetch_manifest(reg, *client, ref.path, tag_or_digest);
    Fetched image = top;
    std::optional<Descriptor> chosen;
    if (classify(top.doc, top.media_type) == Kind::Index) {
        chosen = select_platform(top.doc, want);
        detail("the index has " + want.str() + " as " + chosen->digest);
        image = fetch_manifest(reg, *client, ref.path, chosen->digest);
        if (image.body.size() != chosen->size)
            throw Error("fetch the manifest for " + want.str(), "", 0,
                        "the index says it is " + std::to_string(chosen->size) + " bytes, the registry sent " +
                            std::to_string(image.body.size()));
        if (classify(image.doc, image.media_type) != Kind::Manifest)
            throw Error("pull " + ref.familiar(), "", 0,
                        "the index entry for " + want.str() + " is another index, where an image manifest should be");
    }
    Manifest m = parse_manifest(image.doc, image.media_type);

    // 3. Fetch what the store lacks: config and layers, once each.
    oci::Store store;
    store.init();
    Fd hold = store.hold_blobs();  // gc must not take blobs no tag reaches yet
    std::vector<Descriptor> blobs;
    std::set<std::string> seen;
    for (const Descriptor& d : m.layers)
        if (seen.insert(d.digest).second) blobs.push_back(d);
    if (seen.insert(m.config.digest).second) blobs.push_back(m.config);
    std::vector<const Descriptor*> missing;
    for (const Descriptor& d : blobs) {
        progress.add(d.digest, d.size);
        if (store.blob_size(Digest::parse(d.digest)) == int64_t(d.size)) progress.exists(d.digest);
        else missing.push_back(&d);
    }
    std::vector<std::unique_ptr<http::Client>> clients;
    size_t workers = size_t(std::max(1, o.jobs));
    clients.push_back(std::move(client));
    while (clients.size() < std::min(workers, std::max<size_t>(1, missing.size()))) clients.push_back(reg.client());
    std::vector<std::unique_ptr<BlobSink>> fetched(missing.size());
    run_parallel(clients.size(), missing.size(), [&](size_t job, size_t worker) {
        fetched[job] = fetch_blob(reg, *clients[worker], store, ref.path, *missing[job], progress);
    });

    // 4. Every blob is verified: now they get their names, then the manifest,
    //    then the tag (the only thing other tools look up).
    //    Every digest was checked above, so a commit can fail only on I/O;
    //    the commits run side by side, so their fsyncs overlap.
    if (cancelled()) throw Error("finish the pull: interrupted");
    run_parallel(clients.size(), fetched.size(), [&](size_t i, size_t) {
        fetched[i]->commit();
        progress.done(missing[i]->digest, "Pull complete");
    });
    if (chosen) store.put_blob(top.body, top.media_type);  // the index, so ref@index-digest resolves
    store.put_blob(image.body, image.media_type);
    oci::Descriptor target = store_descriptor(image.media_type, image.digest, image.body.size());
    if (chosen) target.platform = {{"architecture", chosen->platform->architecture}, {"os", chosen->platform->os}};
    if (chosen && !chosen->platform->variant.empty()) target.platform["variant"] = chosen->platform->variant;
    if (!ref.tag.empty()) store.tag(ref, target);
    else bk::warn("no tag given: the image is stored by digest only; `imgpack gc` removes untagged images");
    hold.reset();
    progress.finish();

    std::string repo_digest = top.digest;  // what the registry calls it, as docker prints it
    std::string pinned = ref.name() + (ref.tag.empty() ? "" : ":" + ref.tag) + "@" + image.digest;
    progress.note("Digest: " + repo_digest);
    progress.note("Status: Downloaded " + ref.familiar() + " (" + std::to_string(missing.size()) + " of " +
                  std::to_string(blobs.size()) + " blobs fetched)");
    if (o.json) {
        Progress(ProgressMode::Json).note("", {{"event", "pulled"},
                                               {"reference", pinned},
                                               {"name", ref.name()},
                                               {"tag", ref.tag},
                                               {"digest", image.digest},
                                               {"repo_digest", repo_digest},
                                               {"media_type", image.media_type},
                                               {"platform", chosen ? chosen->platform->str() : ""},
                                               {"blobs", blobs.size()},
                                               {"fetched", missing.size()}});
    } else {
        std::printf("%s\n", pinned.c_str());
    }
    return 0;
}

} // namespace bk::regpull
