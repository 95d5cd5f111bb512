#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tempdir.hpp"

TEST_CASE("TempDir removes itself, and does not follow links out", "[tempdir]") {
    bk::TempDir keep_me{"boxkit-keep"};
    std::ofstream(keep_me.path() + "/precious") << "x";
    std::string path;
    {
        bk::TempDir t{"boxkit-test"};
        path = t.path();
        mkdir((path + "/sub").c_str(), 0755);
        std::ofstream(path + "/sub/file") << "y";
        symlink(keep_me.path().c_str(), (path + "/link").c_str());
    }
    struct stat st {};
    CHECK(stat(path.c_str(), &st) != 0);
    CHECK(stat((keep_me.path() + "/precious").c_str(), &st) == 0);
}

TEST_CASE("TempDir::keep leaves it in place", "[tempdir]") {
    std::string path;
    {
        bk::TempDir t{"boxkit-test"};
        path = t.keep();
    }
    struct stat st {};
    CHECK(stat(path.c_str(), &st) == 0);
    bk::remove_tree(path);
    CHECK(stat(path.c_str(), &st) != 0);
}
