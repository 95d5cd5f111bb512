#include "oci_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "error.hpp"
#include "explain.hpp"
#include "paths.hpp"

namespace bk::oci {

// ---- media types ----------------------------------------------------------

namespace media {
bool is_manifest(std::string_view mt) { return mt == oci_manifest || mt == docker_manifest; }
bool is_index(std::string_view mt) { return mt == oci_index || mt == docker_manifest_list; }
bool is_layer(std::string_view mt) {
    return mt == oci_layer_tar || mt == oci_layer_gzip || mt == oci_layer_zstd || mt == docker_layer_gzip ||
           mt == docker_layer_foreign || mt == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
           mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
           mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
}
} // namespace media

// ---- descriptors ----------------------------------------------------------

json Descriptor::to_json() const {
    json j = {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
    if (annotations.is_object() && !annotations.empty()) j["annotations"] = annotations;
    if (platform.is_object()) j["platform"] = platform;
    return j;
}

Descriptor Descriptor::from_json(const json& j, std::string_view what) {
    auto bad = [&](const std::string& why) {
        return Error("read " + std::string(what) + ": " + why, "", EINVAL,
                     "a descriptor has a mediaType string, a sha256 digest and a size");
    };
    if (!j.is_object()) throw bad("it is not a JSON object");
    Descriptor d;
    auto mt = j.find("mediaType");
    if (mt == j.end() || !mt->is_string()) throw bad("mediaType is missing");
    d.media_type = mt->get<std::string>();
    auto dg = j.find("digest");
    if (dg == j.end() || !dg->is_string()) throw bad("digest is missing");
    d.digest = Digest::parse(dg->get<std::string>(), std::string(what) + "'s digest");
    auto sz = j.find("size");
    if (sz == j.end() || !sz->is_number_integer() || sz->get<int64_t>() < 0) throw bad("size is missing or negative");
    d.size = sz->get<int64_t>();
    if (auto a = j.find("annotations"); a != j.end() && a->is_object()) d.annotations = *a;
    if (auto p = j.find("platform"); p != j.end() && p->is_object()) d.platform = *p;
    return d;
}

// ---- small helpers --------------------------------------------------------

namespace {

constexpr const char* k_layout = "{\"imageLayoutVersion\":\"1.0.0\"}";

void write_all(int fd, const void* data, size_t size, const std::string& shown) {
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("write " + shown, "write(" + shown + ")");
        p += n;
        size -= size_t(n);
    }
}

std::string random_suffix() {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    char buf[64];
    snprintf(buf, sizeof buf, "%d-%u-%08x", int(getpid()), counter++, rd());
    return buf;
}

// Replace dir/name with `content`: temporary name, fsync, rename, fsync dir.
void replace_file(int dir_fd, const std::string& dir_shown, const std::string& name, std::string_view content) {
    std::string tmp = "." + name + ".tmp-" + random_suffix();
    std::string shown = dir_shown + "/" + tmp;
    Fd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!fd) throw_errno("write " + dir_shown + "/" + name, "openat(" + quote(shown) + ", O_CREAT|O_EXCL)");
    try {
        write_all(fd.get(), content.data(), content.size(), shown);
        if (::fsync(fd.get()) < 0) throw_errno("write " + dir_shown + "/" + name, "fsync(" + quote(shown) + ")");
        std::string call = "renameat(" + quote(shown) + ", " + quote(dir_shown + "/" + name) + ")";
        explain("put the new " + name + " in place in one step", call);
        if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) < 0) throw_errno("replace " + dir_shown + "/" + name, call);
    } catch (...) {
        ::unlinkat(dir_fd, tmp.c_str(), 0);
        throw;
    }
    ::fsync(dir_fd);
}

Fd open_dir(const std::string& path, int flags = O_RDONLY) {
    return Fd(::open(path.c_str(), flags | O_DIRECTORY | O_CLOEXEC));
}

std::string read_small_file(const std::string& path, size_t max, bool& missing) {
    missing = false;
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        if (errno == ENOENT) { missing = true; return {}; }
        throw_errno("read " + path, "open(" + quote(path) + ")");
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + path, "read(" + quote(path) + ")");
        if (n == 0) break;
        out.append(buf, size_t(n));
        if (out.size() > max)
            throw Error("read " + path + ": it is larger than " + std::to_string(max) + " bytes", "", EFBIG,
                        "a manifest, config or index this large is not an image document");
    }
    return out;
}

