#include <catch2/catch.hpp>

#include "error.hpp"
#include "../../tools/regpull/auth.hpp"
#include "../../tools/regpull/manifest.hpp"
#include "../../tools/regpull/progress.hpp"
#include "../../tools/regpull/registry.hpp"

using namespace bk::regpull;
using bk::json;

namespace {
const std::string H64 = std::string(64, 'a');
const std::string D = "sha256:" + H64;
json desc(const std::string& mt, const std::string& digest = D, json size = 10) {
    return {{"mediaType", mt}, {"digest", digest}, {"size", size}};
}
json manifest_doc() {
    return {{"schemaVersion", 2},
            {"mediaType", media::oci_manifest},
            {"config", desc(media::oci_config)},
            {"layers", json::array({desc("application/vnd.oci.image.layer.v1.tar+gzip")})}};
}
std::string why_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const bk::Error& e) {
        return e.message() + " | " + e.hint();
    }
    return "no error";
}
} // namespace

TEST_CASE("WWW-Authenticate: Docker Hub's Bearer challenge") {
    auto c = parse_www_authenticate(
        R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull")");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "bearer");
    CHECK(c[0].params["realm"] == "https://auth.docker.io/token");
    CHECK(c[0].params["service"] == "registry.docker.io");
    CHECK(c[0].params["scope"] == "repository:library/alpine:pull");
}

