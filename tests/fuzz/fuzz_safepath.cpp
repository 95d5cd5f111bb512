// The in-root resolver, the guard every tar entry name, link target and
// mount target goes through. The input is "LINK_TARGET\0PATH": a symlink
// with that target is planted in a root (beside links that climb out), then
// PATH is resolved. Whatever opens must be inside the root, and the kernel's
// openat2(RESOLVE_IN_ROOT) and our user-space walk must agree.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "fuzz.hpp"
#include "safepath.hpp"

namespace {
std::string g_top, g_root;
int g_root_fd = -1;

void setup() {
    char tmpl[] = "/tmp/boxkit-fuzz-safepath.XXXXXX";
    g_top = mkdtemp(tmpl);
    g_root = g_top + "/root";
    mkdir(g_root.c_str(), 0755);
    mkdir((g_root + "/etc").c_str(), 0755);
    mkdir((g_top + "/outside").c_str(), 0755);
    symlink("../../outside", (g_root + "/etc/climb").c_str());
    symlink("/etc", (g_root + "/abs").c_str());
    symlink("/", (g_root + "/proc").c_str());
    g_root_fd = open(g_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
}

// Where an fd really is, from the kernel.
std::string where(int fd) {
    char link[64], buf[PATH_MAX + 1] = {};
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, PATH_MAX);
    return n > 0 ? std::string(buf, size_t(n)) : "";
}

bool inside(const std::string& path) { return path == g_root || path.rfind(g_root + "/", 0) == 0; }

// (opened, inode) under one resolver.
std::pair<bool, ino_t> open_with(bool walk, const std::string& path) {
    bk::force_walk_resolver(walk);
    try {
        bk::Fd fd = bk::open_in_root(g_root_fd, "root", path, O_PATH);
        FUZZ_CHECK(inside(where(fd.get())));
        struct stat st {};
        fstat(fd.get(), &st);
        return {true, st.st_ino};
    } catch (const bk::Error&) {
        return {false, 0};
    }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (g_root_fd < 0) setup();
    std::string input = fuzz::text(data, size);
    if (input.find('\0') == std::string::npos) input = "x" + std::string(1, '\0') + input;
    std::string target = input.substr(0, input.find('\0'));
    std::string path = input.substr(input.find('\0') + 1);
    if (target.empty() || path.find('\0') != std::string::npos || target.size() > 1024 || path.size() > 1024) return 0;
    unlink((g_root + "/dyn").c_str());
    if (symlink(target.c_str(), (g_root + "/dyn").c_str()) != 0) return 0;

    auto kernel = open_with(false, "dyn/" + path);
    auto walked = open_with(true, "dyn/" + path);
    FUZZ_CHECK(kernel.first == walked.first);
    FUZZ_CHECK(kernel.second == walked.second);

    fuzz::refusals_only([&] {
        std::string resolved = bk::resolve_path_in_root(g_root_fd, "dyn/" + path);
        FUZZ_CHECK(!resolved.empty() && resolved[0] == '/');
        FUZZ_CHECK(resolved.find("/../") == std::string::npos && resolved.find("/./") == std::string::npos);
        FUZZ_CHECK(resolved.size() < 3 || resolved.compare(resolved.size() - 3, 3, "/..") != 0);
    });
    bk::force_walk_resolver(false);
    return 0;
}
