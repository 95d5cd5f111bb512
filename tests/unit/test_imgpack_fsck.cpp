// imgpack fsck against a fake store in a temporary directory: a whole image
// written through lib/oci_store, then broken one way per test — a flipped
// byte, a missing blob, a wrong size, a dangling tag, a bad index.json, a
// temporary file a killed writer left — and each must be found, named once,
// and nothing in the store changed by looking.
#include <catch2/catch.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "../../tools/imgpack/fsck.hpp"
#include "../../tools/imgpack/image.hpp"
#include "error.hpp"
#include "tempdir.hpp"

using namespace bk;
using namespace bk::imgpack;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void spit(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// Every name and content under a directory, to prove fsck changed nothing.
std::map<std::string, std::string> snapshot(const std::string& dir) {
    std::map<std::string, std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) return out;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        std::string p = dir + "/" + n;
        struct stat st {};
        ::lstat(p.c_str(), &st);
        if (S_ISDIR(st.st_mode))
            for (auto& [k, v] : snapshot(p)) out[n + "/" + k] = v;
        else
            out[n] = slurp(p);
    }
    ::closedir(d);
    return out;
}

// A pid that was just used and is gone: a killed writer's.
pid_t dead_pid() {
    pid_t p = ::fork();
    if (p == 0) ::_exit(0);
    ::waitpid(p, nullptr, 0);
    return p;
}

bool never_alive(pid_t) { return false; }

struct FakeStore {
    TempDir tmp{"boxkit-fsck"};
    oci::Store store{tmp.path() + "/store"};
    std::string layers = tmp.path() + "/layers";
    oci::Descriptor manifest, config, layer;

    FakeStore() {
        store.init();
        std::string tar(3000, 'x');  // the content need not be a tar: fsck checks digests, not tar
        layer = store.put_blob(tar, oci::media::oci_layer_tar);
        json cfg = {{"architecture", host_architecture()},
                    {"os", "linux"},
                    {"rootfs", {{"type", "layers"}, {"diff_ids", {layer.digest.str()}}}}};
        std::vector<Layer> ls{{layer, layer.digest}};
        manifest = write_image(store, cfg, ls, Reference::parse("test/app:1"));
        json m = json::parse(slurp(path(manifest.digest)));
        config = oci::Descriptor::from_json(m["config"]);
    }

    std::string path(const Digest& d) const { return store.blob_path(d); }
    FsckReport check() const { return fsck_store(store, layers, never_alive); }

    // The one problem of this kind, its message.
    static std::string only(const FsckReport& r, const std::string& kind) {
        std::string found;
        int n = 0;
        for (auto& p : r.problems)
            if (p.kind == kind) {
                found = p.message;
                ++n;
            }
        CHECK(n == 1);
        return found;
    }
};

void flip_byte(const std::string& path, off_t at) {
    int fd = ::open(path.c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    char c = 0;
    REQUIRE(::pread(fd, &c, 1, at) == 1);
    c ^= 0x01;
    REQUIRE(::pwrite(fd, &c, 1, at) == 1);
    ::close(fd);
}

} // namespace

TEST_CASE_METHOD(FakeStore, "fsck: a whole store is clean, and looking changes nothing") {
    auto before = snapshot(store.root());
    FsckReport r = check();
    INFO(r.to_json().dump(2));
    CHECK(r.clean());
    CHECK(r.problems.empty());
    CHECK(r.leftovers.empty());
    CHECK(r.blobs == 3);  // manifest, config, layer
    CHECK(r.bytes == uint64_t(manifest.size + config.size + layer.size));
    CHECK(r.tags == 1);
    CHECK(r.unreferenced == 0);
    CHECK(snapshot(store.root()) == before);
    json j = r.to_json();
    CHECK(j["clean"] == true);
    CHECK(j["checked"]["blobs"] == 3);
    CHECK(j["problems"].empty());
}

