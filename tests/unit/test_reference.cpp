#include <catch2/catch.hpp>

#include <vector>

#include "error.hpp"
#include "reference.hpp"

using bk::Reference;

namespace {
const std::string k_hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
}

TEST_CASE("references: normalised the way Docker does") {
    struct Case { const char *in, *full, *familiar; };
    const std::string dg = "@sha256:" + k_hex;
    Case cases[] = {
        {"alpine", "docker.io/library/alpine:latest", "alpine:latest"},
        {"alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"},
        {"library/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
        {"docker.io/library/alpine:3.19", "docker.io/library/alpine:3.19", "alpine:3.19"},
        {"index.docker.io/library/alpine", "docker.io/library/alpine:latest", "alpine:latest"},
        {"team/app:1", "docker.io/team/app:1", "team/app:1"},
        {"docker.io/team/app:1", "docker.io/team/app:1", "team/app:1"},
        {"127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1"},
        {"localhost/app", "localhost/app:latest", "localhost/app:latest"},
        {"localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3"},
        {"quay.io/x/y", "quay.io/x/y:latest", "quay.io/x/y:latest"},
        {"my-reg.example.com/a__b/c.d/e--f", "my-reg.example.com/a__b/c.d/e--f:latest",
         "my-reg.example.com/a__b/c.d/e--f:latest"},
        {"library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"},
    };
    for (auto& c : cases) {
        INFO(c.in);
        auto r = Reference::parse(c.in);
        CHECK(r.full() == c.full);
        CHECK(r.familiar() == c.familiar);
        CHECK(Reference::parse(r.full()).full() == r.full());  // the full form is a fixed point
    }
}

TEST_CASE("references: digests, with and without a tag") {
    auto r = Reference::parse("alpine@sha256:" + k_hex);
    CHECK(r.tag.empty());
    CHECK(r.digest.hex() == k_hex);
    CHECK(r.full() == "docker.io/library/alpine@sha256:" + k_hex);
    CHECK(r.familiar() == "alpine@sha256:" + k_hex);
    auto both = Reference::parse("127.0.0.1:5000/app:1@sha256:" + k_hex);
    CHECK(both.domain == "127.0.0.1:5000");
    CHECK(both.path == "app");
    CHECK(both.tag == "1");
    CHECK(both.full() == "127.0.0.1:5000/app:1@sha256:" + k_hex);
}

TEST_CASE("references: the parts") {
    auto r = Reference::parse("127.0.0.1:5000/team/app:1");
    CHECK(r.domain == "127.0.0.1:5000");
    CHECK(r.path == "team/app");
    CHECK(r.tag == "1");
    CHECK(r.name() == "127.0.0.1:5000/team/app");
    CHECK(r.familiar_name() == "127.0.0.1:5000/team/app");
    CHECK(Reference::parse("alpine") == Reference::parse("docker.io/library/alpine:latest"));
    CHECK_FALSE(Reference::parse("alpine:3") == Reference::parse("alpine:4"));
}

TEST_CASE("references: bad names are refused with a reason") {
    for (std::string bad : std::vector<std::string>{"", ":", ":tag", "Alpine", "alpine:", "alpine:-x", "alpine:.x", "alpine@sha256:../../x",
                            "alpine@sha256:" + k_hex.substr(1), "alpine@md5:abc", "a//b", "/alpine", "alpine/",
                            "a..b", "a_-b", "-a", "a-", "host:99999999/a", "ho_st:5000/a", "a b", "a\nb",
                            "../../etc", "alpine:" + std::string(129, 't'), k_hex,
                            "x.io/" + std::string(260, 'a')}) {
        INFO(bad);
        CHECK_FALSE(Reference::try_parse(bad));
        CHECK_THROWS_AS(Reference::parse(bad), bk::Error);
    }
    try {
        Reference::parse("Alpine");
        FAIL("no throw");
    } catch (const bk::Error& e) {
        CHECK(e.message().find("lowercase") != std::string::npos);
        CHECK(!e.hint().empty());
    }
}

TEST_CASE("references: an uppercase first part is a registry host, as in Docker") {
    auto r = Reference::parse("Example.com/app");
    CHECK(r.domain == "Example.com");
    CHECK(r.path == "app");
}

TEST_CASE("a docker.io path whose first part looks like a host keeps docker.io in its short form", "[reference]") {
    // Found by tests/fuzz/fuzz_reference: the short form must read back as the same image.
    auto r = bk::Reference::parse("docker.io/li.io/library/x:t");
    CHECK(r.domain == "docker.io");
    CHECK(r.familiar() == "docker.io/li.io/library/x:t");
    CHECK(bk::Reference::parse(r.familiar()).full() == r.full());
    CHECK(bk::Reference::parse("docker.io/localhost/app").familiar() == "docker.io/localhost/app:latest");
    CHECK(bk::Reference::parse("docker.io/team/app:1").familiar() == "team/app:1");
}
