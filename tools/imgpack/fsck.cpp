// imgpack fsck: is every blob what its name says, and does every tag lead
// to a whole image? Three passes, in this order:
//
//   1. the layout: oci-layout and index.json are there and valid;
//   2. every blob in blobs/sha256 is read and hashed, so a flipped bit
//      anywhere (a layer no tag uses included) is found;
//   3. every index.json entry is followed: an index to its manifests, a
//      manifest to its config and layers; each blob must be there, as large
//      as its descriptor says, undamaged (pass 2) and, for documents, parse.
//
// Then the names no blob should have: temporary files. A writer names its
// temporary file after its pid; when that pid is gone, the writer was killed
// and the file is a left-over; when it runs, it is work in progress.
#include "fsck.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "digest.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "image.hpp"
#include "imgpack.hpp"
#include "paths.hpp"
#include "reference.hpp"

namespace bk::imgpack {

json FsckReport::to_json() const {
    auto list = [](const std::vector<FsckFinding>& v) {
        json a = json::array();
        for (auto& f : v) a.push_back(f.to_json());
        return a;
    };
    return {{"store", store},
            {"clean", clean()},
            {"problems", list(problems)},
            {"leftovers", list(leftovers)},
            {"notes", list(notes)},
            {"checked", {{"blobs", blobs}, {"bytes", bytes}, {"tags", tags}, {"cached_layers", cached_layers}}},
            {"unreferenced_blobs", unreferenced}};
}

bool pid_alive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

pid_t temp_writer_pid(const std::string& name, bool layer_cache) {
    auto digits = [](const std::string& s) -> pid_t {
        if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return 0;
        return pid_t(std::stol(s));
    };
    if (layer_cache) {  // ".tmp-HEX-PID" (layers.cpp)
        if (name.rfind(".tmp-", 0) != 0) return 0;
        auto dash = name.rfind('-');
        return dash == std::string::npos ? 0 : digits(name.substr(dash + 1));
    }
    // ".tmp-PID-N-RAND" and ".NAME.tmp-PID-N-RAND" (lib/oci_store.cpp random_suffix)
    auto at = name.find(".tmp-");
    if (name.empty() || name[0] != '.' || at == std::string::npos) return 0;
    auto start = at + 5;
    auto end = name.find('-', start);
    return digits(name.substr(start, end == std::string::npos ? std::string::npos : end - start));
}

namespace {

constexpr size_t k_document_max = 4 << 20;   // manifests and indexes, as Store::read_blob
constexpr size_t k_config_max = 16 << 20;    // configs, as load_image
constexpr size_t k_index_max = 64 << 20;     // index.json, as Store::read_index

std::vector<std::string> dir_names(int dir_fd) {
    std::vector<std::string> out;
    DIR* d = ::fdopendir(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!d) return out;
    ::rewinddir(d);
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    return out;
}

std::string familiar(const std::string& full) {
    auto r = Reference::try_parse(full);
    return r ? r->familiar() : full;
}

// Reading a whole small file; nothing (and `err` set) when it cannot be read.
std::optional<std::string> read_small(int dir_fd, const std::string& name, size_t max, int& err) {
    err = 0;
    Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        err = errno;
        return std::nullopt;
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            err = errno;
            return std::nullopt;
        }
        if (n == 0) return out;
        out.append(buf, size_t(n));
        if (out.size() > max) {
            err = EFBIG;
            return std::nullopt;
        }
    }
}

class Checker {
public:
    Checker(const oci::Store& store, const std::string& layers_dir, const PidAlive& alive)
        : store_(store), layers_dir_(layers_dir), alive_(alive) {
        report_.store = store.root();
    }

    FsckReport run() {
        open_root();
        if (!layout()) return std::move(report_);
        std::optional<Fd> hold;
        if (blobs_dir_) hold = store_.hold_blobs();  // gc waits until we are done
        root_temporaries();
        blobs();
        tags();
        unreferenced();
        layer_cache();
        return std::move(report_);
    }

private:
    void problem(std::string kind, std::string subject, std::string message) {
        report_.problems.push_back({std::move(kind), std::move(subject), std::move(message)});
    }
    void note(std::string kind, std::string subject, std::string message) {
        report_.notes.push_back({std::move(kind), std::move(subject), std::move(message)});
    }