TEST_CASE_METHOD(FakeStore, "fsck: one flipped byte in a layer is found, and the tag that reaches it") {
    flip_byte(path(layer.digest), 1500);
    auto before = snapshot(store.root());
    FsckReport r = check();
    CHECK_FALSE(r.clean());
    std::string m = only(r, "blob_digest");
    CHECK(m.rfind("blob " + layer.digest.str() + " does not match its name", 0) == 0);
    CHECK(only(r, "damaged") == "tag test/app:1: its layer 1 " + layer.digest.str() +
                                    " is damaged (the blob's own problem is listed too)");
    CHECK(r.problems.size() == 2);
    CHECK(snapshot(store.root()) == before);
}

TEST_CASE_METHOD(FakeStore, "fsck: a damaged blob no tag reaches is found too") {
    auto extra = store.put_blob("not used by any tag", "application/octet-stream");
    flip_byte(path(extra.digest), 0);
    FsckReport r = check();
    CHECK(only(r, "blob_digest").find(extra.digest.str()) != std::string::npos);
    CHECK(r.problems.size() == 1);
    CHECK(r.unreferenced == 1);
}

TEST_CASE_METHOD(FakeStore, "fsck: a missing layer, config or manifest") {
    SECTION("layer") {
        ::unlink(path(layer.digest).c_str());
        CHECK(only(check(), "blob_missing") == "tag test/app:1: its layer 1 " + layer.digest.str() + " is missing");
    }
    SECTION("config") {
        ::unlink(path(config.digest).c_str());
        CHECK(only(check(), "blob_missing") == "tag test/app:1: its config " + config.digest.str() + " is missing");
    }
    SECTION("manifest: the tag dangles") {
        ::unlink(path(manifest.digest).c_str());
        FsckReport r = check();
        CHECK(only(r, "blob_missing") == "tag test/app:1: its manifest " + manifest.digest.str() + " is missing");
        CHECK(r.unreferenced == 2);  // config and layer: nothing reaches them now
    }
}

TEST_CASE_METHOD(FakeStore, "fsck: a blob shorter or longer than its descriptor says") {
    // A truncated blob no longer matches its name either; both are said.
    ::truncate(path(layer.digest).c_str(), 100);
    FsckReport r = check();
    CHECK(only(r, "blob_digest").find(layer.digest.str()) != std::string::npos);
    CHECK(only(r, "damaged").find("layer 1") != std::string::npos);

    // A descriptor that lies about the size of a whole blob.
    FakeStore s2;
    s2.store.update_index([&](json& index) { index["manifests"][0]["size"] = s2.manifest.size + 7; });
    FsckReport r2 = s2.check();
    CHECK(only(r2, "blob_size") == "tag test/app:1: its manifest " + s2.manifest.digest.str() + " is " +
                                       std::to_string(s2.manifest.size) + " bytes, the descriptor says " +
                                       std::to_string(s2.manifest.size + 7));
}

TEST_CASE_METHOD(FakeStore, "fsck: a tag to a digest the store never had") {
    Digest nowhere = sha256_of("nowhere");
    oci::Descriptor d;
    d.media_type = oci::media::oci_manifest;
    d.digest = nowhere;
    d.size = 7;
    store.tag(Reference::parse("test/dangling:1"), d);
    FsckReport r = check();
    CHECK(only(r, "blob_missing") == "tag test/dangling:1: its manifest " + nowhere.str() + " is missing");
    CHECK(r.tags == 2);
}

TEST_CASE_METHOD(FakeStore, "fsck: index.json that is not JSON, not an index, or has a bad entry") {
    std::string index = store.root() + "/index.json";
    SECTION("not JSON") {
        spit(index, "{\"schemaVersion\": 2, \"manifests\": [");
        CHECK(only(check(), "index") == "index.json is not valid JSON");
    }
    SECTION("no manifests list") {
        spit(index, "{\"schemaVersion\": 2}");
        CHECK(only(check(), "index") == "index.json has no manifests list");
    }
    SECTION("an entry with a digest that is no digest") {
        json j = json::parse(slurp(index));
        j["manifests"][0]["digest"] = "sha256:../../etc/passwd";
        spit(index, j.dump());
        CHECK(only(check(), "index").rfind("tag test/app:1 in index.json is not a valid descriptor", 0) == 0);
    }
    SECTION("missing, with blobs in the store") {
        ::unlink(index.c_str());
        CHECK(only(check(), "index") == "index.json is missing: the store has blobs but no tags");
    }
    SECTION("oci-layout damaged") {
        spit(store.root() + "/oci-layout", "[]");
        CHECK(only(check(), "layout").rfind("oci-layout is not", 0) == 0);
    }
}

