#include "tempdir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "error.hpp"
#include "fd.hpp"

namespace bk {

namespace {

void remove_children(int dirfd, dev_t dev, const std::string& shown) {
    int copy = ::dup(dirfd);
    if (copy < 0) throw_errno("read " + shown, "dup()");
    DIR* dir = ::fdopendir(copy);
    if (!dir) {
        ::close(copy);
        throw_errno("read " + shown, "fdopendir()");
    }
    std::vector<std::string> names;
    while (dirent* e = ::readdir(dir)) {
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.emplace_back(e->d_name);
    }
    ::closedir(dir);
    for (auto& name : names) {
        struct stat st {};
        if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
        std::string path = shown + "/" + name;
        if (S_ISDIR(st.st_mode)) {
            if (st.st_dev != dev) throw Error("remove " + path, "", EBUSY, "something is mounted there; unmount it first");
            Fd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) throw_errno("remove " + path, "openat(" + path + ")");
            remove_children(sub.get(), dev, path);
            if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0) throw_errno("remove " + path, "rmdir(" + path + ")");
        } else if (::unlinkat(dirfd, name.c_str(), 0) < 0) {
            throw_errno("remove " + path, "unlink(" + path + ")");
        }
    }
}

} // namespace

void remove_tree(const std::string& path) {
    Fd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) {
        if (errno == ENOENT) return;
        if (errno == ENOTDIR || errno == ELOOP) {
            if (::unlink(path.c_str()) < 0) throw_errno("remove " + path, "unlink(" + path + ")");
            return;
        }
        throw_errno("remove " + path, "open(" + path + ")");
    }
    struct stat st {};
    ::fstat(dir.get(), &st);
    remove_children(dir.get(), st.st_dev, path);
    if (::rmdir(path.c_str()) < 0) throw_errno("remove " + path, "rmdir(" + path + ")");
}

TempDir::TempDir(const std::string& prefix, const std::string& parent) {
    std::string base = parent;
    if (base.empty()) {
        const char* t = std::getenv("TMPDIR");
        base = (t && *t) ? t : "/tmp";
    }
    std::string tmpl = base + "/" + prefix + ".XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw_errno("make a temporary directory", "mkdtemp(" + tmpl + ")");
    path_ = tmpl;
}

TempDir::~TempDir() {
    if (path_.empty()) return;
    try {
        remove_tree(path_);
    } catch (const Error&) {
        // A destructor must not throw; what is left is in the tmp directory.
    }
}

Mount::~Mount() {
    if (!target_.empty()) ::umount2(target_.c_str(), MNT_DETACH);
}

} // namespace bk
