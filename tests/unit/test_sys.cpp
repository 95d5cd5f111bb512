#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>

#include "error.hpp"
#include "sys.hpp"

TEST_CASE("mount flags print as strace prints them", "[sys]") {
    CHECK(bk::sys::mount_flags_string(MS_NOSUID | MS_NODEV | MS_NOEXEC) == "MS_NOSUID|MS_NODEV|MS_NOEXEC");
    CHECK(bk::sys::mount_flags_string(MS_REC | MS_PRIVATE) == "MS_REC|MS_PRIVATE");
    CHECK(bk::sys::mount_flags_string(0) == "0");
    CHECK(bk::sys::mount_flags_string(MS_REMOUNT | MS_BIND | MS_RDONLY) == "MS_RDONLY|MS_REMOUNT|MS_BIND");
}

TEST_CASE("clone flags print by name", "[sys]") {
    CHECK(bk::sys::clone_flags_string(CLONE_NEWPID | CLONE_NEWNS) == "CLONE_NEWNS|CLONE_NEWPID");
    CHECK(bk::sys::clone_flags_string(CLONE_NEWUSER) == "CLONE_NEWUSER");
}

TEST_CASE("open flags print the access mode first", "[sys]") {
    CHECK(bk::sys::open_flags_string(O_RDONLY | O_CLOEXEC) == "O_RDONLY|O_CLOEXEC");
    CHECK(bk::sys::open_flags_string(O_PATH | O_DIRECTORY) == "O_PATH|O_DIRECTORY");
    CHECK(bk::sys::open_flags_string(O_WRONLY | O_CREAT | O_EXCL) == "O_WRONLY|O_CREAT|O_EXCL");
}

TEST_CASE("a failing wrapper throws the call, its arguments and errno", "[sys]") {
    try {
        bk::sys::open("read the missing file", "/nonexistent/boxkit", O_RDONLY);
        FAIL("no throw");
    } catch (const bk::Error& e) {
        CHECK(e.why() == "read the missing file");
        CHECK(e.call() == "openat(AT_FDCWD, \"/nonexistent/boxkit\", O_RDONLY|O_CLOEXEC)");
        CHECK(e.err() == ENOENT);
    }
}

TEST_CASE("every fd a wrapper opens is close-on-exec", "[sys]") {
    bk::Fd fd = bk::sys::open("read /dev/null", "/dev/null", O_RDONLY);
    CHECK((fcntl(fd.get(), F_GETFD) & FD_CLOEXEC) != 0);
}
