// Running CLI11 the boxkit way: --help and --version print to stdout and exit
// 0; any parse error is one message in the usual shape and exit 125 (never
// CLI11's own exit codes); --explain, -v and -q are on every tool.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bk::cli {

inline constexpr const char* VERSION = "0.1.0";

struct Common {
    bool explain = false;
    bool verbose = false;
    bool quiet = false;
};

// Make an app with boxkit's help layout and the common flags.
//   summary:  one sentence under the usage line
//   footer:   examples and the lesson to read
void setup(CLI::App& app, Common& common, const std::string& footer);

// Parse `args` (argv[0] first, no "--" part). Returns an exit code when the
// tool should stop now (0 after --help/--version, 125 after an error), or
// nothing when it should go on. Applies the common flags to the environment.
std::optional<int> parse(CLI::App& app, const std::vector<std::string>& args, const Common& common);

// Whether a word of `args` (argv[0] first, no "--" part) asks for help:
// --help, or a cluster of short flags with an h (-h, -vh).
bool asks_for_help(const std::vector<std::string>& args);

// Whether the command line may choose the subcommand `name`: a word of it
// is `name`, or it asks for help (which lists every subcommand). CLI11
// matches a subcommand only by a word that is its name, so a tool that
// builds a subcommand only then parses exactly as if it had built them all,
// and spares its start the rest (each costs about 20 us).
bool may_choose(const std::vector<std::string>& args, const std::string& name);

// main() for every tool: name the tool, run `body`, turn a bk::Error (or any
// other exception) into its one message and exit code.
int main_guard(const char* tool, const std::function<int()>& body);

} // namespace bk::cli
