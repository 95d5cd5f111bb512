#include <catch2/catch.hpp>

#include <cstdlib>

#include "explain.hpp"

TEST_CASE("quote escapes like strace", "[explain]") {
    CHECK(bk::quote("a") == "\"a\"");
    CHECK(bk::quote("a\"b") == "\"a\\\"b\"");
    CHECK(bk::quote("x\ny") == "\"x\\ny\"");
    CHECK(bk::quote(std::string("\x01", 1)) == "\"\\x01\"");
}

TEST_CASE("BOXKIT_EXPLAIN turns narration on, 0 or empty turns it off", "[explain]") {
    unsetenv("BOXKIT_EXPLAIN");
    CHECK_FALSE(bk::explaining());
    setenv("BOXKIT_EXPLAIN", "0", 1);
    CHECK_FALSE(bk::explaining());
    bk::enable_explain();
    CHECK(bk::explaining());
    CHECK(std::string(getenv("BOXKIT_EXPLAIN")) == "1");
    unsetenv("BOXKIT_EXPLAIN");
}

#include <sys/wait.h>
#include <unistd.h>

TEST_CASE("BOXKIT_FAULT_KILL_STEP kills the named tool at its Nth narrated step", "[explain]") {
    auto steps_survived = [](const char* tool_env, const char* step) {
        pid_t pid = fork();
        if (pid == 0) {
            bk::set_tool_name("faulty");
            setenv("BOXKIT_FAULT_TOOL", tool_env, 1);
            setenv("BOXKIT_FAULT_KILL_STEP", step, 1);
            int done = 0;
            for (; done < 5; ++done) bk::explain("a step", "call()");
            _exit(done);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    };
    CHECK(steps_survived("faulty", "3") == -SIGKILL);
    CHECK(steps_survived("other", "3") == 5);   // another tool's name: no fault
    CHECK(steps_survived("faulty", "9") == 5);  // past the last step: no fault
}