TEST_CASE_METHOD(FakeStore, "fsck: a manifest or config that is not a valid document") {
    SECTION("a config without diff_ids") {
        // Point a fresh tag at a manifest whose config lacks rootfs.
        auto cfg = store.put_blob("{\"architecture\":\"amd64\",\"os\":\"linux\"}", oci::media::oci_config);
        json m = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest}, {"config", cfg.to_json()},
                  {"layers", json::array({layer.to_json()})}};
        auto md = store.put_blob(m.dump(), oci::media::oci_manifest);
        store.tag(Reference::parse("test/noroot:1"), md);
        std::string msg = only(check(), "config");
        CHECK(msg.rfind("tag test/noroot:1: its config " + cfg.digest.str() + " is not valid: ", 0) == 0);
        CHECK(msg.find("rootfs.diff_ids") != std::string::npos);
    }
    SECTION("a manifest that is not JSON") {
        auto md = store.put_blob("this is no manifest", oci::media::oci_manifest);
        store.tag(Reference::parse("test/junk:1"), md);
        CHECK(only(check(), "manifest") == "tag test/junk:1: its manifest " + md.digest.str() + " is not a JSON object");
    }
}

TEST_CASE_METHOD(FakeStore, "fsck: an index reaches its platforms; another platform may be absent, ours not") {
    json mine = manifest.to_json();
    mine["platform"] = {{"os", "linux"}, {"architecture", host_architecture()}};
    json other = {{"mediaType", oci::media::oci_manifest}, {"digest", sha256_of("absent").str()}, {"size", 6},
                  {"platform", {{"os", "linux"}, {"architecture", "s390x"}}}};
    json idx = {{"schemaVersion", 2}, {"mediaType", oci::media::oci_index}, {"manifests", {mine, other}}};
    auto id = store.put_blob(idx.dump(), oci::media::oci_index);
    store.tag(Reference::parse("test/multi:1"), id);
    FsckReport r = check();
    INFO(r.to_json().dump(2));
    CHECK(r.clean());
    bool noted = false;
    for (auto& n : r.notes) noted |= n.kind == "platform_absent" && n.message.find("linux/s390x") != std::string::npos;
    CHECK(noted);

    // Now this machine's image is the one missing.
    ::unlink(path(config.digest).c_str());
    FsckReport r2 = check();
    bool named = false;
    for (auto& p : r2.problems)
        named |= p.message == "tag test/multi:1 (linux/" + host_architecture() + "): its config " + config.digest.str() + " is missing";
    CHECK(named);
}

