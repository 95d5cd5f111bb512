// save and load: "an image is just a file". The docker format is what
// `docker save` writes since Docker 25 (and `docker load` and skopeo's
// docker-archive: read): manifest.json naming each image's config and
// uncompressed layer tars, all under blobs/sha256/, beside an OCI layout.
// The oci format is the store's own layout in one tar (oci-archive:).
// Loading writes every blob through the store's verifying writer: a name
// in the archive never becomes a path unless it is a valid digest.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <iostream>
#include <list>
#include <map>
#include <set>

#include "error.hpp"
#include "explain.hpp"
#include "image.hpp"
#include "imgpack.hpp"
#include "layerstream.hpp"
#include "safepath.hpp"
#include "tempdir.hpp"

namespace bk::imgpack {

namespace {

// A tar archive being written to FILE.tmp-PID, renamed to FILE at the end.
class TarOut {
public:
    explicit TarOut(std::string path) : path_(std::move(path)), tmp_(path_ + ".tmp-" + std::to_string(::getpid())) {
        ar_ = archive_write_new();
        archive_write_set_format_pax_restricted(ar_);
        explain("write the archive under a temporary name", "open(" + quote(tmp_) + ", O_WRONLY|O_CREAT|O_EXCL)");
        if (archive_write_open_filename(ar_, tmp_.c_str()) != ARCHIVE_OK) fail("create");
    }
    ~TarOut() {
        archive_write_free(ar_);
        if (!done_) ::unlink(tmp_.c_str());
    }
    void header(const std::string& name, int64_t size) {
        archive_entry* e = archive_entry_new();
        archive_entry_copy_pathname(e, name.c_str());
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_size(e, size);
        archive_entry_set_mtime(e, 0, 0);
        int rc = archive_write_header(ar_, e);
        archive_entry_free(e);
        if (rc < ARCHIVE_WARN) fail("write " + name + " into");
    }
    void data(const void* p, size_t n) {
        if (archive_write_data(ar_, p, n) < 0) fail("write into");
    }
    void text(const std::string& name, const std::string& body) {
        header(name, int64_t(body.size()));
        data(body.data(), body.size());
    }
    // A file's whole content, hashed as it is copied; the digest is checked.
    void file(const std::string& name, int fd, int64_t size, const Digest& want) {
        header(name, size);
        Sha256 h;
        std::vector<char> buf(1 << 20);
        for (;;) {
            ssize_t n = ::read(fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("copy " + name + " into the archive", "read()");
            if (n == 0) break;
            h.update(buf.data(), size_t(n));
            data(buf.data(), size_t(n));
        }
        if (h.bytes() != uint64_t(size) || (want.valid() && h.finish() != want))
            throw Error("save " + name + ": the store's copy does not match its digest", "", EINVAL,
                        "the store is damaged; pull or load the image again");
    }
    void close() {
        if (archive_write_close(ar_) != ARCHIVE_OK) fail("finish");
        std::string call = "rename(" + quote(tmp_) + ", " + quote(path_) + ")";
        explain("the archive is complete: give it its name", call);
        if (::rename(tmp_.c_str(), path_.c_str()) < 0) throw_errno("write " + path_, call);
        done_ = true;
    }

private:
    [[noreturn]] void fail(const std::string& what) {
        throw Error(what + " the archive " + path_ + ": " + (archive_error_string(ar_) ? archive_error_string(ar_) : "?"),
                    "", archive_errno(ar_) > 0 ? archive_errno(ar_) : EIO);
    }
    std::string path_, tmp_;
    archive* ar_;
    bool done_ = false;
};

std::string blob_name(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

void save_blob(TarOut& out, const oci::Store& store, const Digest& d, std::set<std::string>& done) {
    if (!done.insert(d.str()).second) return;
    Fd fd = store.open_blob(d);
    out.file(blob_name(d), fd.get(), store.blob_size(d), d);
}

// A layer as an uncompressed tar (docker save's form), its diff_id checked.
void save_layer_tar(TarOut& out, const oci::Store& store, const Layer& l, size_t i, std::set<std::string>& done) {
    if (!done.insert(l.diff_id.str()).second) return;
    if (l.blob.digest == l.diff_id) {  // stored uncompressed already
        Fd fd = store.open_blob(l.blob.digest);
        out.file(blob_name(l.diff_id), fd.get(), store.blob_size(l.blob.digest), l.diff_id);
        return;
    }
    // The tar header needs the size first: inflate into a temporary file.
    TempDir tmp("imgpack-save");
    std::string path = tmp.path() + "/layer.tar";
    Fd f(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f) throw_errno("save a layer", "open(" + quote(path) + ")");
    LayerStream s(store.open_blob(l.blob.digest),
                  LayerCheck{"layer " + std::to_string(i + 1), l.blob.digest, l.blob.size, l.diff_id, 0});
    const void* p;
    size_t n;
    while ((n = s.next(&p)) > 0)
        if (::write(f.get(), p, n) != ssize_t(n)) throw_errno("save a layer", "write(" + quote(path) + ")");
    s.finish();
    ::lseek(f.get(), 0, SEEK_SET);
    out.file(blob_name(l.diff_id), f.get(), int64_t(s.uncompressed_bytes()), l.diff_id);
}

std::string familiar(const std::string& full) {
    auto r = Reference::try_parse(full);
    return r ? r->familiar() : full;
}

} // namespace

int run_save(const Options& o) {
    oci::Store store;
    std::vector<Image> images;
    for (auto& name : o.images) images.push_back(load_image(store, name));
    TarOut out(o.output);
    std::set<std::string> done;
    json index = {{"schemaVersion", 2}, {"manifests", json::array()}};
    if (o.format == "docker") {
        json manifest = json::array();
        for (auto& img : images) {
            save_blob(out, store, img.config_desc.digest, done);
            json layers = json::array();
            for (size_t i = 0; i < img.layers.size(); ++i) {
                save_layer_tar(out, store, img.layers[i], i, done);
                layers.push_back(blob_name(img.layers[i].diff_id));
            }
            // Only tags the user named, as docker save does; an ID saves none.
            json named = json::array();
            for (auto& name : o.images)
                if (auto r = Reference::try_parse(name); r && std::find(img.tags.begin(), img.tags.end(), r->full()) != img.tags.end())
                    named.push_back(r->familiar());
            manifest.push_back({{"Config", blob_name(img.config_desc.digest)}, {"RepoTags", named}, {"Layers", layers}});
        }
        out.text("manifest.json", manifest.dump());
    } else {
        for (auto& img : images) {
            // A multi-platform index is saved as this machine's image alone:
            // the other platforms' layers are usually not in the store.
            save_blob(out, store, img.manifest_desc.digest, done);
            save_blob(out, store, img.config_desc.digest, done);
            for (auto& l : img.layers) save_blob(out, store, l.blob.digest, done);
            std::vector<std::string> names;
            for (auto& name : o.images)
                if (auto r = Reference::try_parse(name); r && std::find(img.tags.begin(), img.tags.end(), r->full()) != img.tags.end())
                    names.push_back(r->full());
            // an index entry per tag; the image's own manifest when the top is a multi-platform index
            oci::Descriptor top = oci::media::is_index(img.top.media_type) ? img.manifest_desc : img.top;
            if (names.empty()) index["manifests"].push_back(top.to_json());
            for (auto& n : names) {
                oci::Descriptor d = top;
                d.annotations = {{oci::k_ref_name, n}};
                index["manifests"].push_back(d.to_json());
            }
        }
        out.text("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
        out.text("index.json", index.dump());
    }
    out.close();
    return 0;
}

int run_load(const Options& o) {
    oci::Store store;
    store.init();
    Fd hold = store.hold_blobs();
    struct Ar { archive* a = archive_read_new(); ~Ar() { archive_read_free(a); } } ar;
    archive_read_support_filter_all(ar.a);
    archive_read_support_format_tar(ar.a);
    explain("open the archive", "open(" + quote(o.input) + ", O_RDONLY)");
    auto fail = [&](const std::string& what) {
        int err = archive_errno(ar.a) > 0 ? archive_errno(ar.a) : EINVAL;
        throw Error(what + " " + o.input + ": " + (archive_error_string(ar.a) ? archive_error_string(ar.a) : "?"), "", err,
                    "give a file written by imgpack save, docker save or skopeo (docker-archive:, oci-archive:)");
    };
    if (archive_read_open_filename(ar.a, o.input.c_str(), 1 << 20) != ARCHIVE_OK) fail("open");
    std::map<std::string, std::string> texts;    // small JSON files, by name
    std::map<std::string, oci::Descriptor> files;  // blobs stored, by name in the archive
    std::map<std::string, std::string> links;    // symlinks (old docker save shares layers this way)
    std::list<oci::Store::BlobWriter> pending;  // verified, not yet named
    for (;;) {
        archive_entry* e;
        int rc = archive_read_next_header(ar.a, &e);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) fail("read");
        std::string name = clean_path(archive_entry_pathname(e) ? archive_entry_pathname(e) : "").substr(1);
        if (archive_entry_filetype(e) == AE_IFLNK) {
            std::string dir = name.find('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
            links[name] = clean_path(dir + "/" + (archive_entry_symlink(e) ? archive_entry_symlink(e) : "")).substr(1);
            continue;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        int64_t size = archive_entry_size(e);
        bool is_blob = name.rfind("blobs/sha256/", 0) == 0;
        bool small = name.size() > 5 && name.substr(name.size() - 5) == ".json" && size <= (16 << 20);
        if (name == "repositories" || name == "oci-layout") small = true;
        if (small && !is_blob) {
            std::string body(size_t(size), '\0');
            if (archive_read_data(ar.a, body.data(), body.size()) != la_ssize_t(size)) fail("read " + name + " from");
            texts[name] = body;
            continue;
        }
        // Older layouts: ID/layer.tar (docker save before 25), DIFFID.tar (skopeo's docker-archive:).
        bool layer_tar = name.size() > 4 && name.substr(name.size() - 4) == ".tar";
        if (!is_blob && !layer_tar) continue;
        Digest want;
        if (is_blob) {
            auto d = Digest::from_hex(name.substr(13));
            if (!d) throw Error("load " + o.input + ": the entry " + name + " is not named by a sha256 digest", "", EINVAL,
                                "the archive is damaged or hostile; nothing more was read from it");
            want = *d;
            if (store.blob_size(want) == size) {
                files[name] = oci::Descriptor{"", want, size};
                continue;
            }
        }
        // A list, so the writer never moves after digest(): BlobWriter's move
        // constructor does not carry the digest over (lib/oci_store).
        auto& w = pending.emplace_back(store.write_blob(want, size));
        const void* buf;
        size_t n;
        la_int64_t off;
        for (;;) {
            int r = archive_read_data_block(ar.a, &buf, &n, &off);
            if (r == ARCHIVE_EOF) break;
            if (r < ARCHIVE_WARN) fail("read " + name + " from");
            w.write(buf, n);
        }
        // Checked now, named later: like a pull, a load names no blob until
        // every blob in the archive is whole and verified, so a load that
        // fails (a full disk, a damaged archive) adds nothing to the store.
        Digest got = w.digest();
        if (int64_t(w.written()) != size || (want.valid() && got != want))
            throw Error("load " + o.input + ": the entry " + name + " is not the blob its name and size say (its content is " +
                            got.str() + ", " + std::to_string(w.written()) + " bytes)",
                        "", EINVAL, "the archive is damaged; nothing was stored");
        files[name] = oci::Descriptor{"", got, size};
    }
    for (auto& w : pending) w.commit();
    pending.clear();
    auto blob_text = [&](const std::string& name) -> std::string {
        if (texts.count(name)) return texts[name];
        if (files.count(name)) return store.read_blob(files[name].digest, 16 << 20);
        throw Error("load " + o.input + ": it names " + name + " but does not contain it", "", ENOENT);
    };
    auto layer_desc = [&](std::string name) {
        for (int hops = 0; links.count(name) && hops < 8; ++hops) name = links[name];
        if (!files.count(name)) throw Error("load " + o.input + ": it names the layer " + name + " but does not contain it", "", ENOENT);
        oci::Descriptor d = files[name];
        Fd fd = store.open_blob(d.digest);
        unsigned char magic[4] = {};
        ssize_t got = ::read(fd.get(), magic, sizeof magic);
        switch (sniff_compression(magic, got > 0 ? size_t(got) : 0)) {
        case Compression::gzip: d.media_type = oci::media::oci_layer_gzip; break;
        case Compression::zstd: d.media_type = oci::media::oci_layer_zstd; break;
        default: d.media_type = oci::media::oci_layer_tar;
        }
        return d;
    };
    json loaded = json::array();
    auto report = [&](const std::string& what, const std::string& id) {
        loaded.push_back({{"reference", what}, {"id", id}});
        if (!o.json) std::cout << "Loaded image: " << familiar(what) << "\n";
    };
    if (texts.count("manifest.json")) {
        json manifest;
        try { manifest = json::parse(texts["manifest.json"]); } catch (const json::exception& e) {
            throw Error("load " + o.input + ": manifest.json is not JSON: " + e.what(), "", EINVAL);
        }
        for (auto& item : manifest) {
            std::string cfg_text = blob_text(item.at("Config").get<std::string>());
            json cfg = json::parse(cfg_text);
            check_config(cfg, item.at("Layers").size(), o.input);
            auto cfg_desc = store.put_blob(cfg_text, oci::media::oci_config);
            json m = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest}, {"config", cfg_desc.to_json()}, {"layers", json::array()}};
            size_t i = 0;
            for (auto& l : item["Layers"]) {
                auto d = layer_desc(l.get<std::string>());
                Digest diff = Digest::parse(cfg["rootfs"]["diff_ids"][i++].get<std::string>(), "a diff_id");
                if (d.media_type == oci::media::oci_layer_tar && d.digest != diff)
                    throw Error("load " + o.input + ": the layer " + l.get<std::string>() + " does not match the diff_id in its config",
                                "", EINVAL, "the archive is damaged");
                m["layers"].push_back(d.to_json());
            }
            auto md = store.put_blob(m.dump(), oci::media::oci_manifest);
            bool tagged = false;
            if (item.contains("RepoTags") && item["RepoTags"].is_array())
                for (auto& t : item["RepoTags"]) {
                    Reference r = Reference::parse(t.get<std::string>());
                    store.tag(r, md);
                    report(r.full(), cfg_desc.digest.str());
                    tagged = true;
                }
            if (!tagged) report(cfg_desc.digest.str(), cfg_desc.digest.str());
        }
    } else if (texts.count("index.json")) {
        json index = json::parse(texts["index.json"]);
        for (auto& m : index.value("manifests", json::array())) {
            auto d = oci::Descriptor::from_json(m, "an index.json entry");
            if (!store.has_blob(d.digest))
                throw Error("load " + o.input + ": its index names " + d.digest.str() + " but the archive lacks it", "", ENOENT);
            std::string name;
            if (d.annotations.is_object()) {
                name = d.annotations.value(oci::k_ref_name, "");
                if (!Reference::try_parse(name)) name = d.annotations.value("io.containerd.image.name", name);
            }
            d.annotations = nullptr;
            auto r = Reference::try_parse(name);
            if (r && !r->tag.empty()) {
                Image img;
                store.tag(*r, d);
                img = load_image(store, r->full());  // every blob it needs is here and sound
                report(r->full(), img.id());
            } else {
                report(d.digest.str(), d.digest.str());
            }
        }
    } else {
        throw Error("load " + o.input + ": it has neither manifest.json nor index.json", "", EINVAL,
                    "give a file written by imgpack save, docker save or skopeo (docker-archive:, oci-archive:)");
    }
    if (o.json) print_json({{"loaded", loaded}});
    return 0;
}

} // namespace bk::imgpack
