#include "unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "error.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "safepath.hpp"

namespace bk::imgpack {

void UnpackStats::add(const UnpackStats& o) {
    entries += o.entries; files += o.files; dirs += o.dirs; links += o.links;
    whiteouts += o.whiteouts; bytes += o.bytes; skipped += o.skipped;
}

bool is_whiteout(const std::string& base, std::string& target, bool& opaque) {
    opaque = false;
    if (base.rfind(".wh.", 0) != 0) return false;
    if (base == ".wh..wh..opq") {
        opaque = true;
        return true;
    }
    target = base.substr(4);
    return true;
}

void remove_at(int dirfd, const std::string& name, const std::string& shown) {
    struct stat st {};
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return;
        throw_errno("remove " + shown, "fstatat(" + quote(shown) + ", AT_SYMLINK_NOFOLLOW)");
    }
    if (S_ISDIR(st.st_mode)) {
        struct stat parent {};
        ::fstat(dirfd, &parent);
        if (parent.st_dev != st.st_dev)
            throw Error("remove " + shown + ": it is a mount point", "", EBUSY, "unmount it first");
        int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) throw_errno("remove " + shown, "openat(" + quote(shown) + ", O_DIRECTORY|O_NOFOLLOW)");
        DIR* d = ::fdopendir(fd);
        if (!d) {
            ::close(fd);
            throw_errno("remove " + shown, "fdopendir(" + quote(shown) + ")");
        }
        std::vector<std::string> names;
        while (auto* ent = ::readdir(d)) {
            std::string n = ent->d_name;
            if (n != "." && n != "..") names.push_back(n);
        }
        try {
            for (auto& n : names) remove_at(::dirfd(d), n, shown + "/" + n);
        } catch (...) {
            ::closedir(d);
            throw;
        }
        ::closedir(d);
        if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) < 0)
            throw_errno("remove " + shown, "unlinkat(" + quote(shown) + ", AT_REMOVEDIR)");
    } else if (::unlinkat(dirfd, name.c_str(), 0) < 0 && errno != ENOENT) {
        throw_errno("remove " + shown, "unlinkat(" + quote(shown) + ")");
    }
}

struct Extractor::Entry {
    archive* ar = nullptr;
    archive_entry* ae = nullptr;
    std::string path;      // cleaned, "/a/b"
    std::string hardlink;  // cleaned, or empty
    std::string symlink;   // the target as written
    mode_t type = 0, perm = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    int64_t size = 0;
    dev_t rdev = 0;
    struct timespec times[2] {};
};

Extractor::Extractor(int root_fd, std::string shown, WhiteoutMode mode, Budget budget)
    : root_fd_(root_fd), shown_(std::move(shown)), mode_(mode), budget_(budget), root_(::geteuid() == 0) {
    // Files are created with the layer's exact permission bits, so no umask
    // may trim them and no fchmod(2) per file is needed.
    old_umask_ = ::umask(0);
}

Extractor::~Extractor() {
    forget_parents();
    ::umask(old_umask_);
}

void Extractor::warn_once(const std::string& what) {
    if (warned_.insert(what).second) bk::warn(what);
}

void Extractor::forget_parents() {
    if (cached_fd_ >= 0) ::close(cached_fd_);
    cached_fd_ = -1;
    cached_parent_.clear();
}

namespace {
std::string dir_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}
std::string base_of(const std::string& path) { return path.substr(path.rfind('/') + 1); }
} // namespace

// The directory that holds `path`, resolved inside the root; made (0755) when
// the layer did not list it, as tar does.
int Extractor::parent_fd(const std::string& path, std::string& leaf) {
    std::string parent = dir_of(path);
    leaf = base_of(path);
    if (cached_fd_ >= 0 && parent == cached_parent_) return cached_fd_;
    forget_parents();
    Fd fd(::dup(root_fd_));
    if (parent != "/") {
        try {
            fd = open_in_root(root_fd_, shown_, parent, O_PATH | O_DIRECTORY);
        } catch (const Error& e) {
            if (e.err() != ENOENT) throw;
            fd = make_dirs_in_root(root_fd_, shown_, parent, 0755);
        }
    }
    struct stat st {};
    cached_setgid_ = ::fstat(fd.get(), &st) == 0 && (st.st_mode & S_ISGID);
    cached_parent_ = parent;
    cached_fd_ = fd.release();
    return cached_fd_;
}