TEST_CASE_METHOD(FakeStore, "fsck: temporary files: a dead writer's are left-overs, a live one's are work in progress") {
    std::string blobs = store.root() + "/blobs/sha256/";
    pid_t dead = dead_pid();
    spit(blobs + ".tmp-" + std::to_string(dead) + "-0-deadbeef", "half a blob");
    spit(store.root() + "/.index.json.tmp-" + std::to_string(dead) + "-1-cafef00d", "{");
    ::mkdir(layers.c_str(), 0700);
    ::mkdir((layers + "/.tmp-0123456789abcdef-" + std::to_string(dead)).c_str(), 0755);
    ::mkdir((layers + "/" + std::string(64, 'a')).c_str(), 0755);
    spit(blobs + ".tmp-" + std::to_string(::getpid()) + "-0-12345678", "a blob being written");

    FsckReport r = fsck_store(store, layers);  // the real pid check
    INFO(r.to_json().dump(2));
    CHECK(r.clean());  // left-overs are not damage
    REQUIRE(r.leftovers.size() == 3);
    int files = 0, dirs = 0;
    for (auto& l : r.leftovers) {
        files += l.kind == "temporary_file";
        dirs += l.kind == "temporary_layer";
        CHECK(l.message.find("pid " + std::to_string(dead) + ", which is gone; imgpack gc removes it") != std::string::npos);
    }
    CHECK(files == 2);
    CHECK(dirs == 1);
    bool in_progress = false;
    for (auto& n : r.notes) in_progress |= n.kind == "in_progress" && n.message.find("pid " + std::to_string(::getpid())) != std::string::npos;
    CHECK(in_progress);
    CHECK(r.cached_layers == 1);
    CHECK(r.blobs == 3);  // temporary files are not hashed as blobs
}

TEST_CASE_METHOD(FakeStore, "fsck: a cached layer that is not a directory, a blob that is not a file") {
    ::mkdir(layers.c_str(), 0700);
    spit(layers + "/" + std::string(64, 'b'), "a file where a layer directory belongs");
    std::string blob = path(layer.digest);
    ::unlink(blob.c_str());
    ::mkdir(blob.c_str(), 0700);
    FsckReport r = check();
    CHECK(only(r, "layer_cache") == "cached layer " + layers + "/" + std::string(64, 'b') + " is not a directory");
    CHECK(only(r, "not_a_file") == "blob " + layer.digest.str() + " is not a regular file");
    ::rmdir(blob.c_str());
}

TEST_CASE("fsck: an empty or half-made store is clean; a missing one or a stranger directory is refused") {
    TempDir tmp{"boxkit-fsck"};
    CHECK_THROWS_AS(fsck_store(oci::Store(tmp.path() + "/none"), ""), Error);
    // The first steps of Store::init: blobs/sha256 made, nothing else yet.
    ::mkdir((tmp.path() + "/half").c_str(), 0700);
    ::mkdir((tmp.path() + "/half/blobs").c_str(), 0700);
    ::mkdir((tmp.path() + "/half/blobs/sha256").c_str(), 0700);
    FsckReport r = fsck_store(oci::Store(tmp.path() + "/half"), "", never_alive);
    CHECK(r.clean());
    REQUIRE(r.notes.size() == 1);
    CHECK(r.notes[0].kind == "empty");
    // ... and oci-layout written, index.json not yet (killed in between).
    spit(tmp.path() + "/half/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}");
    spit(tmp.path() + "/half/.index.json.tmp-" + std::to_string(dead_pid()) + "-1-00000000", "{");
    FsckReport r2 = fsck_store(oci::Store(tmp.path() + "/half"), "", never_alive);
    CHECK(r2.clean());
    CHECK(r2.leftovers.size() == 1);
    ::mkdir((tmp.path() + "/stranger").c_str(), 0700);
    spit(tmp.path() + "/stranger/notes.txt", "not an image store");
    CHECK_THROWS_AS(fsck_store(oci::Store(tmp.path() + "/stranger"), ""), Error);
}

TEST_CASE("fsck: the writer's pid in a temporary name") {
    CHECK(temp_writer_pid(".tmp-4242-0-deadbeef", false) == 4242);
    CHECK(temp_writer_pid(".index.json.tmp-17-3-0badf00d", false) == 17);
    CHECK(temp_writer_pid(".oci-layout.tmp-9-0-00000000", false) == 9);
    CHECK(temp_writer_pid(".tmp-0123456789abcdef-555", true) == 555);
    CHECK(temp_writer_pid(".tmp-x-0-1", false) == 0);
    CHECK(temp_writer_pid("tmp-12-0-1", false) == 0);
    CHECK(temp_writer_pid(".tmp-123456789012-0-1", false) == 0);
    CHECK(temp_writer_pid(".tmp-abc-", true) == 0);
}