TEST_CASE("WWW-Authenticate: Basic, several challenges, escapes, tokens, case") {
    auto c = parse_www_authenticate(R"(Basic realm="a \"quoted\" realm", BEARER Realm=https://x/t, error=invalid_token)");
    REQUIRE(c.size() == 2);
    CHECK(c[0].scheme == "basic");
    CHECK(c[0].params["realm"] == "a \"quoted\" realm");
    CHECK(c[1].scheme == "bearer");
    CHECK(c[1].params["realm"] == "https://x/t");
    CHECK(c[1].params["error"] == "invalid_token");
    CHECK(parse_www_authenticate("Basic").at(0).params.empty());
    CHECK_THROWS_AS(parse_www_authenticate(""), bk::Error);
    CHECK_THROWS_AS(parse_www_authenticate(R"(Bearer realm="unterminated)"), bk::Error);
    CHECK_THROWS_AS(parse_www_authenticate(R"(Bearer realm="a" junk)"), bk::Error);
}

TEST_CASE("docker config.json: keys, base64 auth, username/password") {
    CHECK(config_key_matches("https://index.docker.io/v1/", "docker.io"));
    CHECK(config_key_matches("docker.io", "docker.io"));
    CHECK(config_key_matches("127.0.0.1:5000", "127.0.0.1:5000"));
    CHECK(config_key_matches("http://127.0.0.1:5000/v2/", "127.0.0.1:5000"));
    CHECK_FALSE(config_key_matches("127.0.0.1:5001", "127.0.0.1:5000"));
    CHECK_FALSE(config_key_matches("https://index.docker.io/v1/", "quay.io"));
    auto c = credentials_from_config(R"({"auths":{"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcjp0"}}})",
                                     "docker.io", "cfg");
    CHECK(c.username == "alice");
    CHECK(c.password == "s3cr:t");  // only the first colon splits
    CHECK(c.source == "cfg");
    auto u = credentials_from_config(R"({"auths":{"r:1":{"username":"bob","password":"pw"}}})", "r:1", "cfg");
    CHECK(u.username == "bob");
    CHECK(u.password == "pw");
    CHECK(credentials_from_config(R"({"auths":{}})", "r:1", "cfg").empty());
    CHECK(credentials_from_config(R"({"credsStore":"desktop"})", "r:1", "cfg").empty());
    CHECK_THROWS_AS(credentials_from_config("not json", "r", "cfg"), bk::Error);
    CHECK_THROWS_AS(credentials_from_config(R"({"auths":{"r":{"auth":"***"}}})", "r", "cfg"), bk::Error);
    CHECK_THROWS_AS(credentials_from_config(R"({"auths":{"r":{"auth":"bm9jb2xvbg=="}}})", "r", "cfg"), bk::Error);
}

TEST_CASE("token endpoint answers") {
    CHECK(token_from_answer(R"({"token":"t1","expires_in":300})") == "t1");
    CHECK(token_from_answer(R"({"access_token":"t2"})") == "t2");
    CHECK_THROWS_AS(token_from_answer(R"({"token":""})"), bk::Error);
    CHECK_THROWS_AS(token_from_answer("<html>"), bk::Error);
}

TEST_CASE("media types: index, manifest, schema 1 refused, contradictions refused") {
    CHECK(classify(manifest_doc(), "") == Kind::Manifest);
    json idx = {{"schemaVersion", 2}, {"mediaType", media::docker_manifest_list}, {"manifests", json::array()}};
    CHECK(classify(idx, "") == Kind::Index);
    json bare = {{"schemaVersion", 2}, {"manifests", json::array()}};
    CHECK(classify(bare, media::oci_index) == Kind::Index);
    CHECK(classify(bare, "application/json") == Kind::Index);
    json s1 = {{"schemaVersion", 1}, {"fsLayers", json::array()}};
    CHECK(why_of([&] { classify(s1, ""); }).find("cannot pull a Docker schema 1 manifest") == 0);
    CHECK(why_of([&] { classify(json::object(), media::docker_schema1_signed); }).find("schema 1") != std::string::npos);
    json both = manifest_doc();
    both["manifests"] = json::array();
    CHECK_THROWS_AS(classify(both, ""), bk::Error);
    json lies = idx;
    lies["mediaType"] = media::oci_manifest;
    CHECK_THROWS_AS(classify(lies, ""), bk::Error);
    json odd = manifest_doc();
    odd["mediaType"] = "text/html";
    CHECK(why_of([&] { classify(odd, ""); }).find("unknown media type") != std::string::npos);
    CHECK_THROWS_AS(classify(json::array(), ""), bk::Error);
}

TEST_CASE("descriptors: strict digests and sizes") {
    CHECK(parse_descriptor(desc("x"), "d").size == 10);
    for (std::string bad : std::vector<std::string>{"sha256:../../x", "sha256:" + std::string(64, 'A'), "sha256:" + std::string(63, 'a'),
                            "md5:" + std::string(32, 'a'), "sha256:" + std::string(64, 'a') + "/", ""})
        CHECK_THROWS_AS(parse_descriptor(desc("x", bad), "d"), bk::Error);
    CHECK_THROWS_AS(parse_descriptor(desc("x", D, -1), "d"), bk::Error);
    CHECK_THROWS_AS(parse_descriptor(desc("x", D, "10"), "d"), bk::Error);
    CHECK_THROWS_AS(parse_descriptor(desc("x", D, 1.5), "d"), bk::Error);
    CHECK_THROWS_AS(parse_descriptor(desc("x", D, uint64_t(1) << 50), "d"), bk::Error);
    CHECK_THROWS_AS(parse_descriptor(json{{"digest", D}, {"size", 1}}, "d"), bk::Error);
    CHECK(valid_digest(D));
    CHECK(short_id(D) == std::string(12, 'a'));
}

TEST_CASE("manifests: layers and config checked") {
    Manifest m = parse_manifest(manifest_doc(), "");
    CHECK(m.layers.size() == 1);
    CHECK(m.config.media_type == media::oci_config);
    json foreign = manifest_doc();
    foreign["layers"][0]["mediaType"] = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    CHECK(why_of([&] { parse_manifest(foreign, ""); }).find("foreign layers") != std::string::npos);
    json artifact = manifest_doc();
    artifact["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json";
    CHECK(why_of([&] { parse_manifest(artifact, ""); }).find("an artifact") != std::string::npos);
    json idx = {{"schemaVersion", 2}, {"mediaType", media::oci_index}, {"manifests", json::array()}};
    CHECK(why_of([&] { parse_manifest(idx, ""); }).find("an index is here") != std::string::npos);
    json v3 = manifest_doc();
    v3["schemaVersion"] = 3;
    CHECK_THROWS_AS(parse_manifest(v3, ""), bk::Error);
    json evil = manifest_doc();
    evil["layers"][0]["digest"] = "sha256:../../../etc/passwd";
    CHECK_THROWS_AS(parse_manifest(evil, ""), bk::Error);
}

TEST_CASE("platforms: parsing and matching") {
    CHECK(parse_platform("linux/amd64").str() == "linux/amd64");
    CHECK(parse_platform("linux/arm/v7").variant == "v7");
    for (auto bad : {"linux", "linux/", "/amd64", "a/b/c/d", "linux/amd 64", ""})
        CHECK_THROWS_AS(parse_platform(bad), bk::Error);
    CHECK(platform_matches({"linux", "amd64", ""}, {"linux", "amd64", ""}));
    CHECK(platform_matches({"linux", "arm64", "v8"}, {"linux", "arm64", ""}));
    CHECK_FALSE(platform_matches({"linux", "arm", "v7"}, {"linux", "arm", "v6"}));
    CHECK_FALSE(platform_matches({"linux", "amd64", ""}, {"windows", "amd64", ""}));
    CHECK(host_platform().os == "linux");
}

TEST_CASE("index: the platform's manifest, attestations skipped, a clear refusal") {
    auto entry = [](char c, json platform) {
        json d = desc(media::oci_manifest, "sha256:" + std::string(64, c));
        d["platform"] = platform;
        return d;
    };
    json idx = {{"schemaVersion", 2},
                {"manifests",
                 {entry('a', {{"os", "linux"}, {"architecture", "amd64"}}),
                  entry('b', {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v6"}}),
                  entry('c', {{"os", "linux"}, {"architecture", "arm"}, {"variant", "v7"}}),
                  entry('d', {{"os", "unknown"}, {"architecture", "unknown"}})}}};
    CHECK(select_platform(idx, {"linux", "amd64", ""}).digest[7] == 'a');
    CHECK(select_platform(idx, {"linux", "arm", "v7"}).digest[7] == 'c');
    CHECK(select_platform(idx, {"linux", "arm", ""}).digest[7] == 'b');
    std::string why = why_of([&] { select_platform(idx, {"linux", "s390x", ""}); });
    CHECK(why.find("find a manifest for linux/s390x") != std::string::npos);
    CHECK(why.find("linux/amd64, linux/arm/v6, linux/arm/v7;") != std::string::npos);
    CHECK(why.find("unknown") == std::string::npos);
}

TEST_CASE("registries: loopback means plain http, docker.io means registry-1") {
    CHECK(is_loopback("127.0.0.1:5000"));
    CHECK(is_loopback("127.8.9.1"));
    CHECK(is_loopback("localhost:5000"));
    CHECK(is_loopback("[::1]:5000"));
    CHECK_FALSE(is_loopback("128.0.0.1:5000"));
    CHECK_FALSE(is_loopback("127.0.0.1.example.com"));
    CHECK_FALSE(is_loopback("docker.io"));
    CHECK(registry_host("docker.io") == "registry-1.docker.io");
    Connection c;
    c.registry = "docker.io";
    CHECK(base_url(c) == "https://registry-1.docker.io");
    c.registry = "127.0.0.1:5000";
    CHECK(base_url(c) == "http://127.0.0.1:5000");
    c.registry = "reg.example:5000";
    CHECK(base_url(c) == "https://reg.example:5000");
    c.insecure = true;
    CHECK(base_url(c) == "http://reg.example:5000");
    CHECK(scope_for("library/alpine", "pull") == "repository:library/alpine:pull");
}

TEST_CASE("sizes the way docker prints them") {
    CHECK(human_size(17) == "17B");
    CHECK(human_size(66300) == "66.3kB");
    CHECK(human_size(2100000) == "2.1MB");
    CHECK(human_size(3210000000ull) == "3.21GB");
}
