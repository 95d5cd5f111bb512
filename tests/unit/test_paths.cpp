#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "paths.hpp"
#include "tempdir.hpp"

TEST_CASE("BOXKIT_STORE, BOXKIT_LAYERS and BOXKIT_RUN override the places", "[paths]") {
    setenv("BOXKIT_STORE", "/tmp/s", 1);
    setenv("BOXKIT_LAYERS", "/tmp/l", 1);
    setenv("BOXKIT_RUN", "/tmp/r", 1);
    CHECK(bk::paths::store() == "/tmp/s");
    CHECK(bk::paths::layers() == "/tmp/l");
    CHECK(bk::paths::boxes() == "/tmp/r");
    unsetenv("BOXKIT_STORE");
    unsetenv("BOXKIT_LAYERS");
    unsetenv("BOXKIT_RUN");
}

TEST_CASE("the defaults follow DESIGN.md for root and XDG for others", "[paths]") {
    if (geteuid() == 0) {
        CHECK(bk::paths::store() == "/var/lib/boxkit/store");
        CHECK(bk::paths::layers() == "/var/lib/boxkit/layers");
        CHECK(bk::paths::boxes() == "/run/boxkit/boxes");
    } else {
        setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
        CHECK(bk::paths::store() == "/tmp/xdg/boxkit/store");
        unsetenv("XDG_DATA_HOME");
    }
}

TEST_CASE("make_dirs creates every level with the mode", "[paths]") {
    bk::TempDir t{"boxkit-paths"};
    std::string deep = t.path() + "/a/b/c";
    bk::paths::make_dirs(deep, 0700);
    struct stat st {};
    REQUIRE(stat(deep.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);
    CHECK_NOTHROW(bk::paths::make_dirs(deep, 0700));  // again: nothing to do
}
