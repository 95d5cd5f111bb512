// chrootify's little languages: --bind SRC:DST[:ro], --user USER[:GROUP],
// --env K=V, --overlay LOWER:LOWER and the overlay option string; and a
// box's /etc/passwd or /etc/group, which a hostile image writes.
#include "../../tools/chrootify/specs.hpp"
#include "fuzz.hpp"

using namespace bk::chrootify;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] {
        auto b = parse_bind(input);
        FUZZ_CHECK(!b.source.empty() && !b.target.empty() && b.target[0] == '/');
    });
    fuzz::refusals_only([&] { parse_user(input); });
    fuzz::refusals_only([&] {
        auto entries = parse_id_file(input);
        for (auto& e : entries) FUZZ_CHECK(!e.name.empty() && e.name.find(':') == std::string::npos);
        UserSpec u;
        u.user_name = entries.empty() ? "x" : entries.front().name;
        resolve_user(u, entries, entries);
    });
    fuzz::refusals_only([&] { check_env(input); });
    fuzz::refusals_only([&] {
        auto lowers = split_lowers(input);
        FUZZ_CHECK(!lowers.empty());
        std::string opts = overlay_options(lowers, "/u", "/w");
        // No lower may smuggle in another mount option.
        FUZZ_CHECK(opts.find(',') == opts.find(",upperdir="));
    });
    return 0;
}