    void open_root() {
        const std::string& root = store_.root();
        struct stat st {};
        if (::lstat(root.c_str(), &st) < 0) {
            int err = errno;
            Error e("check the store " + root, "lstat(" + quote(root) + ")", err);
            if (err == ENOENT) e.with_hint("there is no store there; name one with --store DIR or BOXKIT_STORE");
            throw e;
        }
        if (!S_ISDIR(st.st_mode))
            throw Error("check the store " + root + ": it is not a directory", "", ENOTDIR,
                        "name the store's directory with --store DIR or BOXKIT_STORE");
        explain("hold the store's directory to look at every name in it", "open(" + quote(root) + ", O_RDONLY|O_DIRECTORY)");
        root_ = Fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!root_) throw_errno("check the store " + root, "open(" + quote(root) + ", O_RDONLY|O_DIRECTORY)");
        std::string blobs = root + "/blobs/sha256";
        blobs_dir_ = Fd(::open(blobs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!blobs_dir_ && errno != ENOENT) throw_errno("check the store's blobs", "open(" + quote(blobs) + ")");
    }

    // oci-layout and index.json. False when there is nothing more to check.
    bool layout() {
        bool has_blobs = false;
        for (auto& n : blob_names()) has_blobs |= n.rfind(".tmp-", 0) != 0;
        bool has_layout = ::faccessat(root_.get(), "oci-layout", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        bool has_index = ::faccessat(root_.get(), "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        if (!has_index && !has_blobs) {
            // Empty, or a first write was stopped before the layout was
            // complete (Store::init makes blobs/, then oci-layout, then
            // index.json; the next write finishes it): nothing is lost.
            for (auto& n : dir_names(root_.get()))
                if (n != "blobs" && n != "oci-layout" && n.find(".tmp-") == std::string::npos)
                    throw Error("check the store " + store_.root() + ": it is not an OCI image layout (no index.json)",
                                "", EINVAL, "name the store's directory with --store DIR or BOXKIT_STORE");
            note("empty", store_.root(), "the store is empty: no image has been stored in it yet");
            root_temporaries();
            return false;
        }
        if (!has_layout) {
            problem("layout", "oci-layout", "oci-layout is missing: skopeo and umoci will not take this for an image layout");
        } else {
            int err = 0;
            auto text = read_small(root_.get(), "oci-layout", 4096, err);
            json j;
            if (text) j = json::parse(*text, nullptr, false);
            if (!text)
                problem("layout", "oci-layout", "oci-layout cannot be read: " + std::string(std::strerror(err)));
            else if (!j.is_object() || !j.contains("imageLayoutVersion") || !j["imageLayoutVersion"].is_string())
                problem("layout", "oci-layout", "oci-layout is not {\"imageLayoutVersion\": \"1.0.0\"}");
        }
        if (!has_index) {
            problem("index", "index.json", "index.json is missing: the store has blobs but no tags");
            return true;
        }
        int err = 0;
        auto text = read_small(root_.get(), "index.json", k_index_max, err);
        if (!text) {
            problem("index", "index.json", "index.json cannot be read: " + std::string(std::strerror(err)));
            return true;
        }
        index_ = json::parse(*text, nullptr, false);
        if (index_.is_discarded()) {
            problem("index", "index.json", "index.json is not valid JSON");
            index_ = nullptr;
        } else if (!index_.is_object()) {
            problem("index", "index.json", "index.json is not a JSON object");
            index_ = nullptr;
        } else {
            if (!index_.contains("schemaVersion") || index_["schemaVersion"] != 2)
                problem("index", "index.json", "index.json is not schemaVersion 2");
            if (!index_.contains("manifests") || !index_["manifests"].is_array()) {
                problem("index", "index.json", "index.json has no manifests list");
                index_ = nullptr;
            }
        }
        return true;
    }

    std::vector<std::string> blob_names() {
        if (!blobs_names_) blobs_names_ = blobs_dir_ ? dir_names(blobs_dir_.get()) : std::vector<std::string>{};
        return *blobs_names_;
    }

    // A temporary name: in progress while its writer runs, a left-over after.
    void temporary(const std::string& path, const std::string& name, bool layer_cache, int64_t size) {
        pid_t pid = temp_writer_pid(name, layer_cache);
        std::string what = layer_cache ? "a layer being unpacked" : "a file being written";
        if (pid > 0 && alive_(pid)) {
            note("in_progress", path, path + " is " + what + " by pid " + std::to_string(pid) + " (still running)");
            return;
        }
        std::string by = pid > 0 ? "pid " + std::to_string(pid) + ", which is gone" : "a writer that is gone";
        std::string sized = size >= 0 ? " (" + human_size(size) + ")" : "";
        report_.leftovers.push_back({layer_cache ? "temporary_layer" : "temporary_file", path,
                                     "left-over " + std::string(layer_cache ? "temporary layer " : "temporary file ") +
                                         path + sized + " from " + by + "; imgpack gc removes it"});
    }

    void root_temporaries() {
        if (root_done_) return;
        root_done_ = true;
        for (auto& n : dir_names(root_.get())) {
            if (n.rfind(".", 0) != 0 || n.find(".tmp-") == std::string::npos) continue;
            struct stat st {};
            int64_t size = ::fstatat(root_.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 ? int64_t(st.st_size) : -1;
            temporary(store_.root() + "/" + n, n, false, size);
        }
        // blobs/ should hold sha256/ only.
        std::string blobs = store_.root() + "/blobs";
        Fd b(::open(blobs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (b)
            for (auto& n : dir_names(b.get()))
                if (n != "sha256") note("not_checked", blobs + "/" + n, blobs + "/" + n + " is not checked: imgpack knows sha256 only");
    }

    // Pass 2: hash every blob, one 1 MiB buffer at a time.
    void blobs() {
        if (!blobs_dir_) return;
        std::string dir = store_.root() + "/blobs/sha256";
        std::unique_ptr<char[]> buf(new char[1 << 20]);
        for (auto& n : blob_names()) {
            std::string path = dir + "/" + n;
            struct stat st {};
            if (::fstatat(blobs_dir_.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;  // gone since readdir
            if (n.rfind(".tmp-", 0) == 0) {
                temporary(path, n, false, int64_t(st.st_size));
                continue;
            }
            auto d = Digest::from_hex(n);
            if (!d) {
                note("not_checked", path, path + " is not a blob name (64 hex digits); not checked");
                continue;
            }
            if (!S_ISREG(st.st_mode)) {
                problem("not_a_file", d->str(), "blob " + d->str() + " is not a regular file");
                bad_.insert(d->str());
                continue;
            }
            std::string call = "open(" + quote(path) + ", O_RDONLY)";
            explain("read every byte of a blob to check that it matches its name", call);
            Fd fd(::openat(blobs_dir_.get(), n.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
            if (!fd) {
                problem("blob_unreadable", d->str(), "blob " + d->str() + " cannot be read: " + std::strerror(errno));
                bad_.insert(d->str());
                continue;
            }
            ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
            Sha256 h;
            int err = 0;
            for (;;) {
                ssize_t r = ::read(fd.get(), buf.get(), 1 << 20);
                if (r < 0 && errno == EINTR) continue;
                if (r < 0) { err = errno; break; }
                if (r == 0) break;
                h.update(buf.get(), size_t(r));
            }
            report_.blobs++;
            report_.bytes += h.bytes();
            sizes_[d->str()] = int64_t(h.bytes());
            if (err) {
                problem("blob_unreadable", d->str(), "blob " + d->str() + " cannot be read: " + std::strerror(err));
                bad_.insert(d->str());
                continue;
            }
            Digest got = h.finish();
            if (got != *d) {
                problem("blob_digest", d->str(),
                        "blob " + d->str() + " does not match its name: its content is " + got.str());
                bad_.insert(d->str());
            }
        }
    }

    // Pass 3: every index.json entry leads to a whole image.
    void tags() {
        if (!index_.is_object()) return;
        size_t i = 0;
        for (auto& entry : index_["manifests"]) {
            ++i;
            std::string label = "index.json entry " + std::to_string(i);
            if (entry.is_object()) {
                auto a = entry.find("annotations");
                if (a != entry.end() && a->is_object() && a->contains(oci::k_ref_name) && (*a)[oci::k_ref_name].is_string())
                    label = "tag " + familiar((*a)[oci::k_ref_name].get<std::string>());
            }
            report_.tags++;
            oci::Descriptor d;
            try {
                d = oci::Descriptor::from_json(entry, label);
            } catch (const Error& e) {
                problem("index", label, label + " in index.json is not a valid descriptor: " + e.why());
                continue;
            }
            walk(d, label, "image", 0);
        }
    }

    // The blob a descriptor names: there, as large as it says, undamaged.
    bool blob_ok(const oci::Descriptor& d, const std::string& label, const std::string& role) {
        reached_.insert(d.digest.str());
        std::string what = label + ": its " + role + " " + d.digest.str();
        auto sz = sizes_.find(d.digest.str());
        int64_t size = sz != sizes_.end() ? sz->second : store_.blob_size(d.digest);
        if (bad_.count(d.digest.str())) {
            problem("damaged", label, what + " is damaged (the blob's own problem is listed too)");
            return false;
        }
        if (size < 0) {
            problem("blob_missing", label, what + " is missing");
            return false;
        }
        if (size != d.size) {
            problem("blob_size", label,
                    what + " is " + std::to_string(size) + " bytes, the descriptor says " + std::to_string(d.size));
            return false;
        }
        return true;
    }

    std::optional<json> document(const oci::Descriptor& d, const std::string& label, const std::string& role, size_t max) {
        int err = 0;
        auto text = read_small(blobs_dir_ ? blobs_dir_.get() : -1, std::string(d.digest.hex()), max, err);
        if (!text) {
            problem(role, label, label + ": its " + role + " " + d.digest.str() + " cannot be read: " + std::strerror(err));
            return std::nullopt;
        }
        json j = json::parse(*text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            problem(role, label, label + ": its " + role + " " + d.digest.str() + " is not a JSON object");
            return std::nullopt;
        }
        return j;
    }

    void walk(const oci::Descriptor& d, const std::string& label, const std::string& role, int depth) {
        if (!blob_ok(d, label, role == "image" ? "manifest" : role)) return;
        bool index_type = oci::media::is_index(d.media_type);
        bool manifest_type = oci::media::is_manifest(d.media_type);
        if (!index_type && !manifest_type) {
            note("not_an_image", label, label + " is a " + d.media_type + ", not an image: only its blob was checked");
            return;
        }
        auto doc = document(d, label, "manifest", k_document_max);
        if (!doc) return;
        if (index_type) {
            if (depth >= 2) {
                problem("manifest", label, label + ": its index " + d.digest.str() + " nests indexes too deep");
                return;
            }
            index(d, *doc, label, depth);
            return;
        }
        try {
            check_manifest(*doc, label);
        } catch (const Error& e) {
            problem("manifest", label, label + ": its manifest " + d.digest.str() + " is not valid: " + e.why());
            return;
        }
        auto cfg = oci::Descriptor::from_json((*doc)["config"], "the manifest's config");
        if (blob_ok(cfg, label, "config"))
            if (auto c = document(cfg, label, "config", k_config_max)) {
                try {
                    check_config(*c, (*doc)["layers"].size(), label);
                } catch (const Error& e) {
                    problem("config", label, label + ": its config " + cfg.digest.str() + " is not valid: " + e.why());
                }
            }
        size_t n = 0;
        for (auto& l : (*doc)["layers"])
            blob_ok(oci::Descriptor::from_json(l, "a layer"), label, "layer " + std::to_string(++n));
    }

    // An index: every manifest that is here must be whole; a platform that is
    // not here is fine (a pull copies one), unless it is the one imgpack uses.
    void index(const oci::Descriptor& d, const json& doc, const std::string& label, int depth) {
        if (!doc.contains("manifests") || !doc["manifests"].is_array()) {
            problem("manifest", label, label + ": its index " + d.digest.str() + " has no manifests list");
            return;
        }
        std::optional<oci::Descriptor> mine;
        try {
            mine = pick_platform(doc, label);
        } catch (const Error&) {
        }
        size_t present = 0;
        for (auto& m : doc["manifests"]) {
            oci::Descriptor md;
            try {
                md = oci::Descriptor::from_json(m, "an entry of the index");
            } catch (const Error& e) {
                problem("manifest", label, label + ": its index " + d.digest.str() + " has a bad entry: " + e.why());
                continue;
            }
            std::string platform = md.platform.is_object()
                                       ? md.platform.value("os", "?") + "/" + md.platform.value("architecture", "?") +
                                             (md.platform.contains("variant") ? "/" + md.platform.value("variant", "") : "")
                                       : md.digest.str().substr(0, 19);
            bool is_mine = mine && mine->digest == md.digest;
            if (store_.blob_size(md.digest) < 0 && !is_mine) {
                note("platform_absent", label, label + ": the " + platform + " image of its index is not in the store");
                reached_.insert(md.digest.str());
                continue;
            }
            ++present;
            walk(md, label + " (" + platform + ")", "manifest", depth + 1);
        }
        if (present == 0) problem("blob_missing", label, label + ": no image its index " + d.digest.str() + " lists is in the store");
    }

    void unreferenced() {
        for (auto& [digest, size] : sizes_)
            if (!reached_.count(digest)) report_.unreferenced++;
    }

    // The layer cache: directories named by diff_id, and unpacks under .tmp-*.
    void layer_cache() {
        if (layers_dir_.empty()) return;
        Fd dir(::open(layers_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir) {
            if (errno != ENOENT) note("not_checked", layers_dir_, "the layer cache " + layers_dir_ + " cannot be read: " + std::strerror(errno));
            return;
        }
        explain("look at every directory in the layer cache", "open(" + quote(layers_dir_) + ", O_RDONLY|O_DIRECTORY)");
        for (auto& n : dir_names(dir.get())) {
            std::string path = layers_dir_ + "/" + n;
            struct stat st {};
            if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
            if (n.rfind(".tmp-", 0) == 0) {
                temporary(path, n, true, -1);
                continue;
            }
            if (!Digest::from_hex(n)) {
                note("not_checked", path, path + " is not a cached layer's name (a diff_id); not checked");
                continue;
            }
            if (!S_ISDIR(st.st_mode)) {
                problem("layer_cache", path, "cached layer " + path + " is not a directory");
                continue;
            }
            report_.cached_layers++;
        }
    }

    const oci::Store& store_;
    std::string layers_dir_;
    PidAlive alive_;
    FsckReport report_;
    Fd root_, blobs_dir_;
    std::optional<std::vector<std::string>> blobs_names_;
    bool root_done_ = false;
    json index_;
    std::set<std::string> bad_, reached_;  // damaged blobs; blobs a tag reaches
    std::map<std::string, int64_t> sizes_;  // every blob hashed, and its size
};

} // namespace

FsckReport fsck_store(const oci::Store& store, const std::string& layers_dir, const PidAlive& alive) {
    return Checker(store, layers_dir, alive).run();
}

int run_fsck(const Options& o) {
    oci::Store store;
    FsckReport r = fsck_store(store, paths::layers());
    if (o.json) {
        print_json(r.to_json());
        return r.clean() ? 0 : k_exit_problems;
    }
    const std::string prefix = tool_name() + ": fsck: ";
    for (auto& f : r.problems) std::cerr << prefix << f.message << "\n";
    if (!bk::quiet()) {
        for (auto& f : r.leftovers) std::cerr << prefix << f.message << "\n";
        for (auto& f : r.notes) std::cerr << prefix << "note: " << f.message << "\n";
        auto count = [](uint64_t n, const std::string& one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
        std::cout << "checked " << count(r.blobs, "blob") << " (" << human_size(int64_t(r.bytes)) << "), "
                  << count(r.tags, "tag") << ", " << count(r.cached_layers, "cached layer") << ": "
                  << (r.clean() ? std::string("no problems") : count(r.problems.size(), "problem"));
        if (!r.leftovers.empty()) std::cout << ", " << count(r.leftovers.size(), "left-over temporary file");
        if (r.unreferenced) std::cout << "; " << count(r.unreferenced, "blob") << " no tag reaches (imgpack gc removes them)";
        std::cout << "\n";
    }
    std::cout << std::flush;
    return r.clean() ? 0 : k_exit_problems;
}

} // namespace bk::imgpack
