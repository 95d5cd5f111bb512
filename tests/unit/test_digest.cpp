#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "digest.hpp"
#include "error.hpp"

using bk::Digest;

namespace {
const std::string k_empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const std::string k_abc = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
} // namespace

TEST_CASE("digests: only sha256 and 64 lowercase hex digits are accepted") {
    CHECK(Digest::is_valid(k_empty));
    CHECK(Digest::parse(k_empty).hex() == k_empty.substr(7));
    CHECK(Digest::parse(k_empty).short_id() == "e3b0c44298fc");
    for (std::string bad : std::vector<std::string>{"", "sha256:", "sha256:../../etc/passwd", "sha256:../../x", "sha512:" + k_empty.substr(7),
                            "SHA256:" + k_empty.substr(7), "sha256:" + k_empty.substr(8),
                            "sha256:" + k_empty.substr(7) + "0", "sha256:E3B0" + k_empty.substr(11),
                            k_empty.substr(7), "sha256:" + std::string(63, 'a') + "/", k_empty + "\n",
                            "sha256:" + std::string(64, 'g'), std::string("sha256:") + std::string(63, 'a') + '\0'}) {
        INFO(bad);
        CHECK_FALSE(Digest::is_valid(bad));
        CHECK_FALSE(Digest::try_parse(bad));
        CHECK_THROWS_AS(Digest::parse(bad), bk::Error);
    }
}

TEST_CASE("digests: a refused digest says what a digest is") {
    try {
        Digest::parse("sha256:../../x", "the layer digest");
        FAIL("no throw");
    } catch (const bk::Error& e) {
        CHECK(e.exit_code() == 125);
        CHECK(e.message().find("the layer digest") != std::string::npos);
        CHECK(e.hint().find("64 lowercase hex") != std::string::npos);
    }
}

TEST_CASE("digests: from_hex is as strict") {
    CHECK(Digest::from_hex(k_empty.substr(7))->str() == k_empty);
    CHECK_FALSE(Digest::from_hex("../x"));
    CHECK_FALSE(Digest::from_hex(".tmp-123"));
}

TEST_CASE("sha256: known answers, streamed in pieces or whole") {
    CHECK(bk::sha256_of("").str() == k_empty);
    CHECK(bk::sha256_of("abc").str() == k_abc);
    bk::Sha256 h;
    h.update("a");
    h.update("");
    h.update("bc");
    CHECK(h.bytes() == 3);
    CHECK(h.finish().str() == k_abc);
    std::string big(3 << 20, 'x');
    bk::Sha256 pieces;
    for (size_t i = 0; i < big.size(); i += 4099) pieces.update(std::string_view(big).substr(i, 4099));
    CHECK(pieces.finish() == bk::sha256_of(big));
}

TEST_CASE("sha256: of a file descriptor") {
    char path[] = "/tmp/boxkit-digest-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "abc", 3) == 3);
    lseek(fd, 0, SEEK_SET);
    CHECK(bk::sha256_of_fd(fd, path).str() == k_abc);
    close(fd);
    unlink(path);
}
