// Manifests and indexes as a registry sends them: any JSON, any content type.
#include "../../tools/regpull/manifest.hpp"
#include "fuzz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    auto doc = nlohmann::json::parse(input, nullptr, false);
    if (doc.is_discarded()) return 0;
    for (const char* type : {"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
                             "application/vnd.docker.distribution.manifest.v2+json",
                             "application/vnd.docker.distribution.manifest.list.v2+json",
                             "application/vnd.docker.distribution.manifest.v1+prettyjws", ""}) {
        fuzz::refusals_only([&] { bk::regpull::parse_manifest(doc, type); });
    }
    fuzz::refusals_only([&] { bk::regpull::parse_platform(input); });
    return 0;
}
