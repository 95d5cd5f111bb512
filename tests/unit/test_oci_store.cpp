#include <catch2/catch.hpp>

#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>

#include "error.hpp"
#include "oci_store.hpp"
#include "tempdir.hpp"

using bk::Digest;
using bk::Reference;
using bk::oci::Store;

namespace {
std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
std::set<std::string> names_in(const std::string& dir) {
    std::set<std::string> out;
    if (DIR* d = opendir(dir.c_str())) {
        while (auto* e = readdir(d))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.insert(e->d_name);
        closedir(d);
    }
    return out;
}
struct Fixture {
    bk::TempDir tmp{"boxkit-store"};
    Store store{tmp.path() + "/store"};
};
} // namespace

TEST_CASE_METHOD(Fixture, "store: init makes an OCI layout with 0700 directories") {
    CHECK_FALSE(store.exists());
    store.init();
    CHECK(store.exists());
    CHECK(bk::json::parse(slurp(store.root() + "/oci-layout"))["imageLayoutVersion"] == "1.0.0");
    auto index = bk::json::parse(slurp(store.root() + "/index.json"));
    CHECK(index["schemaVersion"] == 2);
    CHECK(index["manifests"].empty());
    struct stat st {};
    REQUIRE(stat((store.root() + "/blobs/sha256").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    REQUIRE(stat(store.root().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    store.init();  // again: nothing changes
    CHECK(store.tags().empty());
}

TEST_CASE_METHOD(Fixture, "store: put_blob, has_blob, read_blob") {
    auto d = store.put_blob("hello", "text/plain");
    CHECK(d.digest == bk::sha256_of("hello"));
    CHECK(d.size == 5);
    CHECK(d.media_type == "text/plain");
    CHECK(store.has_blob(d.digest));
    CHECK(store.blob_size(d.digest) == 5);
    CHECK(store.read_blob(d.digest) == "hello");
    CHECK_THROWS_AS(store.read_blob(d.digest, 4), bk::Error);  // over the cap
    CHECK_FALSE(store.has_blob(bk::sha256_of("other")));
    CHECK_THROWS_AS(store.read_blob(bk::sha256_of("other")), bk::Error);
    store.put_blob("hello", "text/plain");  // twice is fine
    CHECK(names_in(store.root() + "/blobs/sha256").size() == 1);
}

TEST_CASE_METHOD(Fixture, "store: a damaged blob is refused when read") {
    auto d = store.put_blob("{}", bk::oci::media::oci_config);
    chmod(store.blob_path(d.digest).c_str(), 0644);
    std::ofstream(store.blob_path(d.digest)) << "{\"x\":1}";
    CHECK_THROWS_AS(store.read_blob(d.digest), bk::Error);
}

TEST_CASE_METHOD(Fixture, "store: a streamed blob is verified; a mismatch leaves nothing") {
    Digest want = bk::sha256_of("abcdef");
    {
        auto w = store.write_blob(want, 6);
        w.write("abc");
        w.write("def");
        auto d = w.commit();
        CHECK(d.digest == want);
        CHECK(d.size == 6);
    }
    CHECK(store.read_blob(want) == "abcdef");
    Digest other = bk::sha256_of("xyz");
    {
        auto w = store.write_blob(other, 3);
        w.write("xyq");
        CHECK_THROWS_AS(w.commit(), bk::Error);
    }
    {
        auto w = store.write_blob(other, 3);
        CHECK_THROWS_AS(w.write("xyzw"), bk::Error);  // more than the size said
    }
    {
        auto w = store.write_blob(other, 4);
        w.write("xyz");
        CHECK_THROWS_AS(w.commit(), bk::Error);  // fewer
    }
    {
        auto w = store.write_blob(other, 3);
        w.write("xy");
        // dropped without commit
    }
    CHECK_FALSE(store.has_blob(other));
    CHECK(names_in(store.root() + "/blobs/sha256") == std::set<std::string>{std::string(want.hex())});
    auto w = store.write_blob();  // digest unknown in advance
    w.write("free");
    CHECK(w.commit().digest == bk::sha256_of("free"));
}

TEST_CASE_METHOD(Fixture, "store: tags hold the full reference and resolve from short forms") {
    auto m = store.put_blob("{\"schemaVersion\":2}", bk::oci::media::oci_manifest);
    store.tag(Reference::parse("alpine:3.19"), m);
    auto index = bk::json::parse(slurp(store.root() + "/index.json"));
    REQUIRE(index["manifests"].size() == 1);
    CHECK(index["manifests"][0]["annotations"][bk::oci::k_ref_name] == "docker.io/library/alpine:3.19");
    CHECK(index["manifests"][0]["digest"] == m.digest.str());
    auto r = store.resolve(Reference::parse("docker.io/library/alpine:3.19"));
    REQUIRE(r);
    CHECK(r->digest == m.digest);
    CHECK(r->media_type == bk::oci::media::oci_manifest);
    CHECK_FALSE(store.resolve(Reference::parse("alpine")));
    // by digest
    auto byd = store.resolve(Reference::parse("whatever@" + m.digest.str()));
    REQUIRE(byd);
    CHECK(byd->size == m.size);
    // retag replaces, not duplicates
    auto m2 = store.put_blob("{\"schemaVersion\":2,\"x\":1}", bk::oci::media::oci_manifest);
    store.tag(Reference::parse("docker.io/library/alpine:3.19"), m2);
    CHECK(store.tags().size() == 1);
    CHECK(store.resolve(Reference::parse("alpine:3.19"))->digest == m2.digest);
    store.tag(Reference::parse("127.0.0.1:5000/team/app:1"), m);
    CHECK(store.tags().size() == 2);
    CHECK(store.untag(Reference::parse("alpine:3.19")));
    CHECK_FALSE(store.untag(Reference::parse("alpine:3.19")));
    REQUIRE(store.tags().size() == 1);
    CHECK(store.tags()[0].name == "127.0.0.1:5000/team/app:1");
    CHECK_THROWS_AS(store.tag(Reference::parse("alpine@" + m.digest.str()), m), bk::Error);
}

TEST_CASE_METHOD(Fixture, "store: a tag written in short form by another tool resolves") {
    auto m = store.put_blob("{}", bk::oci::media::oci_manifest);
    store.update_index([&](bk::json& index) {
        auto d = m.to_json();
        d["annotations"] = {{bk::oci::k_ref_name, "alpine"}};
        index["manifests"].push_back(d);
        d["annotations"] = {{bk::oci::k_ref_name, "not a name!"}};
        index["manifests"].push_back(d);
    });
    CHECK(store.resolve(Reference::parse("docker.io/library/alpine:latest")));
    CHECK(store.tags().size() == 2);
    store.tag(Reference::parse("alpine"), m);  // replaces the short one
    CHECK(store.tags().size() == 2);
    CHECK(store.read_index()["manifests"].size() == 2);
}

TEST_CASE_METHOD(Fixture, "store: descriptors are read strictly") {
    using bk::oci::Descriptor;
    bk::json good = {{"mediaType", "x"}, {"digest", bk::sha256_of("").str()}, {"size", 0}};
    CHECK(Descriptor::from_json(good).size == 0);
    for (auto bad : {bk::json{{"mediaType", "x"}, {"digest", "sha256:../../x"}, {"size", 0}},
                     bk::json{{"mediaType", "x"}, {"digest", bk::sha256_of("").str()}, {"size", -1}},
                     bk::json{{"digest", bk::sha256_of("").str()}, {"size", 0}}, bk::json::array()}) {
        INFO(bad.dump());
        CHECK_THROWS_AS(Descriptor::from_json(bad), bk::Error);
    }
}

TEST_CASE_METHOD(Fixture, "store: concurrent taggers never lose a tag or corrupt index.json") {
    store.init();
    auto m = store.put_blob("{}", bk::oci::media::oci_manifest);
    constexpr int k_procs = 4, k_tags = 25;
    std::vector<pid_t> kids;
    for (int p = 0; p < k_procs; ++p) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            try {
                for (int t = 0; t < k_tags; ++t)
                    store.tag(Reference::parse("app" + std::to_string(p) + ":" + std::to_string(t)), m);
                _exit(0);
            } catch (...) {
                _exit(1);
            }
        }
        kids.push_back(pid);
    }
    for (pid_t k : kids) {
        int st = 0;
        waitpid(k, &st, 0);
        CHECK(WIFEXITED(st));
        CHECK(WEXITSTATUS(st) == 0);
    }
    CHECK(store.tags().size() == size_t(k_procs * k_tags));
    // no temporary files left behind
    for (auto& n : names_in(store.root())) CHECK(n.find(".tmp") == std::string::npos);
}

TEST_CASE_METHOD(Fixture, "store: digest() checks a streamed blob without naming it, and commit does not hash again") {
    std::string data = "a layer's bytes";
    bk::Digest want = bk::sha256_of(data);
    auto w = store.write_blob(want, int64_t(data.size()));
    w.write(data.substr(0, 4));
    w.write(data.substr(4));
    CHECK(w.digest() == want);
    CHECK(w.digest() == want);  // asked twice: the same answer
    CHECK_FALSE(store.has_blob(want));  // not named yet
    CHECK_THROWS_AS(w.write("more"), bk::Error);
    w.commit();
    CHECK(store.has_blob(want));
}

TEST_CASE_METHOD(Fixture, "store: a writer moved after digest() still commits (its digest moves with it)") {
    std::string data = "moved bytes";
    bk::Digest want = bk::sha256_of(data);
    auto w = store.write_blob(want, int64_t(data.size()));
    w.write(data);
    CHECK(w.digest() == want);
    std::vector<bk::oci::Store::BlobWriter> held;
    held.push_back(std::move(w));  // as a pull or a load keeps its writers
    CHECK(held.back().digest() == want);
    held.back().commit();
    CHECK(store.has_blob(want));
}
