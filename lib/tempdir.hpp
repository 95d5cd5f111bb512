// Owners that clean up unless told to keep: a temporary directory, and a
// mount. Destructors do not run across exec, so a chain-loader keeps what the
// command needs on purpose, with a comment.
#pragma once
#include <string>
#include <utility>

namespace bk {

// Remove a directory tree without following symlinks and without crossing
// into other filesystems (a bind mount left inside is an error, not a
// license to delete the host's files).
void remove_tree(const std::string& path);

class TempDir {
public:
    // mkdtemp(3) under `parent` (default $TMPDIR or /tmp).
    explicit TempDir(const std::string& prefix = "boxkit", const std::string& parent = {});
    TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
    TempDir& operator=(TempDir&&) = delete;
    TempDir(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const { return path_; }
    std::string keep() { return std::exchange(path_, {}); }

private:
    std::string path_;
};

class Mount {
public:
    Mount() = default;
    explicit Mount(std::string target) : target_(std::move(target)) {}
    Mount(Mount&& o) noexcept : target_(std::exchange(o.target_, {})) {}
    Mount& operator=(Mount&&) = delete;
    Mount(const Mount&) = delete;
    // umount2(MNT_DETACH) unless kept.
    ~Mount();
    std::string keep() { return std::exchange(target_, {}); }

private:
    std::string target_;
};

} // namespace bk
