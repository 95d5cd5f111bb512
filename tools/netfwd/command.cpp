#include "command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "fd.hpp"

namespace bk::netfwd {

namespace {

std::string shell_words(const std::vector<std::string>& argv) {
    std::string s;
    for (auto& a : argv) {
        if (!s.empty()) s += ' ';
        bool plain = !a.empty() && a.find_first_of(" \t\n\"'\\$;{}()<>|&*?") == std::string::npos;
        s += plain ? a : "'" + a + "'";
    }
    return s;
}

// Read both pipes to the end without either one filling up and stalling the child.
void drain(int out_fd, int err_fd, std::string& out, std::string& err) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    int open = 2;
    char buf[4096];
    while (open > 0) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
            if (n > 0) {
                (i == 0 ? out : err).append(buf, size_t(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i].fd = -1;
                --open;
            }
        }
    }
}

} // namespace

std::string run_command(std::string_view why, const std::vector<std::string>& argv, const RunOptions& how, bool* ok) {
    std::string shown = shell_words(argv);
    if (how.netns_fd >= 0) shown = "nsenter --net=" + how.netns_shown + " " + shown;
    if (!how.input.empty()) {
        std::string text = how.input;
        while (!text.empty() && text.back() == '\n') text.pop_back();
        explain(why, shown + " <<EOF\n" + text + "\nEOF");
    } else {
        explain(why, shown);
    }
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0 || ::pipe2(out, O_CLOEXEC) < 0 || ::pipe2(err, O_CLOEXEC) < 0)
        throw_errno(std::string(why), "pipe2()");
    Fd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]), err_r(err[0]), err_w(err[1]);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno(std::string(why), "fork()");
    if (pid == 0) {
        // Nothing crosses fork(): report here and _exit.
        ::dup2(in_r.get(), 0);
        ::dup2(out_w.get(), 1);
        ::dup2(err_w.get(), 2);
        if (how.netns_fd >= 0 && ::setns(how.netns_fd, CLONE_NEWNET) < 0) {
            dprintf(2, "setns(CLONE_NEWNET): %s\n", std::strerror(errno));
            _exit(125);
        }
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        dprintf(2, "%s: %s\n", args[0], std::strerror(errno));
        _exit(exit_code_for_exec_errno(errno));
    }
    in_r.reset();
    out_w.reset();
    err_w.reset();
    if (!how.input.empty()) {
        // A few hundred bytes of rules: fits the pipe, one write.
        if (::write(in_w.get(), how.input.data(), how.input.size()) < 0) {}
    }
    in_w.reset();
    std::string stdout_text, stderr_text;
    drain(out_r.get(), err_r.get(), stdout_text, stderr_text);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    bool good = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (ok) *ok = good;
    if (!good && !how.quiet_errors) {
        while (!stderr_text.empty() && (stderr_text.back() == '\n' || stderr_text.back() == ' ')) stderr_text.pop_back();
        for (auto& c : stderr_text)
            if (c == '\n') c = ' ';
        std::string hint;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            hint = "install iproute2 and nftables (scripts/install-deps), or use --mode proxy, which needs neither";
        throw Error(std::string(why), shown + ": exit " + std::to_string(exit_code_from_status(status)) +
                                          (stderr_text.empty() ? "" : ": " + stderr_text),
                    0, hint);
    }
    return stdout_text;
}

} // namespace bk::netfwd
