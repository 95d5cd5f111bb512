#include "safepath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

#include "error.hpp"
#include "explain.hpp"

namespace bk {

namespace {

bool g_force_walk = false;
constexpr int k_max_links = 40;  // the kernel's own limit (path_resolution(7))

std::deque<std::string> split(const std::string& path) {
    std::deque<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        std::string part = path.substr(start, end - start);
        if (!part.empty() && part != ".") parts.push_back(part);
        start = end + 1;
    }
    return parts;
}

std::string call_text(const std::string& shown, const std::string& path, int flags) {
    return "openat2(" + quote(shown) + ", " + quote(path) + ", {flags=" + std::to_string(flags) +
           ", resolve=RESOLVE_IN_ROOT})";
}

[[noreturn]] void fail(const std::string& shown, const std::string& path, int flags, int err) {
    throw Error("open " + clean_path(path) + " inside " + shown, call_text(shown, path, flags), err);
}

// The user-space walk: the same answers as RESOLVE_IN_ROOT.
int walk(int root_fd, const std::string& path, int flags, mode_t mode, InRoot how) {
    std::deque<std::string> todo = split(path);
    std::vector<Fd> stack;  // open directories below the root; empty = at the root
    int links = 0;
    auto cur = [&] { return stack.empty() ? root_fd : stack.back().get(); };
    while (!todo.empty()) {
        std::string part = todo.front();
        todo.pop_front();
        if (part == "..") {
            if (!stack.empty()) stack.pop_back();  // ".." at the root stays at the root
            continue;
        }
        bool last = todo.empty();
        int fd = ::openat(cur(), part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (last && errno == ENOENT && (flags & O_CREAT))
                return ::openat(cur(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
            return -1;
        }
        Fd next(fd);
        struct stat st {};
        if (::fstat(next.get(), &st) < 0) return -1;
        if (S_ISLNK(st.st_mode)) {
            if (how.no_symlinks || ++links > k_max_links || (last && (flags & O_NOFOLLOW))) {
                errno = ELOOP;
                return -1;
            }
            char target[4096];
            ssize_t n = ::readlinkat(next.get(), "", target, sizeof target - 1);
            if (n < 0) return -1;
            target[n] = 0;
            auto parts = split(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            if (target[0] == '/') stack.clear();  // absolute: from the root, not the host's "/"
            continue;
        }
        if (last) return ::openat(cur(), part.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
        if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
        stack.push_back(std::move(next));
    }
    // The path ended on the root or on "..": open that directory itself.
    return ::openat(cur(), ".", flags | O_CLOEXEC, mode);
}

int resolve(int root_fd, const std::string& path, int flags, mode_t mode, InRoot how) {
    if (!g_force_walk) {
        struct open_how oh {};
        oh.flags = unsigned(flags | O_CLOEXEC);
        oh.mode = (flags & O_CREAT) ? mode : 0;
        oh.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (how.no_symlinks ? RESOLVE_NO_SYMLINKS : 0);
        for (int tries = 0; tries < 8; ++tries) {
            long fd = ::syscall(SYS_openat2, root_fd, path.c_str(), &oh, sizeof oh);
            if (fd >= 0) return int(fd);
            if (errno == EAGAIN) continue;  // a rename raced with ".." resolution: try again
            if (errno != ENOSYS) return -1;
            break;
        }
    }
    return walk(root_fd, path, flags, mode, how);
}

} // namespace

std::string resolve_path_in_root(int root_fd, const std::string& path) {
    std::deque<std::string> todo = split(path);
    std::vector<std::string> names;  // the resolved path so far, below the root
    std::vector<Fd> dirs;            // an open fd for each of names
    int links = 0;
    while (!todo.empty()) {
        std::string part = todo.front();
        todo.pop_front();
        if (part == "..") {
            if (!names.empty()) { names.pop_back(); dirs.pop_back(); }
            continue;
        }
        int cur = dirs.empty() ? root_fd : dirs.back().get();
        Fd next(::openat(cur, part.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!next) {
            if (errno != ENOENT) throw_errno("resolve " + path, "openat(" + quote(part) + ")");
            // Nothing there: the rest is taken as it is written (".." still
            // cannot climb above the root).
            names.push_back(part);
            for (auto& rest : todo) {
                if (rest == "..") { if (!names.empty()) names.pop_back(); }
                else names.push_back(rest);
            }
            break;
        }
        struct stat st {};
        if (::fstat(next.get(), &st) < 0) throw_errno("resolve " + path, "fstat()");
        if (S_ISLNK(st.st_mode)) {
            if (++links > k_max_links) throw Error("resolve " + path, "", ELOOP);
            char target[4096];
            ssize_t n = ::readlinkat(next.get(), "", target, sizeof target - 1);
            if (n < 0) throw_errno("resolve " + path, "readlinkat()");
            target[n] = 0;
            auto parts = split(target);
            todo.insert(todo.begin(), parts.begin(), parts.end());
            if (target[0] == '/') { names.clear(); dirs.clear(); }
            continue;
        }
        names.push_back(part);
        dirs.push_back(std::move(next));
    }
    std::string out;
    for (auto& n : names) out += "/" + n;
    return out.empty() ? "/" : out;
}

void force_walk_resolver(bool on) { g_force_walk = on; }

std::string clean_path(const std::string& path) {
    std::vector<std::string> out;
    for (auto& part : split(path)) {
        if (part == "..") {
            if (!out.empty()) out.pop_back();
        } else {
            out.push_back(part);
        }
    }
    std::string s;
    for (auto& p : out) s += "/" + p;
    return s.empty() ? "/" : s;
}

Fd open_in_root(int root_fd, const std::string& shown, const std::string& path, int flags, InRoot how) {
    int fd = resolve(root_fd, path, flags, 0, how);
    if (fd < 0) fail(shown, path, flags, errno);
    return Fd(fd);
}

Fd try_open_in_root(int root_fd, const std::string& path, int flags, InRoot how) {
    return Fd(resolve(root_fd, path, flags, 0, how));
}

Fd open_parent_in_root(int root_fd, const std::string& shown, const std::string& path, std::string& leaf) {
    std::string cleaned = clean_path(path);
    if (cleaned == "/") throw Error("use " + shown + " itself as " + path, "", EINVAL);
    // ".." is taken lexically here (it cannot climb above the root either way);
    // the parent is then resolved, symlinks followed inside the root, so
    // "a/link/b" names b wherever link leads, still in the root.
    auto parts = split(cleaned);
    leaf = parts.back();
    parts.pop_back();
    std::string parent;
    for (auto& p : parts) parent += "/" + p;
    return open_in_root(root_fd, shown, parent.empty() ? "/" : parent, O_PATH | O_DIRECTORY);
}

Fd make_dirs_in_root(int root_fd, const std::string& shown, const std::string& path, mode_t mode) {
    // Resolve first, so a dangling link (up -> ../elsewhere) makes its target
    // inside the root; every mkdirat then goes through a parent fd opened in
    // the root, so a link swapped in meanwhile cannot lead out either.
    std::string resolved = resolve_path_in_root(root_fd, path);
    std::string prefix;
    for (auto& part : split(resolved)) {
        prefix += "/" + part;
        int fd = resolve(root_fd, prefix, O_PATH | O_DIRECTORY, 0, {});
        if (fd >= 0) {
            ::close(fd);
            continue;
        }
        if (errno != ENOENT) fail(shown, prefix, O_PATH | O_DIRECTORY, errno);
        std::string leaf;
        Fd parent = open_parent_in_root(root_fd, shown, prefix, leaf);
        std::string call = "mkdirat(" + quote(shown + prefix) + ")";
        explain("make the directory the mount needs", call);
        if (::mkdirat(parent.get(), leaf.c_str(), mode) < 0 && errno != EEXIST)
            throw_errno("make " + prefix + " inside " + shown, call);
    }
    return open_in_root(root_fd, shown, resolved, O_PATH | O_DIRECTORY);
}

Fd make_file_in_root(int root_fd, const std::string& shown, const std::string& path, mode_t mode) {
    std::string resolved = resolve_path_in_root(root_fd, path);
    int fd = resolve(root_fd, resolved, O_PATH, 0, {});
    if (fd >= 0) return Fd(fd);
    if (errno != ENOENT) fail(shown, resolved, O_PATH, errno);
    auto slash = resolved.rfind('/');
    if (slash > 0) make_dirs_in_root(root_fd, shown, resolved.substr(0, slash), 0755);
    std::string leaf;
    Fd parent = open_parent_in_root(root_fd, shown, resolved, leaf);
    std::string call = "openat(" + quote(shown + resolved) + ", O_CREAT|O_EXCL)";
    explain("make the file the mount needs", call);
    int created = ::openat(parent.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (created < 0 && errno != EEXIST) throw_errno("make " + resolved + " inside " + shown, call);
    if (created >= 0) ::close(created);
    return open_in_root(root_fd, shown, resolved, O_PATH);
}

} // namespace bk
