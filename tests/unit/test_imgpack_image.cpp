// The pure checks an image goes through before anything is unpacked, and
// the two translations imgpack makes: --cmd text to a command, and an image
// config to a runtime spec.
#include <catch2/catch.hpp>

#include "../../tools/imgpack/image.hpp"
#include "../../tools/imgpack/imgpack.hpp"
#include "error.hpp"

using namespace bk;
using namespace bk::imgpack;

namespace {
const std::string k_d = "sha256:" + std::string(64, 'a');
json layer(const std::string& mt = oci::media::oci_layer_gzip) { return {{"mediaType", mt}, {"digest", k_d}, {"size", 10}}; }
json manifest() {
    return {{"schemaVersion", 2}, {"mediaType", oci::media::oci_manifest},
            {"config", {{"mediaType", oci::media::oci_config}, {"digest", k_d}, {"size", 2}}},
            {"layers", {layer(), layer(oci::media::docker_layer_gzip), layer(oci::media::oci_layer_zstd)}}};
}
} // namespace

TEST_CASE("manifests: a good one passes, each defect is named") {
    CHECK_NOTHROW(check_manifest(manifest(), "x"));
    auto bad = [](auto edit) {
        json m = manifest();
        edit(m);
        CHECK_THROWS_AS(check_manifest(m, "x"), Error);
    };
    bad([](json& m) { m["schemaVersion"] = 1; });
    bad([](json& m) { m.erase("config"); });
    bad([](json& m) { m["layers"] = "no"; });
    bad([](json& m) { m["layers"][0]["digest"] = "sha256:../../../etc/passwd"; });
    bad([](json& m) { m["layers"][1]["mediaType"] = "text/html"; });
    bad([](json& m) { m["layers"][2]["size"] = -5; });
    bad([](json& m) { m["config"]["digest"] = "md5:abc"; });
    CHECK_THROWS_AS(check_manifest(json::array(), "x"), Error);
}

TEST_CASE("configs: diff_ids must be there, one per layer, and digests") {
    json c = {{"rootfs", {{"type", "layers"}, {"diff_ids", {k_d, k_d}}}}, {"config", json::object()}};
    CHECK_NOTHROW(check_config(c, 2, "x"));
    CHECK_THROWS_AS(check_config(c, 3, "x"), Error);
    c["rootfs"]["diff_ids"][1] = "sha256:nothex";
    CHECK_THROWS_AS(check_config(c, 2, "x"), Error);
    CHECK_THROWS_AS(check_config(json{{"config", json::object()}}, 0, "x"), Error);
}

TEST_CASE("indexes: this machine's platform is chosen") {
    std::string arch = host_architecture();
    json idx = {{"manifests",
                 {{{"mediaType", oci::media::oci_manifest}, {"digest", "sha256:" + std::string(64, 'b')}, {"size", 1},
                   {"platform", {{"os", "linux"}, {"architecture", "s390x"}}}},
                  {{"mediaType", oci::media::oci_manifest}, {"digest", "sha256:" + std::string(64, 'c')}, {"size", 1},
                   {"platform", {{"os", "linux"}, {"architecture", arch}}}}}}};
    CHECK(pick_platform(idx, "x").digest.str() == "sha256:" + std::string(64, 'c'));
    idx["manifests"].erase(1);
    CHECK_THROWS_AS(pick_platform(idx, "x"), Error);
    CHECK_THROWS_AS(pick_platform(json{{"manifests", json::array()}}, "x"), Error);
}

TEST_CASE("--cmd: a JSON array is the exec form, anything else runs under /bin/sh -c") {
    CHECK(command_form("[\"/bin/echo\", \"hi there\"]", "--cmd") == std::vector<std::string>{"/bin/echo", "hi there"});
    CHECK(command_form("echo hi; ls", "--cmd") == std::vector<std::string>{"/bin/sh", "-c", "echo hi; ls"});
    CHECK_THROWS_AS(command_form("[not json", "--cmd"), Error);
    CHECK_THROWS_AS(command_form("[1, 2]", "--cmd"), Error);
}

TEST_CASE("runtime spec: args are Entrypoint then Cmd; env, cwd and numeric users carry over") {
    json cfg = {{"config", {{"Entrypoint", {"/bin/tini", "--"}}, {"Cmd", {"/app"}}, {"Env", {"A=1"}}, {"WorkingDir", "/srv"},
                            {"User", "1000:100"}}}};
    json spec = runtime_spec(cfg, "/nonexistent");
    CHECK(spec["process"]["args"] == json({"/bin/tini", "--", "/app"}));
    CHECK(spec["process"]["env"] == json({"A=1"}));
    CHECK(spec["process"]["cwd"] == "/srv");
    CHECK(spec["process"]["user"]["uid"] == 1000);
    CHECK(spec["process"]["user"]["gid"] == 100);
    CHECK(spec["root"]["path"] == "rootfs");
    CHECK(spec["process"]["terminal"] == false);
    // a named user the image does not define is an error, not root
    cfg["config"]["User"] = "nobody-here";
    CHECK_THROWS_AS(runtime_spec(cfg, "/nonexistent"), Error);
    // no command at all
    CHECK_THROWS_AS(runtime_spec(json{{"config", json::object()}}, "/"), Error);
}
