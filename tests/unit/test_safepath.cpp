#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "error.hpp"
#include "safepath.hpp"
#include "tempdir.hpp"

namespace {

// A root with traps: links that climb out, absolute links, a link to "/".
struct Root {
    bk::TempDir outside{"boxkit-safepath"};
    std::string root = outside.path() + "/root";
    bk::Fd fd;
    Root() {
        mkdir(root.c_str(), 0755);
        mkdir((root + "/etc").c_str(), 0755);
        std::ofstream(root + "/etc/hostname") << "inside\n";
        std::ofstream(outside.path() + "/secret") << "outside\n";
        symlink("../../secret", (root + "/etc/climb").c_str());
        symlink("/etc", (root + "/abs").c_str());
        symlink("/", (root + "/proc").c_str());
        symlink("../../..", (root + "/up").c_str());
        fd = bk::Fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    }
    std::string read(const std::string& path) {
        bk::Fd f = bk::open_in_root(fd.get(), root, path, O_RDONLY);
        char buf[64] = {};
        ssize_t n = ::read(f.get(), buf, sizeof buf - 1);
        return std::string(buf, n > 0 ? size_t(n) : 0);
    }
};

void both_resolvers(void (*check)()) {
    bk::force_walk_resolver(false);
    check();
    bk::force_walk_resolver(true);
    check();
    bk::force_walk_resolver(false);
}

} // namespace

TEST_CASE("clean_path is lexical and never climbs above /", "[safepath]") {
    CHECK(bk::clean_path("a//b/../c") == "/a/c");
    CHECK(bk::clean_path("../../x") == "/x");
    CHECK(bk::clean_path("") == "/");
    CHECK(bk::clean_path("/./") == "/");
}

TEST_CASE("open_in_root keeps every path inside the root", "[safepath]") {
    both_resolvers([] {
        Root r;
        CHECK(r.read("/etc/hostname") == "inside\n");
        CHECK(r.read("../../../etc/hostname") == "inside\n");
        CHECK(r.read("abs/hostname") == "inside\n");       // "/etc" means the root's /etc
        CHECK(r.read("up/etc/hostname") == "inside\n");    // "../../.." stops at the root
        CHECK(r.read("proc/etc/hostname") == "inside\n");  // "proc -> /" is the root itself
        CHECK_THROWS_AS(r.read("etc/climb"), bk::Error);   // "../../secret" is not there inside
    });
}

TEST_CASE("no_symlinks refuses any link on the way", "[safepath]") {
    both_resolvers([] {
        Root r;
        CHECK_THROWS_AS(bk::open_in_root(r.fd.get(), r.root, "proc", O_PATH, {.no_symlinks = true}), bk::Error);
        CHECK_NOTHROW(bk::open_in_root(r.fd.get(), r.root, "etc", O_PATH, {.no_symlinks = true}));
    });
}

TEST_CASE("make_dirs_in_root creates through links, inside the root", "[safepath]") {
    both_resolvers([] {
        Root r;
        bk::make_dirs_in_root(r.fd.get(), r.root, "/up/new/dir", 0755);
        struct stat st {};
        CHECK(stat((r.root + "/new/dir").c_str(), &st) == 0);
        CHECK(stat((r.outside.path() + "/new").c_str(), &st) != 0);
        bk::make_file_in_root(r.fd.get(), r.root, "/abs/made", 0644);
        CHECK(stat((r.root + "/etc/made").c_str(), &st) == 0);
    });
}

TEST_CASE("open_parent_in_root gives the last component unresolved", "[safepath]") {
    Root r;
    std::string leaf;
    bk::Fd parent = bk::open_parent_in_root(r.fd.get(), r.root, "/abs/climb", leaf);
    CHECK(leaf == "climb");
    struct stat st {};
    CHECK(fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK_THROWS_AS(bk::open_parent_in_root(r.fd.get(), r.root, "/..", leaf), bk::Error);
}

TEST_CASE("resolve_path_in_root follows links inside and appends the missing rest", "[safepath]") {
    Root r;
    symlink("../elsewhere", (r.root + "/dangling").c_str());
    CHECK(bk::resolve_path_in_root(r.fd.get(), "/dangling/x") == "/elsewhere/x");
    CHECK(bk::resolve_path_in_root(r.fd.get(), "/abs/new/../hostname") == "/etc/hostname");
    CHECK(bk::resolve_path_in_root(r.fd.get(), "/up/up/etc") == "/etc");
    CHECK(bk::resolve_path_in_root(r.fd.get(), "/proc") == "/");
    CHECK(bk::resolve_path_in_root(r.fd.get(), "/missing/../../..") == "/");
}

TEST_CASE("try_open_in_root answers with errno instead of throwing", "[safepath]") {
    both_resolvers([] {
        Root r;
        errno = 0;
        bk::Fd missing = bk::try_open_in_root(r.fd.get(), "/etc/nothing", O_PATH);
        CHECK_FALSE(missing);
        CHECK(errno == ENOENT);
        bk::Fd link = bk::try_open_in_root(r.fd.get(), "proc", O_PATH, {.no_symlinks = true});
        CHECK_FALSE(link);
        CHECK(errno != ENOENT);  // refused, not missing: chrootify must not mkdir here
        CHECK(bk::try_open_in_root(r.fd.get(), "abs/hostname", O_RDONLY));  // still inside the root
        CHECK_FALSE(bk::try_open_in_root(r.fd.get(), "etc/climb", O_RDONLY));
    });
}
