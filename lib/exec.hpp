// The last step of every chain-loader, and the exit codes of the command:
// 126 when it was found but could not be executed, 127 when it was not found,
// 128+S when it was killed by signal S.
#pragma once
#include <string>
#include <vector>

namespace bk {

// execvp(3) the command, after marking every fd above 2 close-on-exec but
// those in `keep` (nsjail-lite --keep-fd). With `output_fd`, the command's
// stdout and stderr go there (a detached box's log), after the last line of
// narration has reached the terminal. Never returns: on failure throws
// bk::Error with exit code 126 or 127.
[[noreturn]] void exec_command(std::vector<std::string> argv, const std::vector<int>& keep = {},
                               int output_fd = -1);

// The exit code a shell would report for a wait(2) status.
int exit_code_from_status(int status);

// The exit code for a failed execvp's errno: 127 for ENOENT/ENOTDIR, else 126.
int exit_code_for_exec_errno(int err);

} // namespace bk
