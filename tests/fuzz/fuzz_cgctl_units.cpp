// cgctl's units: sizes (K/M/G, Ki/Mi/Gi), CPUs, cpusets, weights, counts and io.max specs.
#include "../../tools/cgctl/limits.hpp"
#include "fuzz.hpp"

using namespace bk::cgctl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] { parse_size(input, "--memory"); });
    fuzz::refusals_only([&] {
        double cpus = parse_cpus(input);
        FUZZ_CHECK(cpus > 0);
    });
    fuzz::refusals_only([&] { parse_cpuset(input); });
    fuzz::refusals_only([&] { parse_weight(input, "--cpu-weight"); });
    fuzz::refusals_only([&] { parse_count(input, "--pids"); });
    fuzz::refusals_only([&] { parse_io_max(input); });
    return 0;
}
