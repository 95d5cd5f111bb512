#include "exec.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "argv.hpp"
#include "error.hpp"
#include "explain.hpp"
#include "sys.hpp"

namespace bk {

int exit_code_for_exec_errno(int err) {
    return (err == ENOENT || err == ENOTDIR) ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
}

int exit_code_from_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return EXIT_TOOL_FAILED;
}

void exec_command(std::vector<std::string> argv, const std::vector<int>& keep, int output_fd) {
    if (argv.empty()) throw Error("run the command", "", 0, "give it after --, for example: -- /bin/sh");
    // Only 0, 1 and 2 go on to the command (fds our parent leaked included),
    // and the fds the user named on purpose.
    sys::cloexec_from("let the command inherit only stdin, stdout and stderr", 3);
    for (int fd : keep) {
        std::string call = "fcntl(" + std::to_string(fd) + ", F_SETFD, 0)";
        explain("let the command keep fd " + std::to_string(fd) + " as asked", call);
        if (::fcntl(fd, F_SETFD, 0) < 0) throw_errno("keep fd " + std::to_string(fd), call);
    }
    std::string shown = "execvp(" + quote(argv[0]) + ", [";
    for (size_t i = 0; i < argv.size(); ++i) shown += (i ? ", " : "") + quote(argv[i]);
    shown += "])";
    explain("replace this process with the command", shown);
    if (output_fd >= 0 && (::dup2(output_fd, 1) < 0 || ::dup2(output_fd, 2) < 0))
        throw_errno("send the command's output to the box's log", "dup2()");
    auto cargv = to_exec_argv(argv);
    ::execvp(cargv[0], cargv.data());
    int err = errno;
    Error e("run " + argv[0], shown, err);
    e.with_exit_code(exit_code_for_exec_errno(err));
    if (err == ENOENT) e.with_hint("check the name; a box looks it up in its own root and on its own PATH");
    throw e;
}

} // namespace bk
