#include "cli.hpp"

#include <algorithm>

#include <cstdio>
#include <iostream>

#include "error.hpp"
#include "explain.hpp"

namespace bk::cli {

void setup(CLI::App& app, Common& common, const std::string& footer) {
    app.set_version_flag("--version", std::string(VERSION), "Print the version and exit");
    app.add_flag("--explain", common.explain,
                 "Narrate every kernel-level step on stderr (exports BOXKIT_EXPLAIN=1 to the whole chain)");
    app.add_flag("-v,--verbose", common.verbose, "Say more about what happens");
    app.add_flag("-q,--quiet", common.quiet, "Print no warnings");
    if (!footer.empty()) app.footer(footer);
    app.get_formatter()->column_width(32);
}

std::optional<int> parse(CLI::App& app, const std::vector<std::string>& args, const Common& common) {
    std::vector<const char*> argv;
    for (auto& a : args) argv.push_back(a.c_str());
    try {
        app.parse(int(argv.size()), argv.data());
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        return 0;
    } catch (const CLI::CallForVersion&) {
        std::cout << tool_name() << " " << VERSION << "\n";
        return 0;
    } catch (const CLI::ParseError& e) {
        std::string what = e.what();
        std::fprintf(stderr, "%s: cannot understand the command line: %s\n", tool_name().c_str(), what.c_str());
        std::fprintf(stderr, "%s: hint: see '%s --help'\n", tool_name().c_str(), tool_name().c_str());
        return EXIT_TOOL_FAILED;
    }
    if (common.explain) enable_explain();
    if (common.verbose) enable_verbose();
    if (common.quiet) enable_quiet();
    return std::nullopt;
}

int main_guard(const char* tool, const std::function<int()>& body) {
    set_tool_name(tool);
    try {
        return body();
    } catch (const Error& e) {
        report(e);
        return e.exit_code();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: cannot go on: %s\n", tool, e.what());
        return EXIT_TOOL_FAILED;
    }
}

bool asks_for_help(const std::vector<std::string>& args) {
    for (size_t i = 1; i < args.size(); ++i) {
        const std::string& w = args[i];
        if (w == "--help" || (w.size() > 1 && w[0] == '-' && w[1] != '-' && w.find('h') != std::string::npos)) return true;
    }
    return false;
}

bool may_choose(const std::vector<std::string>& args, const std::string& name) {
    return (args.size() > 1 && std::find(args.begin() + 1, args.end(), name) != args.end()) || asks_for_help(args);
}

} // namespace bk::cli