// Something is already at leaf: take it away (a directory only when a
// non-directory replaces it), as a later layer's entry wins.
void Extractor::make_room(int dirfd, const std::string& leaf, const std::string& path, bool for_dir) {
    struct stat st {};
    if (::fstatat(dirfd, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return;
    if (for_dir && S_ISDIR(st.st_mode)) return;
    remove_at(dirfd, leaf, shown_ + path);
    forget_parents();
}

void Extractor::metadata(int fd, int dirfd, const std::string& leaf, const Entry& e, bool is_link, bool exact) {
    std::string where = shown_ + e.path;
    // A file we just made is ours already: skip chown when that is what the layer says.
    bool owned = exact && e.uid == ::geteuid() && e.gid == ::getegid() && !cached_setgid_;
    if (root_ && !owned) {
        int rc = fd >= 0 ? ::fchown(fd, e.uid, e.gid) : ::fchownat(dirfd, leaf.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW);
        if (rc < 0) {
            if (errno == EINVAL || errno == EPERM) warn_once("cannot give files the layer's owners (a user namespace without those ids?)");
            else throw_errno("set the owner of " + where, "fchown(" + quote(where) + ")");
        }
    } else if (e.uid != ::geteuid() || e.gid != ::getegid()) {
        warn_once("not root: the files are yours, not owned by the users the layer names");
    }
    if (!is_link && !(exact && (e.perm & 07000) == 0)) {
        // After chown: chown clears the set-uid and set-gid bits.
        int rc = fd >= 0 ? ::fchmod(fd, e.perm) : ::fchmodat(dirfd, leaf.c_str(), e.perm, 0);
        if (rc < 0) throw_errno("set the mode of " + where, "fchmod(" + quote(where) + ")");
    }
    if (fd >= 0 && root_) {
        archive_entry_xattr_reset(e.ae);
        const char* name;
        const void* value;
        size_t size;
        while (archive_entry_xattr_next(e.ae, &name, &value, &size) == ARCHIVE_OK) {
            std::string n = name;
            // overlayfs reads these: a layer must not steer the overlay.
            if (n.rfind("trusted.overlay.", 0) == 0 || n.rfind("user.overlay.", 0) == 0) {
                warn_once("skipped overlay xattrs a layer carries (" + n + ")");
                continue;
            }
            if (::fsetxattr(fd, name, value, size, 0) < 0) warn_once("cannot set the xattr " + n + ": " + strerror(errno));
        }
    }
    if (e.type == S_IFDIR) return;  // later entries change it; set at the end
    int rc = fd >= 0 ? ::futimens(fd, e.times) : ::utimensat(dirfd, leaf.c_str(), e.times, AT_SYMLINK_NOFOLLOW);
    if (rc < 0 && !is_link) throw_errno("set the times of " + where, "futimens(" + quote(where) + ")");
}

void Extractor::whiteout(const std::string& dir, const std::string& name) {
    std::string path = (dir == "/" ? "" : dir) + "/" + name;
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
        throw Error("unpack into " + shown_ + ": the whiteout .wh." + name + " names no file", "", EINVAL,
                    "the layer is malformed");
    ++stats_.whiteouts;
    if (created_.count(path)) return;  // a whiteout hides lower layers only
    forget_parents();
    if (mode_ == WhiteoutMode::overlay) {
        std::string leaf;
        int dfd = parent_fd(path, leaf);
        make_room(dfd, leaf, path, false);
        std::string call = "mknodat(" + quote(shown_ + path) + ", S_IFCHR, makedev(0, 0))";
        explain("mark " + path + " deleted the way overlayfs reads it", call);
        if (::mknodat(dfd, leaf.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) throw_errno("unpack the whiteout " + path, call);
        return;
    }
    Fd parent;
    try {
        parent = open_in_root(root_fd_, shown_, dir, O_PATH | O_DIRECTORY);
    } catch (const Error& e) {
        if (e.err() == ENOENT || e.err() == ENOTDIR) return;  // nothing below to hide
        throw;
    }
    if (explaining()) explain("whiteout: remove " + path + " from the layers below", "unlinkat(" + quote(shown_ + path) + ")");
    remove_at(parent.get(), name, shown_ + path);
}

void Extractor::opaque(const std::string& dir) {
    ++stats_.whiteouts;
    forget_parents();
    if (mode_ == WhiteoutMode::overlay) {
        Fd d;
        if (dir == "/") d = Fd(::dup(root_fd_));
        else {
            make_dirs_in_root(root_fd_, shown_, dir, 0755);
            d = open_in_root(root_fd_, shown_, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        }
        const char* name = root_ ? "trusted.overlay.opaque" : "user.overlay.opaque";
        std::string call = std::string("fsetxattr(") + quote(shown_ + dir) + ", \"" + name + "\", \"y\")";
        explain("mark " + dir + " opaque: overlayfs hides the layers below it", call);
        if (::fsetxattr(d.get(), name, "y", 1, 0) < 0) throw_errno("unpack the opaque directory " + dir, call);
        return;
    }
    Fd d;
    try {
        d = open_in_root(root_fd_, shown_, dir, O_RDONLY | O_DIRECTORY);
    } catch (const Error& e) {
        if (e.err() == ENOENT || e.err() == ENOTDIR) return;
        throw;
    }
    DIR* ds = ::fdopendir(::dup(d.get()));
    if (!ds) throw_errno("empty the opaque directory " + dir, "fdopendir()");
    std::vector<std::string> names;
    while (auto* ent = ::readdir(ds)) {
        std::string n = ent->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(ds);
    std::string prefix = dir == "/" ? "" : dir;
    if (explaining()) explain("opaque directory: empty " + dir + " of what the layers below put there", "unlinkat(" + quote(shown_ + dir) + "/*)");
    for (auto& n : names)
        if (!created_.count(prefix + "/" + n)) remove_at(d.get(), n, shown_ + prefix + "/" + n);
}

void Extractor::one(Entry& e) {
    std::string where = shown_ + e.path;
    if (e.path == "/") {
        if (e.type != S_IFDIR)
            throw Error("unpack into " + shown_ + ": the layer would replace the root itself with a " +
                            (e.type == S_IFLNK ? std::string("symlink") : std::string("non-directory")),
                        "", EINVAL, "the layer is hostile or broken; it was refused");
        metadata(root_fd_, -1, "", e, false);
        dir_times_.push_back({"/", {e.times[0], e.times[1]}});
        return;
    }
    std::string leaf;
    int dfd = parent_fd(e.path, leaf);
    created_.insert(e.path);
    if (!e.hardlink.empty()) {
        if (e.hardlink == e.path) return;
        std::string tleaf;
        Fd tdir;
        try {
            tdir = open_parent_in_root(root_fd_, shown_, e.hardlink, tleaf);
        } catch (const Error& err) {
            throw Error("unpack the hard link " + e.path + " to " + e.hardlink + " (resolved inside " + shown_ + ")",
                        err.call(), err.err(), "a hard link may only name a file the layers put inside the root");
        }
        std::string call = "linkat(" + quote(shown_ + e.hardlink) + ", " + quote(where) + ", 0)";
        // flags 0: a symlink as the target is linked itself, never followed
        if (explaining()) explain("hard-link to a file inside the root", call);
        for (int tries = 0;; ++tries) {
            if (::linkat(tdir.get(), tleaf.c_str(), dfd, leaf.c_str(), 0) == 0) break;
            if (errno == EEXIST && tries == 0) { make_room(dfd, leaf, e.path, false); dfd = parent_fd(e.path, leaf); continue; }
            int err = errno;
            throw Error("unpack the hard link " + e.path + " to " + e.hardlink + " (resolved inside " + shown_ + ")", call, err,
                        err == ENOENT ? "a hard link may only name a file the layers put inside the root" : "");
        }
        ++stats_.links;
        return;
    }
    switch (e.type) {
    case S_IFDIR: {
        if (explaining()) explain("make the layer's directory, inside the root", "mkdirat(" + quote(where) + ", 0700)");
        if (::mkdirat(dfd, leaf.c_str(), 0700) < 0) {
            if (errno != EEXIST) throw_errno("unpack " + e.path, "mkdirat(" + quote(where) + ")");
            make_room(dfd, leaf, e.path, true);
            dfd = parent_fd(e.path, leaf);
            if (::mkdirat(dfd, leaf.c_str(), 0700) < 0 && errno != EEXIST) throw_errno("unpack " + e.path, "mkdirat(" + quote(where) + ")");
        }
        Fd d(::openat(dfd, leaf.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) throw_errno("unpack " + e.path, "openat(" + quote(where) + ", O_DIRECTORY|O_NOFOLLOW)");
        metadata(d.get(), dfd, leaf, e, false);
        dir_times_.push_back({e.path, {e.times[0], e.times[1]}});
        ++stats_.dirs;
        return;
    }
    case S_IFREG: {
        int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
        if (explaining())
            explain("create the layer's file; never through a symlink", "openat(" + quote(where) + ", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW)");
        mode_t create_mode = e.perm & 0777;  // exact: the umask is 0 while we unpack
        Fd f(::openat(dfd, leaf.c_str(), flags, create_mode));
        if (!f && errno == EEXIST) {
            make_room(dfd, leaf, e.path, false);
            dfd = parent_fd(e.path, leaf);
            f = Fd(::openat(dfd, leaf.c_str(), flags, create_mode));
        }
        if (!f) throw_errno("unpack " + e.path, "openat(" + quote(where) + ", O_CREAT|O_EXCL|O_NOFOLLOW)");
        const void* buf;
        size_t size;
        la_int64_t offset;
        int64_t end = 0;
        for (;;) {
            int rc = archive_read_data_block(e.ar, &buf, &size, &offset);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN) throw Error("read " + e.path + " from the layer: " + archive_error_string(e.ar), "archive_read_data_block()", EINVAL);
            const char* p = static_cast<const char*>(buf);
            while (size > 0) {
                ssize_t n = ::pwrite(f.get(), p, size, offset);
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) throw_errno("unpack " + e.path, "pwrite(" + quote(where) + ")");
                p += n;
                size -= size_t(n);
                offset += n;
            }
            end = offset;
        }
        if (end < e.size && ::ftruncate(f.get(), e.size) < 0) throw_errno("unpack " + e.path, "ftruncate(" + quote(where) + ")");
        metadata(f.get(), dfd, leaf, e, false, true);
        ++stats_.files;
        stats_.bytes += uint64_t(e.size);
        return;
    }
    case S_IFLNK: {
        if (explaining()) explain("make the layer's symlink (it is never followed here)", "symlinkat(" + quote(e.symlink) + ", " + quote(where) + ")");
        if (::symlinkat(e.symlink.c_str(), dfd, leaf.c_str()) < 0) {
            if (errno != EEXIST) throw_errno("unpack the symlink " + e.path, "symlinkat(" + quote(e.symlink) + ", " + quote(where) + ")");
            make_room(dfd, leaf, e.path, false);
            dfd = parent_fd(e.path, leaf);
            if (::symlinkat(e.symlink.c_str(), dfd, leaf.c_str()) < 0)
                throw_errno("unpack the symlink " + e.path, "symlinkat(" + quote(e.symlink) + ", " + quote(where) + ")");
        }
        // A new symlink may stand where a cached parent's path leads.
        forget_parents();
        metadata(-1, parent_fd(e.path, leaf), leaf, e, true);
        ++stats_.links;
        return;
    }
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO: {
        if (e.type != S_IFIFO && !root_) {
            warn_once("not root: device nodes in the layer are skipped");
            ++stats_.skipped;
            return;
        }
        make_room(dfd, leaf, e.path, false);
        dfd = parent_fd(e.path, leaf);
        std::string call = "mknodat(" + quote(where) + ")";
        if (explaining()) explain("make the layer's device node or fifo", call);
        if (::mknodat(dfd, leaf.c_str(), e.type | 0600, e.rdev) < 0) {
            if (errno == EPERM && e.type != S_IFIFO) {
                warn_once("cannot make device nodes here (EPERM): they are skipped");
                ++stats_.skipped;
                return;
            }
            throw_errno("unpack " + e.path, call);
        }
        metadata(-1, dfd, leaf, e, false);
        return;
    }
    default:
        warn_once("skipped an entry of a type tar layers should not hold: " + e.path);
        ++stats_.skipped;
    }
}

namespace {
struct ReadCtx {
    const TarSource* source;
    std::exception_ptr error;
};
la_ssize_t read_cb(archive*, void* p, const void** buf) {
    auto* ctx = static_cast<ReadCtx*>(p);
    try {
        return la_ssize_t((*ctx->source)(buf));
    } catch (...) {
        ctx->error = std::current_exception();
        return -1;
    }
}
} // namespace

UnpackStats Extractor::apply(const TarSource& source, const std::string& layer_shown) {
    stats_ = {};
    created_.clear();
    dir_times_.clear();
    forget_parents();
    ReadCtx ctx{&source, nullptr};
    struct Ar { archive* a = archive_read_new(); ~Ar() { archive_read_free(a); } } ar;
    archive_read_support_format_tar(ar.a);
    auto fail = [&](const std::string& what) {
        if (ctx.error) std::rethrow_exception(ctx.error);
        throw Error("read " + layer_shown + ": " + what + ": " + (archive_error_string(ar.a) ? archive_error_string(ar.a) : "?"),
                    "", EINVAL, "the layer is not a tar archive or is damaged");
    };
    if (archive_read_open(ar.a, &ctx, nullptr, read_cb, nullptr) != ARCHIVE_OK) fail("open");
    try {
        for (;;) {
            archive_entry* ae;
            int rc = archive_read_next_header(ar.a, &ae);
            if (rc == ARCHIVE_EOF) break;
            if (rc < ARCHIVE_WARN) fail("read an entry");
            if (++stats_.entries > budget_.max_entries)
                throw Error("unpack " + layer_shown + ": it has more than " + std::to_string(budget_.max_entries) +
                                " entries",
                            "", EFBIG, "raise --max-entries if the image is really this large");
            Entry e;
            e.ar = ar.a;
            e.ae = ae;
            const char* name = archive_entry_pathname(ae);
            if (!name || !*name) continue;
            e.path = clean_path(name);
            if (const char* h = archive_entry_hardlink(ae)) e.hardlink = clean_path(h);
            if (const char* s = archive_entry_symlink(ae)) e.symlink = s;
            e.type = archive_entry_filetype(ae);
            e.perm = archive_entry_perm(ae) & 07777;
            e.uid = uid_t(archive_entry_uid(ae));
            e.gid = gid_t(archive_entry_gid(ae));
            e.size = archive_entry_size(ae);
            e.rdev = archive_entry_rdev(ae);
            e.times[1] = {archive_entry_mtime(ae), archive_entry_mtime_nsec(ae)};
            e.times[0] = archive_entry_atime_is_set(ae) ? timespec{archive_entry_atime(ae), archive_entry_atime_nsec(ae)} : e.times[1];
            std::string target;
            bool opq = false;
            if (e.path != "/" && is_whiteout(base_of(e.path), target, opq)) {
                if (opq) opaque(dir_of(e.path));
                else whiteout(dir_of(e.path), target);
                continue;
            }
            one(e);
        }
    } catch (...) {
        forget_parents();
        if (ctx.error) std::rethrow_exception(ctx.error);  // the stream's error says more
        throw;
    }
    forget_parents();
    // Directory times last: creating their entries changed them.
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
        if (it->path == "/") {
            ::futimens(root_fd_, it->times);
            continue;
        }
        std::string leaf;
        try {
            Fd p = open_parent_in_root(root_fd_, shown_, it->path, leaf);
            ::utimensat(p.get(), leaf.c_str(), it->times, AT_SYMLINK_NOFOLLOW);
        } catch (const Error&) {
        }
    }
    return stats_;
}

} // namespace bk::imgpack
