#include "digest.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "error.hpp"

namespace bk {

namespace {
bool is_lower_hex(std::string_view s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}
} // namespace

bool Digest::is_valid(std::string_view text) {
    return text.size() == 71 && text.substr(0, 7) == "sha256:" && is_lower_hex(text.substr(7));
}

std::optional<Digest> Digest::try_parse(std::string_view text) {
    if (!is_valid(text)) return std::nullopt;
    Digest d;
    d.text_ = std::string(text);
    return d;
}

std::optional<Digest> Digest::from_hex(std::string_view hex) {
    if (!is_lower_hex(hex)) return std::nullopt;
    Digest d;
    d.text_ = "sha256:" + std::string(hex);
    return d;
}

Digest Digest::parse(std::string_view text, std::string_view what) {
    if (auto d = try_parse(text)) return *d;
    std::string shown(text.substr(0, 100));
    throw Error("use " + std::string(what) + " \"" + shown + "\": not a sha256 digest", "", EINVAL,
                "a digest is sha256: followed by 64 lowercase hex digits");
}

Sha256::Sha256() {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(c);
        throw Error("start a SHA-256 digest", "EVP_DigestInit_ex()", ENOMEM);
    }
    ctx_ = c;
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256::Sha256(Sha256&& o) noexcept : ctx_(std::exchange(o.ctx_, nullptr)), bytes_(o.bytes_) {}

void Sha256::update(const void* data, size_t size) {
    if (size == 0) return;
    EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, size);
    bytes_ += size;
}

Digest Sha256::finish() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n);
    static const char* hexdig = "0123456789abcdef";
    std::string hex;
    hex.reserve(64);
    for (unsigned i = 0; i < n; ++i) {
        hex += hexdig[md[i] >> 4];
        hex += hexdig[md[i] & 15];
    }
    return *Digest::from_hex(hex);
}

Digest sha256_of(std::string_view data) {
    Sha256 h;
    h.update(data);
    return h.finish();
}

Digest sha256_of_fd(int fd, const std::string& shown) {
    Sha256 h;
    std::vector<char> buf(1 << 20);
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read " + shown + " to digest it", "read(" + shown + ")");
        if (n == 0) break;
        h.update(buf.data(), size_t(n));
    }
    return h.finish();
}

} // namespace bk
