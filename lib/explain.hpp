// --explain, the teaching voice: before each kernel-level action, one line on
// stderr with the reason in plain words and the call as strace shows it.
//
//     chrootify: explain: enter the new root: chroot("./rootfs")
//
// --explain exports BOXKIT_EXPLAIN=1, so one flag at the head of a chain
// narrates every tool after it. -v and -q travel the same way.
#pragma once
#include <string>
#include <string_view>

namespace bk {

// The name every message starts with; set once, first thing in main().
void set_tool_name(std::string name);
const std::string& tool_name();

// Read BOXKIT_EXPLAIN / BOXKIT_VERBOSE / BOXKIT_QUIET from the environment.
bool explaining();
bool verbose();
bool quiet();

// Turn narration on for this tool and everything it execs.
void enable_explain();
void enable_verbose();
void enable_quiet();

// Print "TOOL: explain: WHY: CALL" when explaining.
void explain(std::string_view why, std::string_view call);

// Print "TOOL: WHAT" when -v was given (detail that is not a kernel call).
void detail(std::string_view what);

// Quote a string the way strace does: "a\nb" with C escapes.
std::string quote(std::string_view s);

} // namespace bk
