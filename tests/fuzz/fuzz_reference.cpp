// Image references: whatever parses must survive a round trip through its
// full and short forms unchanged.
#include "fuzz.hpp"
#include "reference.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] {
        auto ref = bk::Reference::try_parse(input);
        if (!ref) return;
        auto again = bk::Reference::parse(ref->full());
        FUZZ_CHECK(again.full() == ref->full());
        FUZZ_CHECK(bk::Reference::parse(ref->familiar()).full() == ref->full());
    });
    return 0;
}
