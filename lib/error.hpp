// The one error type every tool throws, and the one shape every message has:
//
//     TOOL: cannot WHY: CALL(ARGS): STRERROR (ERRNAME)
//     TOOL: hint: WHAT TO DO
//
// Low levels throw bk::Error holding the reason, the call and errno. Callers
// may add a hint. Only main() prints it (bk::report) and exits 125.
#pragma once
#include <stdexcept>
#include <string>

namespace bk {

// Exit codes every tool shares (DESIGN.md).
inline constexpr int EXIT_TOOL_FAILED = 125;
inline constexpr int EXIT_CANNOT_EXEC = 126;
inline constexpr int EXIT_NOT_FOUND = 127;

class Error : public std::runtime_error {
public:
    // why:  what we were trying to do, in plain words ("make ./rootfs the root")
    // call: the call as strace would show it, or "" when no call failed
    // err:  errno, or 0 when the failure is not a system call's
    Error(std::string why, std::string call = {}, int err = 0, std::string hint = {});

    // The exit code main() returns for this error: 125 unless the failure is
    // the command's own (126 cannot execute, 127 not found).
    int exit_code() const { return exit_code_; }
    Error& with_exit_code(int code) { exit_code_ = code; return *this; }

    const std::string& why() const { return why_; }
    const std::string& call() const { return call_; }
    int err() const { return err_; }
    const std::string& hint() const { return hint_; }

    // Callers that know better what the user should do next say so here.
    Error& with_hint(std::string hint) { hint_ = std::move(hint); return *this; }

    // "cannot WHY: CALL: STRERROR (ERRNAME)", without the tool's prefix.
    std::string message() const;

private:
    std::string why_, call_, hint_;
    int err_;
    int exit_code_ = EXIT_TOOL_FAILED;
};

// Throw for a failed system call; errno is read here.
[[noreturn]] void throw_errno(const std::string& why, const std::string& call);

// "EINVAL" for EINVAL; "E123" for a number the C library does not name.
std::string errno_name(int err);

// A full disk: no blocks or inodes left (ENOSPC), or a quota used up (EDQUOT),
// with no hint yet (the caller adds which of its places filled up).
bool full_disk_without_hint(const Error& e);

// Print the error (and its hint) on stderr in the one shape, for this tool.
void report(const Error& e);

// Print "TOOL: warning: TEXT" unless -q / BOXKIT_QUIET asked for quiet.
void warn(const std::string& text);

} // namespace bk
