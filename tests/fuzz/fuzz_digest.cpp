// Digests become file names (blobs/sha256/<hex>): whatever parses must be
// exactly "sha256:" and 64 lowercase hex digits, with no way to a "/".
#include "digest.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] {
        auto d = bk::Digest::try_parse(input);
        if (!d) return;
        std::string s = d->str();
        FUZZ_CHECK(s == input);
        FUZZ_CHECK(s.size() == 71 && s.rfind("sha256:", 0) == 0);
        for (char c : s.substr(7)) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    });
    return 0;
}
