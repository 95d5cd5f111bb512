// bundle: an OCI runtime bundle, the hand-off from image to runtime.
// DIR/rootfs is the flattened image; DIR/config.json is the runtime spec
// (runtime-spec config.md) that `runc spec` would write, with the process
// taken from the image config the way Docker does: args = Entrypoint + Cmd,
// Env, WorkingDir, User. `runc run -b DIR NAME` and `crun run -b DIR NAME`
// start it as it is. See the OCI runtime spec (bundle.md, config.md) and
// the image spec's conversion.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <sstream>

#include "error.hpp"
#include "explain.hpp"
#include "image.hpp"
#include "imgpack.hpp"
#include "layers.hpp"
#include "safepath.hpp"
#include "sys.hpp"
#include "tempdir.hpp"

namespace bk::imgpack {

namespace {

// A small file inside the root, read without leaving it (etc/passwd).
std::string read_in_root(const std::string& root, const std::string& path) {
    Fd r(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!r) return {};
    try {
        Fd f = open_in_root(r.get(), root, path, O_RDONLY);
        std::string out;
        char buf[65536];
        ssize_t n;
        while ((n = ::read(f.get(), buf, sizeof buf)) > 0 && out.size() < (1 << 20)) out.append(buf, size_t(n));
        return out;
    } catch (const Error&) {
        return {};
    }
}

// "name" or "uid" -> a number, through the image's own /etc/passwd or /etc/group.
long lookup_id(const std::string& root, const std::string& file, const std::string& name, int field) {
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) return std::stol(name);
    std::istringstream in(read_in_root(root, file));
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> parts;
        std::stringstream ls(line);
        std::string p;
        while (std::getline(ls, p, ':')) parts.push_back(p);
        if (parts.size() > size_t(field) && parts[0] == name) return std::stol(parts[size_t(field)]);
    }
    throw Error("find the user or group \"" + name + "\" in the image's " + file, "", ENOENT,
                "the image's config names a user its files do not define");
}

} // namespace

json runtime_spec(const json& image_config, const std::string& rootfs) {
    json c = image_config.value("config", json::object());
    if (!c.is_object()) c = json::object();
    json args = json::array();
    for (auto key : {"Entrypoint", "Cmd"})
        if (c.contains(key) && c[key].is_array())
            for (auto& a : c[key]) args.push_back(a);
    if (args.empty())
        throw Error("make a bundle: the image names no command (no Entrypoint or Cmd)", "", EINVAL,
                    "build it with --cmd, e.g. imgpack build DIR --tag T --cmd '[\"/bin/sh\"]'");
    json env = c.value("Env", json::array());
    if (env.empty()) env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    std::string cwd = c.value("WorkingDir", "");
    if (cwd.empty()) cwd = "/";
    long uid = 0, gid = 0;
    std::string user = c.value("User", "");
    if (!user.empty()) {
        auto colon = user.find(':');
        std::string u = user.substr(0, colon);
        uid = lookup_id(rootfs, "/etc/passwd", u, 2);
        if (colon != std::string::npos) gid = lookup_id(rootfs, "/etc/group", user.substr(colon + 1), 2);
        else if (u.find_first_not_of("0123456789") != std::string::npos) gid = lookup_id(rootfs, "/etc/passwd", u, 3);
    }
    json caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
    return {
        {"ociVersion", "1.0.2"},
        {"process", {{"terminal", false}, {"user", {{"uid", uid}, {"gid", gid}}}, {"args", args}, {"env", env}, {"cwd", cwd},
                     {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
                     {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
                     {"noNewPrivileges", true}}},
        {"root", {{"path", "rootfs"}, {"readonly", false}}},
        {"hostname", "box"},
        {"mounts", {
            {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
            {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
            {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"}, {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
            {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
            {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
            {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        }},
        {"linux", {
            {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
            {"namespaces", {{{"type", "pid"}}, {{"type", "network"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}}},
            {"maskedPaths", {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
                             "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"}},
            {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
        }},
    };
}

int run_bundle(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    struct stat st {};
    bool made = false;
    if (::lstat(o.dest.c_str(), &st) < 0) {
        sys::mkdirat("make the bundle directory", AT_FDCWD, o.dest, 0755);
        made = true;
    }
    std::string rootfs = o.dest + "/rootfs";
    try {
        if (::lstat((o.dest + "/config.json").c_str(), &st) == 0)
            throw Error("make a bundle in " + o.dest + ": it already has a config.json", "", EEXIST, "name a new or empty directory");
        UnpackStats us = unpack_image(store, img, rootfs, o.budget);
        json spec = runtime_spec(img.config, rootfs);
        Fd dir = sys::open("hold the bundle directory", o.dest, O_PATH | O_DIRECTORY);
        std::string text = spec.dump(2) + "\n";
        Fd f = sys::openat("write the runtime spec", dir.get(), "config.json", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644);
        if (::write(f.get(), text.data(), text.size()) != ssize_t(text.size())) throw_errno("write config.json", "write()");
        if (o.json)
            print_json({{"bundle", o.dest}, {"rootfs", rootfs}, {"id", img.id()}, {"args", spec["process"]["args"]}, {"entries", us.entries}});
    } catch (...) {
        if (made) {
            try { remove_tree(o.dest); } catch (...) {}
        }
        throw;
    }
    return 0;
}

} // namespace bk::imgpack
