// The safe extractor: apply one layer (a tar stream) to a root directory.
//
// Nothing in a layer may create, change, chmod or link anything outside the
// root. So every path, the entry's own and a hardlink's target, is resolved
// inside the root as if it were "/" (bk::open_parent_in_root: openat2 with
// RESOLVE_IN_ROOT, or a careful walk), and every change is made through the
// parent directory's fd with the last component never followed (O_NOFOLLOW,
// AT_SYMLINK_NOFOLLOW, O_EXCL). ".." and absolute paths thus stay inside;
// a symlink a layer planted cannot carry a later entry, a hardlink or a
// whiteout out of the root; the root itself cannot be replaced by a symlink.
//
// Whiteouts follow the OCI image spec (layer.md): ".wh.NAME" removes NAME
// from the layers below; ".wh..wh..opq" empties its directory of what the
// layers below put there. Both act only on lower layers, whatever their order
// in this layer. In overlay mode (the layer cache, lowerdirs for overlayfs)
// they become what overlayfs reads instead: a 0/0 character device and the
// trusted.overlay.opaque xattr.
//
// Ownership and device nodes need root; without it they are skipped with
// one warning. See tar(5), openat2(2), the OCI image spec layer.md.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace bk::imgpack {

enum class WhiteoutMode { apply, overlay };

struct Budget {
    uint64_t max_bytes = uint64_t(16) << 30;  // uncompressed tar, per layer
    uint64_t max_entries = 2'000'000;         // entries, per layer
};

struct UnpackStats {
    uint64_t entries = 0, files = 0, dirs = 0, links = 0, whiteouts = 0, bytes = 0, skipped = 0;
    void add(const UnpackStats& o);
};

// The next piece of the tar stream and its size; 0 at the end (LayerStream::next).
using TarSource = std::function<size_t(const void** data)>;

class Extractor {
public:
    // root_fd: an O_DIRECTORY fd of the root; shown: its name in messages.
    Extractor(int root_fd, std::string shown, WhiteoutMode mode, Budget budget);
    ~Extractor();
    Extractor(const Extractor&) = delete;
    Extractor& operator=(const Extractor&) = delete;
    // Apply one layer. Throws bk::Error on the first refusal or failure.
    UnpackStats apply(const TarSource& source, const std::string& layer_shown);

private:
    struct Entry;
    void one(Entry& e);
    void whiteout(const std::string& path, const std::string& name);
    void opaque(const std::string& dir_path);
    int parent_fd(const std::string& path, std::string& leaf);
    void forget_parents();
    void make_room(int dirfd, const std::string& leaf, const std::string& path, bool for_dir);
    // exact: a regular file just created with the entry's permission bits by us.
    void metadata(int fd, int dirfd, const std::string& leaf, const Entry& e, bool is_link, bool exact = false);
    void warn_once(const std::string& what);

    int root_fd_;
    std::string shown_;
    WhiteoutMode mode_;
    Budget budget_;
    bool root_ = false;
    // This layer's own paths: whiteouts never touch them.
    std::set<std::string> created_;
    // Directories' times, set at the end (their entries change them meanwhile).
    struct DirTime { std::string path; struct timespec times[2]; };
    std::vector<DirTime> dir_times_;
    // The last parent directory opened, reused while only files are created.
    std::string cached_parent_;
    int cached_fd_ = -1;
    bool cached_setgid_ = false;  // new files there take the directory's group
    mode_t old_umask_ = 022;
    std::set<std::string> warned_;
    UnpackStats stats_;
};

// Remove `name` in dirfd and, if it is a directory, everything below it,
// never following a symlink and never leaving dirfd.
void remove_at(int dirfd, const std::string& name, const std::string& shown);

// Is `name` an OCI whiteout? (".wh.x" -> "x"; ".wh..wh..opq" -> opaque)
bool is_whiteout(const std::string& base, std::string& target, bool& opaque);

} // namespace bk::imgpack
