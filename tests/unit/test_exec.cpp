#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "error.hpp"
#include "exec.hpp"

namespace {
int status_of(void (*child)()) {
    pid_t pid = fork();
    if (pid == 0) {
        child();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}
} // namespace

TEST_CASE("exit_code_from_status: exit codes pass through", "[exec]") {
    CHECK(bk::exit_code_from_status(status_of([] { _exit(0); })) == 0);
    CHECK(bk::exit_code_from_status(status_of([] { _exit(1); })) == 1);
    CHECK(bk::exit_code_from_status(status_of([] { _exit(255); })) == 255);
}

TEST_CASE("exit_code_from_status: a signal is 128+S", "[exec]") {
    CHECK(bk::exit_code_from_status(status_of([] { raise(SIGKILL); })) == 128 + SIGKILL);
    CHECK(bk::exit_code_from_status(status_of([] { signal(SIGTERM, SIG_DFL); raise(SIGTERM); })) == 128 + SIGTERM);
}

TEST_CASE("exit_code_for_exec_errno: not found is 127, the rest 126", "[exec]") {
    CHECK(bk::exit_code_for_exec_errno(ENOENT) == 127);
    CHECK(bk::exit_code_for_exec_errno(ENOTDIR) == 127);
    CHECK(bk::exit_code_for_exec_errno(EACCES) == 126);
    CHECK(bk::exit_code_for_exec_errno(ENOEXEC) == 126);
}

TEST_CASE("exec_command of a missing program throws with exit code 127", "[exec]") {
    try {
        bk::exec_command({"/nonexistent/boxkit-test"});
        FAIL("returned");
    } catch (const bk::Error& e) {
        CHECK(e.exit_code() == 127);
        CHECK(e.err() == ENOENT);
    }
}

#include <fcntl.h>

#include <fstream>
#include <sstream>

#include "tempdir.hpp"

TEST_CASE("exec_command sends stdout and stderr to output_fd, and keeps asked fds", "[exec]") {
    bk::TempDir t{"boxkit-exec"};
    std::string log = t.path() + "/log";
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        int kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
        dup2(kept, 9);  // fd 9, close-on-exec cleared by dup2; cloexec_from sets it again
        try {
            bk::exec_command({"/bin/sh", "-c", "echo out; echo err >&2; test -e /proc/self/fd/9 && echo kept"}, {9}, fd);
        } catch (...) {
        }
        _exit(99);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "out\nerr\nkept\n");
}