void flock_or_throw(int fd, int op, const std::string& shown, std::string_view why) {
    std::string call = std::string("flock(") + quote(shown) + (op == LOCK_EX ? ", LOCK_EX)" : ", LOCK_SH)");
    explain(why, call);
    while (::flock(fd, op) < 0) {
        if (errno == EINTR) continue;
        throw_errno(std::string(why), call);
    }
}

} // namespace

// ---- the store ------------------------------------------------------------

Store::Store(std::string root) : root_(root.empty() ? paths::store() : std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

bool Store::exists() const { return ::access((root_ + "/oci-layout").c_str(), F_OK) == 0; }

void Store::init() {
    if (exists() && ::access((root_ + "/blobs/sha256").c_str(), F_OK) == 0 &&
        ::access((root_ + "/index.json").c_str(), F_OK) == 0)
        return;
    explain("make the image store (an OCI image layout), mode 0700", "mkdir(" + quote(root_ + "/blobs/sha256") + ", 0700)");
    paths::make_dirs(root_ + "/blobs/sha256", 0700);
    Fd dir = open_dir(root_);
    if (!dir) throw_errno("open the image store " + root_, "open(" + quote(root_) + ")");
    // Two runs may both get here: the lock makes one write, the other see it.
    flock_or_throw(dir.get(), LOCK_EX, root_, "take the store's lock");
    if (::faccessat(dir.get(), "oci-layout", F_OK, 0) < 0) replace_file(dir.get(), root_, "oci-layout", k_layout);
    if (::faccessat(dir.get(), "index.json", F_OK, 0) < 0)
        replace_file(dir.get(), root_, "index.json", "{\"schemaVersion\":2,\"manifests\":[]}");
}

std::string Store::blob_path(const Digest& d) const { return root_ + "/blobs/sha256/" + std::string(d.hex()); }

bool Store::has_blob(const Digest& d) const {
    struct stat st {};
    return d.valid() && ::lstat(blob_path(d).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

int64_t Store::blob_size(const Digest& d) const {
    struct stat st {};
    if (!d.valid() || ::lstat(blob_path(d).c_str(), &st) < 0 || !S_ISREG(st.st_mode)) return -1;
    return int64_t(st.st_size);
}

Fd Store::open_blob(const Digest& d) const {
    std::string path = blob_path(d);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
        int err = errno;
        Error e("read the blob " + d.str(), "open(" + quote(path) + ")", err);
        if (err == ENOENT) e.with_hint("the store " + root_ + " lacks it: pull or load the image again");
        throw e;
    }
    return fd;
}

std::string Store::read_blob(const Digest& d, size_t max_size) const {
    bool missing = false;
    std::string data = read_small_file(blob_path(d), max_size, missing);
    if (missing)
        throw Error("read the blob " + d.str(), "open(" + quote(blob_path(d)) + ")", ENOENT,
                    "the store " + root_ + " lacks it: pull or load the image again");
    if (sha256_of(data) != d)
        throw Error("use the blob " + d.str() + ": its content does not match its digest", "", EINVAL,
                    "the store is damaged; remove the image and pull or load it again");
    return data;
}

json Store::read_json_blob(const Digest& d, size_t max_size) const {
    std::string text = read_blob(d, max_size);
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw Error("read the blob " + d.str() + " as JSON: " + e.what(), "", EINVAL);
    }
}

// ---- writing blobs ----------------------------------------------------------

Store::BlobWriter::BlobWriter(const Store& s, Digest expected, int64_t expected_size)
    : store_(&s), expected_(std::move(expected)), expected_size_(expected_size) {
    std::string dir = s.root_ + "/blobs/sha256";
    dir_ = open_dir(dir);
    if (!dir_) throw_errno("open the store's blob directory", "open(" + quote(dir) + ")");
    hold_ = s.hold_blobs();
    // O_TMPFILE: a file with no name until commit links it in, so a killed
    // writer leaves nothing at all. Where the filesystem lacks it, a
    // temporary name that commit renames (and gc sweeps if we are killed).
    fd_ = Fd(::openat(dir_.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
    if (!fd_) {
        tmp_name_ = ".tmp-" + random_suffix();
        fd_ = Fd(::openat(dir_.get(), tmp_name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
        if (!fd_) throw_errno("start a blob in the store", "openat(" + quote(dir + "/" + tmp_name_) + ", O_CREAT|O_EXCL)");
    }
}

Store::BlobWriter::BlobWriter(BlobWriter&& o) noexcept
    : store_(o.store_), expected_(std::move(o.expected_)), expected_size_(o.expected_size_), fd_(std::move(o.fd_)),
      dir_(std::move(o.dir_)), tmp_name_(std::exchange(o.tmp_name_, {})), hash_(std::move(o.hash_)),
      final_(std::move(o.final_)), hold_(std::move(o.hold_)) {}

Store::BlobWriter::~BlobWriter() { discard(); }

void Store::BlobWriter::discard() {
    if (!tmp_name_.empty() && dir_) ::unlinkat(dir_.get(), tmp_name_.c_str(), 0);
    tmp_name_.clear();
    fd_.reset();
}

void Store::BlobWriter::write(const void* data, size_t size) {
    if (!fd_) throw Error("write a blob that is already committed", "", EBADF);
    if (final_) throw Error("write to a blob whose digest was already taken", "", EBADF);
    if (expected_size_ >= 0 && hash_.bytes() + size > uint64_t(expected_size_)) {
        discard();
        throw Error("store the blob " + expected_.str() + ": more than the " + std::to_string(expected_size_) +
                        " bytes its descriptor says",
                    "", EFBIG, "the source sent a different blob than it described");
    }
    hash_.update(data, size);
    write_all(fd_.get(), data, size, "a blob in " + store_->root_);
}

Digest Store::BlobWriter::digest() {
    if (!final_) final_ = hash_.finish();
    return *final_;
}

Descriptor Store::BlobWriter::commit() {
    if (!fd_) throw Error("commit a blob twice", "", EBADF);
    uint64_t size = hash_.bytes();
    Digest got = digest();
    if (expected_size_ >= 0 && size != uint64_t(expected_size_)) {
        discard();
        throw Error("store the blob " + expected_.str() + ": it is " + std::to_string(size) + " bytes, not " +
                        std::to_string(expected_size_),
                    "", EINVAL, "the source sent a different blob than it described");
    }
    if (expected_.valid() && got != expected_) {
        discard();
        throw Error("store the blob " + expected_.str() + ": its content has the digest " + got.str(), "", EINVAL,
                    "the blob was damaged or swapped on the way; nothing was stored");
    }
    std::string shown = store_->blob_path(got);
    if (::fsync(fd_.get()) < 0) throw_errno("store the blob " + got.str(), "fsync(" + quote(shown) + ")");
    std::string name(got.hex());
    if (tmp_name_.empty()) {
        // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd works for anyone with /proc.
        std::string call = "linkat(" + std::to_string(fd_.get()) + ", \"\", " + quote(shown) + ", AT_EMPTY_PATH)";
        explain("give the verified blob its name", call);
        int rc = ::linkat(fd_.get(), "", dir_.get(), name.c_str(), AT_EMPTY_PATH);
        if (rc < 0 && errno != EEXIST) {
            std::string proc = "/proc/self/fd/" + std::to_string(fd_.get());
            call = "linkat(AT_FDCWD, " + quote(proc) + ", " + quote(shown) + ", AT_SYMLINK_FOLLOW)";
            rc = ::linkat(AT_FDCWD, proc.c_str(), dir_.get(), name.c_str(), AT_SYMLINK_FOLLOW);
        }
        if (rc < 0 && errno != EEXIST) throw_errno("store the blob " + got.str(), call);
    } else {
        std::string call = "renameat(" + quote(tmp_name_) + ", " + quote(shown) + ")";
        explain("give the verified blob its name", call);
        if (::renameat(dir_.get(), tmp_name_.c_str(), dir_.get(), name.c_str()) < 0)
            throw_errno("store the blob " + got.str(), call);
        tmp_name_.clear();
    }
    ::fsync(dir_.get());
    fd_.reset();
    hold_.reset();
    Descriptor d;
    d.digest = got;
    d.size = int64_t(size);
    return d;
}

Store::BlobWriter Store::write_blob(Digest expected, int64_t expected_size) const {
    const_cast<Store*>(this)->init();
    return BlobWriter(*this, std::move(expected), expected_size);
}

Descriptor Store::put_blob(std::string_view data, std::string media_type) const {
    Digest d = sha256_of(data);
    Descriptor desc;
    if (blob_size(d) == int64_t(data.size())) {
        desc.digest = d;
        desc.size = int64_t(data.size());
    } else {
        auto w = write_blob(d, int64_t(data.size()));
        w.write(data);
        desc = w.commit();
    }
    desc.media_type = std::move(media_type);
    return desc;
}

namespace {
// An flock on blobs/: shared while blobs are added, exclusive for gc.
Fd lock_blob_dir(const std::string& root, int op, const char* why) {
    std::string dir = root + "/blobs";
    Fd fd = open_dir(dir);
    if (!fd) throw_errno("open the store's blob directory", "open(" + quote(dir) + ")");
    flock_or_throw(fd.get(), op, dir, why);
    return fd;
}
} // namespace

Fd Store::hold_blobs() const { return lock_blob_dir(root_, LOCK_SH, "keep gc from removing blobs we are adding"); }

Fd Store::lock_blobs_exclusive() const {
    return lock_blob_dir(root_, LOCK_EX, "wait until no pull or build is adding blobs");
}

// ---- index.json -------------------------------------------------------------

json Store::read_index() const {
    bool missing = false;
    std::string path = root_ + "/index.json";
    std::string text = read_small_file(path, 64 << 20, missing);
    if (missing) return json{{"schemaVersion", 2}, {"manifests", json::array()}};
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        throw Error("read " + path + ": " + e.what(), "", EINVAL, "the store's index is damaged");
    }
    if (!j.is_object()) throw Error("read " + path + ": it is not a JSON object", "", EINVAL);
    if (!j.contains("manifests") || !j["manifests"].is_array()) j["manifests"] = json::array();
    return j;
}

std::vector<Tagged> Store::tags() const {
    std::vector<Tagged> out;
    json index = read_index();
    for (auto& m : index["manifests"]) {
        auto a = m.find("annotations");
        if (a == m.end() || !a->is_object()) continue;
        auto n = a->find(k_ref_name);
        if (n == a->end() || !n->is_string()) continue;
        Tagged t;
        t.name = n->get<std::string>();
        t.ref = Reference::try_parse(t.name);
        try {
            t.target = Descriptor::from_json(m, "an index.json entry");
        } catch (const Error&) {
            continue;  // an entry we cannot use is not ours to judge here
        }
        out.push_back(std::move(t));
    }
    return out;
}

namespace {
// Same image name and tag, whatever form the annotation was written in.
bool same_tag(const json& entry, const Reference& ref) {
    auto a = entry.find("annotations");
    if (a == entry.end() || !a->is_object()) return false;
    auto n = a->find(k_ref_name);
    if (n == a->end() || !n->is_string()) return false;
    auto r = Reference::try_parse(n->get<std::string>());
    return r && r->name() == ref.name() && r->tag == ref.tag;
}
} // namespace

std::optional<Descriptor> Store::resolve(const Reference& ref) const {
    if (ref.digest.valid()) {
        int64_t size = blob_size(ref.digest);
        if (size < 0) return std::nullopt;
        Descriptor d;
        d.digest = ref.digest;
        d.size = size;
        json j = read_json_blob(ref.digest);
        if (j.contains("mediaType") && j["mediaType"].is_string()) d.media_type = j["mediaType"];
        else d.media_type = j.contains("manifests") ? media::oci_index : media::oci_manifest;
        return d;
    }
    json index = read_index();
    std::optional<Descriptor> found;
    for (auto& m : index["manifests"])
        if (same_tag(m, ref)) found = Descriptor::from_json(m, "the index.json entry for " + ref.full());
    return found;  // the last one wins, as in skopeo
}

void Store::update_index(const std::function<void(json&)>& edit) {
    init();
    Fd dir = open_dir(root_);
    if (!dir) throw_errno("open the image store " + root_, "open(" + quote(root_) + ")");
    // One writer at a time; readers need no lock because rename is atomic.
    flock_or_throw(dir.get(), LOCK_EX, root_, "take the store's lock before changing its tags");
    json index = read_index();
    if (!index.contains("schemaVersion")) index["schemaVersion"] = 2;
    edit(index);
    replace_file(dir.get(), root_, "index.json", index.dump());
}

void Store::tag(const Reference& ref, const Descriptor& target) {
    Reference plain = ref;
    plain.digest = {};
    if (plain.tag.empty())
        throw Error("tag " + ref.full() + ": a tag needs a NAME:TAG, not a digest", "", EINVAL, "write NAME:TAG");
    update_index([&](json& index) {
        json kept = json::array();
        for (auto& m : index["manifests"])
            if (!same_tag(m, plain)) kept.push_back(m);
        Descriptor d = target;
        if (!d.annotations.is_object()) d.annotations = json::object();
        d.annotations[k_ref_name] = plain.full();
        kept.push_back(d.to_json());
        index["manifests"] = kept;
    });
}

bool Store::untag(const Reference& ref) {
    bool removed = false;
    update_index([&](json& index) {
        json kept = json::array();
        for (auto& m : index["manifests"]) {
            if (same_tag(m, ref)) removed = true;
            else kept.push_back(m);
        }
        index["manifests"] = kept;
    });
    return removed;
}

} // namespace bk::oci
