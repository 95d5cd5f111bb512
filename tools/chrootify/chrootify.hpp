// chrootify: the filesystem view. It gives the command a different "/":
// plain chroot(2) by default, or pivot_root(2) in a private mount namespace;
// mounts /proc, a small /dev and /sys inside it; bind-mounts host directories
// (docker run -v); puts an overlay over read-only image layers so the box's
// writes land in one directory (the container layer); then execs the command.
//
// It leaves every namespace to nsjail-lite, limits to cgctl, and images to
// imgpack. See chroot(2), pivot_root(2), mount(2), mount_namespaces(7),
// overlayfs (Documentation/filesystems/overlayfs.rst).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "specs.hpp"

namespace bk::chrootify {

struct Options {
    std::string new_root;
    bool pivot = false;
    bool proc = false;
    bool dev = false;
    bool sys = false;
    bool read_only = false;
    bool clear_env = false;
    std::vector<BindSpec> binds;
    std::vector<std::string> tmpfs;
    std::vector<std::string> lowers;  // --overlay, top layer first
    std::string upper, work;
    bool upper_tmpfs = false;         // --upper-tmpfs: the writes go to memory
    std::string workdir;
    std::vector<std::string> env;
    std::optional<UserSpec> user;
    std::vector<std::string> command;

    // Every mount chrootify would make, so the checks know whether it mounts.
    bool mounts_anything() const;
};

// Check the options against each other; throws bk::Error with a hint.
void validate(Options& o);

// Set up the new root and exec the command. Returns only by throwing.
[[noreturn]] void run(const Options& o);

} // namespace bk::chrootify
