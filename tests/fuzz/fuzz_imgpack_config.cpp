// Image manifests, configs and indexes as imgpack reads them from a store or an archive.
#include "../../tools/imgpack/image.hpp"
#include "../../tools/imgpack/unpack.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    std::string target;
    bool opaque = false;
    bk::imgpack::is_whiteout(input, target, opaque);
    auto doc = nlohmann::json::parse(input, nullptr, false);
    if (doc.is_discarded()) return 0;
    fuzz::refusals_only([&] { bk::imgpack::check_manifest(doc, "fuzz"); });
    fuzz::refusals_only([&] { bk::imgpack::check_config(doc, 2, "fuzz"); });
    fuzz::refusals_only([&] { bk::imgpack::pick_platform(doc, "fuzz"); });
    return 0;
}
