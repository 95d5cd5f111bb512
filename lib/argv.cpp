#include "argv.hpp"

namespace bk {

SplitArgv split_argv(const std::vector<std::string>& args) {
    SplitArgv out;
    size_t i = 0;
    for (; i < args.size(); ++i) {
        // argv[0] is the program's name, never the separator.
        if (i > 0 && args[i] == "--") {
            out.had_separator = true;
            ++i;
            break;
        }
        out.own.push_back(args[i]);
    }
    for (; i < args.size(); ++i) out.command.push_back(args[i]);
    return out;
}

SplitArgv split_argv(int argc, const char* const* argv) {
    return split_argv(std::vector<std::string>(argv, argv + argc));
}

std::vector<char*> to_exec_argv(std::vector<std::string>& args) {
    std::vector<char*> out;
    out.reserve(args.size() + 1);
    for (auto& a : args) out.push_back(a.data());
    out.push_back(nullptr);
    return out;
}

} // namespace bk
