#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.hpp"
#include "process.hpp"

TEST_CASE("Child::wait returns the child's status", "[process]") {
    pid_t pid = fork();
    if (pid == 0) _exit(9);
    bk::Child child(pid);
    CHECK(bk::exit_code_from_status(child.wait()) == 9);
    CHECK_FALSE(child);
}

TEST_CASE("a Child still running when its owner goes is killed and reaped", "[process]") {
    pid_t pid;
    {
        pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        bk::Child child(pid);
    }
    // Reaped: no such child any more.
    CHECK(waitpid(pid, nullptr, WNOHANG) == -1);
}

TEST_CASE("forwarded signals reach the child", "[process]") {
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        pause();
        _exit(0);
    }
    bk::Child child(pid);
    bk::forward_signals_to(pid);
    usleep(50 * 1000);
    kill(getpid(), SIGTERM);  // to us; the handler passes it on
    int status = child.wait();
    bk::restore_signals();
    CHECK(bk::exit_code_from_status(status) == 128 + SIGTERM);
}

TEST_CASE("what a terminal sent the whole process group is known, and not sent twice", "[process]") {
    siginfo_t from_terminal{};
    from_terminal.si_code = SI_KERNEL;  // the tty driver's ^C, ^\ or resize
    siginfo_t from_kill{};
    from_kill.si_code = SI_USER;        // kill(2): for us alone, as far as we can tell
    pid_t me = getpid();
    for (int sig : {SIGINT, SIGQUIT, SIGWINCH}) {
        CHECK(bk::terminal_sent_it_too(sig, from_terminal, me));
        CHECK_FALSE(bk::terminal_sent_it_too(sig, from_kill, me));
    }
    // A hang-up goes to the session leader alone; TERM never comes from a terminal.
    CHECK_FALSE(bk::terminal_sent_it_too(SIGHUP, from_terminal, me));
    CHECK_FALSE(bk::terminal_sent_it_too(SIGTERM, from_terminal, me));
    // A child in a process group of its own had no copy.
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        pause();
        _exit(0);
    }
    bk::Child child(pid);
    setpgid(pid, pid);  // (either of us may get there first)
    CHECK_FALSE(bk::terminal_sent_it_too(SIGINT, from_terminal, pid));
    CHECK(bk::terminal_sent_it_to_group(SIGINT, from_terminal, getpgrp()));
    CHECK_FALSE(bk::terminal_sent_it_to_group(SIGINT, from_terminal, pid));
}

TEST_CASE("exit_like dies by the child's signal, or exits with its code", "[process]") {
    auto run = [](int child_status_code, bool by_signal) {
        pid_t pid = fork();
        if (pid == 0) {
            int status = by_signal ? SIGUSR1 : (child_status_code << 8);
            bk::exit_like(status);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        return status;
    };
    int s = run(0, true);
    CHECK(WIFSIGNALED(s));
    CHECK(WTERMSIG(s) == SIGUSR1);
    s = run(3, false);
    CHECK(WIFEXITED(s));
    CHECK(WEXITSTATUS(s) == 3);
}
