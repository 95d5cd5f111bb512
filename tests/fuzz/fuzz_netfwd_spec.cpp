// netfwd's port specs ([HOST_IP:]HOST_PORT:BOX_PORT[/tcp|/udp]) and subnets.
#include "../../tools/netfwd/spec.hpp"
#include "fuzz.hpp"

using namespace bk::netfwd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input = fuzz::text(data, size);
    fuzz::refusals_only([&] { parse_port_spec(input); });
    fuzz::refusals_only([&] { parse_cidr(input); });
    fuzz::refusals_only([&] { parse_link_subnet(input); });
    return 0;
}
