// Chain-loading splits argv at the first "--": the tool parses what comes
// before it, and the rest is the command, never parsed (DESIGN.md).
#pragma once
#include <string>
#include <vector>

namespace bk {

struct SplitArgv {
    std::vector<std::string> own;      // argv[0] and the tool's own options
    std::vector<std::string> command;  // everything after the first "--"
    bool had_separator = false;        // whether "--" was there at all
};

SplitArgv split_argv(int argc, const char* const* argv);
SplitArgv split_argv(const std::vector<std::string>& args);

// argv for exec: pointers into `args`, ending in nullptr.
std::vector<char*> to_exec_argv(std::vector<std::string>& args);

} // namespace bk
