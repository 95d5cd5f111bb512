// Content digests: the names of everything in an OCI store.
//
// A digest is "sha256:" and 64 lowercase hex digits, and nothing else. It is
// parsed strictly because it becomes a file name (blobs/sha256/<hex>): a
// registry or an archive that says "sha256:../../etc/passwd" must be refused
// here, before any path is built from it. SHA-256 is computed as data streams
// (OpenSSL EVP, which uses the CPU's SHA instructions: ~1.5 GB/s here).
// See the OCI image spec, descriptor.md ("Digests").
//
//     bk::Digest d = bk::Digest::parse("sha256:e3b0...b855");   // throws on junk
//     bk::Sha256 h; h.update(buf, n); ...; bk::Digest got = h.finish();
//     if (got != d) ...
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bk {

class Digest {
public:
    Digest() = default;  // empty: "no digest" (valid() is false)

    // Strict: "sha256:" + 64 of [0-9a-f]. Throws bk::Error (exit 125) naming
    // the accepted form. `what` names the input in the message ("the layer digest").
    static Digest parse(std::string_view text, std::string_view what = "digest");
    static std::optional<Digest> try_parse(std::string_view text);
    static bool is_valid(std::string_view text);
    // From 64 hex digits alone (a blob's file name), same strictness.
    static std::optional<Digest> from_hex(std::string_view hex);

    bool valid() const { return !text_.empty(); }
    const std::string& str() const { return text_; }     // "sha256:<hex>"
    std::string_view algorithm() const { return "sha256"; }
    std::string_view hex() const { return std::string_view(text_).substr(7); }
    std::string short_id() const { return std::string(hex().substr(0, 12)); }  // docker's IMAGE ID

    bool operator==(const Digest& o) const { return text_ == o.text_; }
    bool operator!=(const Digest& o) const { return text_ != o.text_; }
    bool operator<(const Digest& o) const { return text_ < o.text_; }

private:
    std::string text_;
};

// Streaming SHA-256. Move-only; finish() once.
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(Sha256&& o) noexcept;
    Sha256& operator=(Sha256&&) = delete;
    Sha256(const Sha256&) = delete;

    void update(const void* data, size_t size);
    void update(std::string_view data) { update(data.data(), data.size()); }
    Digest finish();
    uint64_t bytes() const { return bytes_; }  // how much went in so far

private:
    void* ctx_ = nullptr;  // EVP_MD_CTX*, kept out of the header
    uint64_t bytes_ = 0;
};

Digest sha256_of(std::string_view data);
// The digest of everything readable from fd (from its current offset).
Digest sha256_of_fd(int fd, const std::string& shown);

} // namespace bk
