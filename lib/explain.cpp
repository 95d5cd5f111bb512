#include "explain.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

namespace bk {

namespace {
std::string g_tool = "boxkit";

bool env_on(const char* name) {
    const char* v = std::getenv(name);
    return v && *v && std::strcmp(v, "0") != 0;
}
} // namespace

void set_tool_name(std::string name) { g_tool = std::move(name); }
const std::string& tool_name() { return g_tool; }

bool explaining() { return env_on("BOXKIT_EXPLAIN"); }
bool verbose() { return env_on("BOXKIT_VERBOSE"); }
bool quiet() { return env_on("BOXKIT_QUIET"); }

void enable_explain() { setenv("BOXKIT_EXPLAIN", "1", 1); }
void enable_verbose() { setenv("BOXKIT_VERBOSE", "1", 1); }
void enable_quiet() { setenv("BOXKIT_QUIET", "1", 1); }

namespace {
// Fault injection for tests/bats/faults.bats: with BOXKIT_FAULT_TOOL=NAME and
// BOXKIT_FAULT_KILL_STEP=N, the tool NAME dies by SIGKILL just before its
// Nth narrated step, so the tests can check that a tool killed at any step
// leaves nothing behind. Every kernel-level step passes through explain().
void fault_point() {
    const char* tool = std::getenv("BOXKIT_FAULT_TOOL");
    const char* step = std::getenv("BOXKIT_FAULT_KILL_STEP");
    if (!tool || !step || g_tool != tool) return;
    // Each process counts its own steps (a forked child starts again at 1).
    static pid_t counting = 0;
    static long steps = 0;
    if (counting != ::getpid()) {
        counting = ::getpid();
        steps = 0;
    }
    if (++steps == std::strtol(step, nullptr, 10)) ::raise(SIGKILL);
}
} // namespace

void explain(std::string_view why, std::string_view call) {
    fault_point();
    if (!explaining()) return;
    std::fprintf(stderr, "%s: explain: %.*s: %.*s\n", g_tool.c_str(), int(why.size()), why.data(),
                 int(call.size()), call.data());
}

void detail(std::string_view what) {
    if (!verbose()) return;
    std::fprintf(stderr, "%s: %.*s\n", g_tool.c_str(), int(what.size()), what.data());
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02x", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    return out + "\"";
}

} // namespace bk
