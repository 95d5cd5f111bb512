// The store's housekeeping: inspect, config, ls, tag, rm, gc. Tags are
// names; blobs are content. rm removes a name; gc removes content no name
// reaches, so a layer two images share stays until both are gone.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "error.hpp"
#include "explain.hpp"
#include "fsck.hpp"
#include "image.hpp"
#include "imgpack.hpp"
#include "layers.hpp"
#include "paths.hpp"
#include "tempdir.hpp"

namespace bk::imgpack {

namespace {

std::string familiar(const std::string& full) {
    auto r = Reference::try_parse(full);
    return r ? r->familiar() : full;
}

int64_t image_size(const Image& img) {
    int64_t n = img.config_desc.size + img.manifest_desc.size;
    for (auto& l : img.layers) n += l.blob.size;
    return n;
}

} // namespace

std::string human_size(int64_t n) {
    std::ostringstream s;
    s << std::fixed << std::setprecision(1);
    if (n >= (1 << 30)) s << double(n) / (1 << 30) << "GB";
    else if (n >= (1 << 20)) s << double(n) / (1 << 20) << "MB";
    else if (n >= 1024) s << double(n) / 1024 << "kB";
    else s << n << "B";
    return s.str();
}

int run_inspect(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    json layers = json::array();
    for (auto& l : img.layers)
        layers.push_back({{"digest", l.blob.digest.str()}, {"diff_id", l.diff_id.str()}, {"size", l.blob.size},
                          {"media_type", l.blob.media_type}});
    json doc = {{"id", img.id()},
                {"tags", img.tags},
                {"manifest_digest", img.manifest_desc.digest.str()},
                {"manifest_media_type", img.manifest_desc.media_type},
                {"created", img.config.value("created", "")},
                {"architecture", img.config.value("architecture", "")},
                {"os", img.config.value("os", "")},
                {"config", img.config.value("config", json::object())},
                {"size", image_size(img)},
                {"layers", layers},
                {"history", img.config.value("history", json::array())}};
    if (o.json) {
        print_json(doc);
        return 0;
    }
    std::cout << "ID:           " << img.id() << "\n";
    std::cout << "Tags:        ";
    for (auto& t : img.tags) std::cout << " " << familiar(t);
    std::cout << "\nManifest:     " << img.manifest_desc.digest.str() << " (" << img.manifest_desc.media_type << ")\n";
    std::cout << "Created:      " << doc["created"].get<std::string>() << "\n";
    std::cout << "Platform:     " << doc["os"].get<std::string>() << "/" << doc["architecture"].get<std::string>() << "\n";
    std::cout << "Size:         " << human_size(image_size(img)) << " (" << image_size(img) << " bytes)\n";
    json c = doc["config"];
    if (c.contains("Entrypoint") && !c["Entrypoint"].is_null()) std::cout << "Entrypoint:   " << c["Entrypoint"].dump() << "\n";
    if (c.contains("Cmd") && !c["Cmd"].is_null()) std::cout << "Cmd:          " << c["Cmd"].dump() << "\n";
    if (c.contains("Env")) for (auto& e : c["Env"]) std::cout << "Env:          " << e.get<std::string>() << "\n";
    if (c.contains("WorkingDir") && c["WorkingDir"].is_string() && !c["WorkingDir"].get<std::string>().empty())
        std::cout << "WorkingDir:   " << c["WorkingDir"].get<std::string>() << "\n";
    if (c.contains("User") && c["User"].is_string() && !c["User"].get<std::string>().empty())
        std::cout << "User:         " << c["User"].get<std::string>() << "\n";
    std::cout << "Layers:\n";
    for (size_t i = 0; i < img.layers.size(); ++i)
        std::cout << "  " << i + 1 << "  " << img.layers[i].blob.digest.str() << "  " << human_size(img.layers[i].blob.size)
                  << "\n     diff_id " << img.layers[i].diff_id.str() << "\n";
    if (!doc["history"].empty()) {
        std::cout << "History:\n";
        for (auto& h : doc["history"])
            std::cout << "  " << h.value("created", "") << "  " << h.value("created_by", "")
                      << (h.value("empty_layer", false) ? "  (no layer)" : "") << "\n";
    }
    return 0;
}

int run_config(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    if (o.json) {
        print_json(img.config);
        return 0;
    }
    json c = img.config.value("config", json::object());
    auto show = [&](const char* key) {
        if (c.contains(key) && !c[key].is_null()) std::cout << key << ": " << (c[key].is_string() ? c[key].get<std::string>() : c[key].dump()) << "\n";
    };
    for (auto k : {"Entrypoint", "Cmd", "WorkingDir", "User", "Env", "ExposedPorts", "Volumes", "Labels", "StopSignal"}) show(k);
    return 0;
}

int run_ls(const Options& o) {
    oci::Store store;
    json arr = json::array();
    for (auto& t : store.tags()) {
        json j = {{"reference", t.ref ? t.ref->full() : t.name}, {"digest", t.target.digest.str()}};
        if (t.ref) {
            j["name"] = t.ref->familiar_name();
            j["tag"] = t.ref->tag;
        }
        try {
            Image img = load_image(store, t.ref ? t.ref->full() : t.name);
            j["id"] = img.id();
            j["created"] = img.config.value("created", "");
            j["size"] = image_size(img);
        } catch (const Error& e) {
            j["error"] = e.message();
        }
        arr.push_back(j);
    }
    if (o.json) {
        print_json(arr);
        return 0;
    }
    std::cout << std::left << std::setw(40) << "REPOSITORY" << std::setw(16) << "TAG" << std::setw(14) << "IMAGE ID"
              << std::setw(22) << "CREATED" << "SIZE\n";
    for (auto& j : arr) {
        std::string id = j.contains("id") ? j["id"].get<std::string>().substr(7, 12) : "?";
        std::string created = j.value("created", "").substr(0, 19);  // to the second, as people read it
        if (created.size() > 10) created[10] = ' ';
        std::cout << std::left << std::setw(40) << j.value("name", j["reference"].get<std::string>()) << std::setw(16)
                  << j.value("tag", "") << std::setw(14) << id << std::setw(22) << created
                  << (j.contains("size") ? human_size(j["size"].get<int64_t>()) : "?") << "\n";
    }
    return 0;
}

int run_tag(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    Reference dst = Reference::parse(o.target);
    if (dst.digest.valid()) throw Error("tag " + o.target + ": a tag is NAME:TAG, not a digest", "", EINVAL, "write NAME:TAG");
    store.tag(dst, img.top);
    if (o.json) print_json({{"reference", dst.full()}, {"digest", img.top.digest.str()}, {"id", img.id()}});
    return 0;
}

int run_rm(const Options& o) {
    oci::Store store;
    json removed = json::array();
    for (auto& name : o.images) {
        Image img = load_image(store, name);
        auto ref = Reference::try_parse(name);
        std::vector<Reference> drop;
        if (ref && !ref->digest.valid() && store.resolve(*ref)) drop.push_back(*ref);
        else
            for (auto& t : img.tags) drop.push_back(Reference::parse(t));  // by ID: every tag of it
        for (auto& r : drop) {
            store.untag(r);
            removed.push_back(r.full());
            if (!o.json) std::cout << "Untagged: " << r.familiar() << "\n";
        }
    }
    if (o.json) print_json({{"untagged", removed}});
    return 0;
}

namespace {
// Every blob a document reaches: an index its manifests, a manifest its
// config and layers. Unknown or missing blobs end the walk there.
void mark(const oci::Store& store, const oci::Descriptor& d, std::set<std::string>& live, std::set<std::string>& diff_ids) {
    if (!live.insert(d.digest.str()).second) return;
    if (!oci::media::is_index(d.media_type) && !oci::media::is_manifest(d.media_type)) return;
    json doc;
    try {
        doc = store.read_json_blob(d.digest);
    } catch (const Error&) {
        return;
    }
    if (doc.contains("manifests") && doc["manifests"].is_array())
        for (auto& m : doc["manifests"])
            try { mark(store, oci::Descriptor::from_json(m), live, diff_ids); } catch (const Error&) {}
    if (doc.contains("config")) {
        try {
            auto c = oci::Descriptor::from_json(doc["config"]);
            live.insert(c.digest.str());
            json cfg = store.read_json_blob(c.digest, 16 << 20);
            for (auto& id : cfg.at("rootfs").at("diff_ids")) diff_ids.insert(id.get<std::string>());
        } catch (const std::exception&) {}
    }
    if (doc.contains("layers") && doc["layers"].is_array())
        for (auto& l : doc["layers"])
            try { live.insert(oci::Descriptor::from_json(l).digest.str()); } catch (const Error&) {}
}
} // namespace

int run_gc(const Options& o) {
    oci::Store store;
    uint64_t freed = 0, blobs = 0, layers = 0, temps = 0;
    if (store.exists()) {
        Fd lock = store.lock_blobs_exclusive();
        std::set<std::string> live, diff_ids;
        json index = store.read_index();
        for (auto& m : index["manifests"])
            try { mark(store, oci::Descriptor::from_json(m), live, diff_ids); } catch (const Error&) {}
        std::string dir = store.root() + "/blobs/sha256";
        Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d) throw_errno("read the store's blobs", "open(" + quote(dir) + ")");
        DIR* ds = ::fdopendir(::dup(d.get()));
        std::vector<std::string> names;
        while (auto* e = ::readdir(ds)) names.push_back(e->d_name);
        ::closedir(ds);
        for (auto& n : names) {
            if (n == "." || n == "..") continue;
            auto dg = Digest::from_hex(n);
            bool stale_tmp = n.rfind(".tmp-", 0) == 0;  // a writer killed before commit
            if (dg && live.count(dg->str())) continue;
            if (!dg && !stale_tmp) continue;  // not ours to judge
            struct stat st {};
            if (::fstatat(d.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
            std::string call = "unlinkat(" + quote(dir + "/" + n) + ")";
            explain("no tag reaches this blob: remove it", call);
            if (::unlinkat(d.get(), n.c_str(), 0) < 0) throw_errno("remove an unused blob", call);
            freed += uint64_t(st.st_size);
            ++blobs;
        }
        // index.json and oci-layout are replaced through .NAME.tmp-PID-...:
        // such a file whose writer is gone was left by a killed run.
        Fd root(::open(store.root().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!root) throw_errno("read the store", "open(" + quote(store.root()) + ")");
        DIR* rs = ::fdopendir(::dup(root.get()));
        std::vector<std::string> rnames;
        while (auto* e = rs ? ::readdir(rs) : nullptr) rnames.push_back(e->d_name);
        if (rs) ::closedir(rs);
        for (auto& n : rnames) {
            if (n.rfind(".", 0) != 0 || n.find(".tmp-") == std::string::npos) continue;
            if (pid_alive(temp_writer_pid(n, false))) continue;
            struct stat st {};
            if (::fstatat(root.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) continue;
            std::string call = "unlinkat(" + quote(store.root() + "/" + n) + ")";
            explain("a killed run left this temporary file: remove it", call);
            if (::unlinkat(root.get(), n.c_str(), 0) < 0) throw_errno("remove a left-over temporary file", call);
            freed += uint64_t(st.st_size);
            ++temps;
        }
        // Cached layers no image uses any more, and unpacks that died.
        std::string ldir = paths::layers();
        if (DIR* ls = ::opendir(ldir.c_str())) {
            std::vector<std::string> lnames;
            while (auto* e = ::readdir(ls)) lnames.push_back(e->d_name);
            ::closedir(ls);
            for (auto& n : lnames) {
                auto dg = Digest::from_hex(n);
                bool stale_tmp = n.rfind(".tmp-", 0) == 0;
                if ((dg && diff_ids.count(dg->str())) || (!dg && !stale_tmp)) continue;
                if (stale_tmp && pid_alive(temp_writer_pid(n, true))) continue;  // only when its unpacker is gone
                explain("no image uses this cached layer: remove it", "unlinkat(" + quote(ldir + "/" + n) + ", AT_REMOVEDIR)");
                remove_tree(ldir + "/" + n);
                ++layers;
            }
        }
    }
    if (o.json)
        print_json({{"freed_bytes", freed}, {"blobs_removed", blobs}, {"cached_layers_removed", layers},
                    {"temporary_files_removed", temps}});
    else std::cout << "freed " << human_size(int64_t(freed)) << " (" << freed << " bytes): " << blobs << " blobs, "
                   << layers << " cached layers" << (temps ? ", " + std::to_string(temps) + " temporary files" : "")
                   << "\n";
    return 0;
}

} // namespace bk::imgpack
