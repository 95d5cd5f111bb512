// WWW-Authenticate headers from a registry (hostile by assumption), and Retry-After.
#include "../../tools/regpull/auth.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] { bk::regpull::parse_www_authenticate(input); });
    return 0;
}
