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
