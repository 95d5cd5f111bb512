// build and commit: a new layer on top of (maybe) a base image.
//
// build DIR: every file of DIR; with --from BASE only what differs from
// BASE's flattened tree, plus a whiteout (".wh.NAME") for each path BASE has
// and DIR lacks. commit --upper: an overlay upper directory already is a
// diff; only its whiteouts need translating: overlayfs marks a deleted file
// with a 0/0 character device and an emptied directory with the
// trusted.overlay.opaque xattr; OCI layers say ".wh.NAME" and ".wh..wh..opq".
// See the OCI image spec layer.md and Documentation/filesystems/overlayfs.rst.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "error.hpp"
#include "explain.hpp"
#include "image.hpp"
#include "imgpack.hpp"
#include "layers.hpp"
#include "layerwriter.hpp"
#include "tempdir.hpp"

namespace bk::imgpack {

namespace {

std::vector<std::string> sorted_names(const std::string& dir) {
    std::vector<std::string> out;
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        if (errno == ENOENT || errno == ENOTDIR) return out;
        throw_errno("read the directory " + dir, "opendir(" + quote(dir) + ")");
    }
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::string join(const std::string& rel, const std::string& name) { return rel.empty() ? name : rel + "/" + name; }

// Everything under DIR/rel, parents first, in name order.
void add_tree(LayerWriter& w, const std::string& root, const std::string& rel) {
    for (auto& n : sorted_names(root + "/" + rel)) {
        std::string r = join(rel, n);
        w.add(r, root + "/" + r);
        struct stat st {};
        if (::lstat((root + "/" + r).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) add_tree(w, root, r);
    }
}

bool same_content(const std::string& a, const std::string& b, off_t size) {
    Fd fa(::open(a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)), fb(::open(b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!fa || !fb) return false;
    std::vector<char> ba(1 << 16), bb(1 << 16);
    off_t done = 0;
    while (done < size) {
        ssize_t na = ::read(fa.get(), ba.data(), ba.size());
        ssize_t nb = ::read(fb.get(), bb.data(), bb.size());
        if (na <= 0 || na != nb || std::memcmp(ba.data(), bb.data(), size_t(na)) != 0) return false;
        done += na;
    }
    return true;
}

std::string link_target(const std::string& p) {
    char buf[4096];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    return n < 0 ? std::string() : std::string(buf, size_t(n));
}

// What DIR/rel changes against BASE/rel.
void diff_tree(LayerWriter& w, const std::string& dir, const std::string& base, const std::string& rel) {
    auto mine = sorted_names(dir + "/" + rel), theirs = sorted_names(base + "/" + rel);
    // Whiteouts before their siblings, as the spec asks writers to order them.
    for (auto& n : theirs)
        if (!std::binary_search(mine.begin(), mine.end(), n)) w.add_whiteout(join(rel, n));
    for (auto& n : mine) {
        std::string r = join(rel, n), a = dir + "/" + r, b = base + "/" + r;
        struct stat sa {}, sb {};
        ::lstat(a.c_str(), &sa);
        bool had = ::lstat(b.c_str(), &sb) == 0;
        if (!had || (sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
            w.add(r, a);
            if (S_ISDIR(sa.st_mode)) add_tree(w, dir, r);
            continue;
        }
        bool meta = sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid;
        if (S_ISDIR(sa.st_mode)) {
            if (meta) w.add(r, a);
            diff_tree(w, dir, base, r);
        } else if (S_ISREG(sa.st_mode)) {
            if (meta || sa.st_size != sb.st_size || !same_content(a, b, sa.st_size)) w.add(r, a);
        } else if (S_ISLNK(sa.st_mode)) {
            if (meta || link_target(a) != link_target(b)) w.add(r, a);
        } else if (meta || sa.st_rdev != sb.st_rdev) {
            w.add(r, a);
        }
    }
}

bool opaque_dir(const std::string& path) {
    char v[8];
    for (const char* name : {"trusted.overlay.opaque", "user.overlay.opaque"}) {
        ssize_t n = ::lgetxattr(path.c_str(), name, v, sizeof v);
        if (n == 1 && v[0] == 'y') return true;
    }
    return false;
}

// An overlay upper directory as OCI layer entries.
void upper_tree(LayerWriter& w, const std::string& upper, const std::string& rel) {
    auto names = sorted_names(upper + "/" + rel);
    auto is_whiteout = [&](const std::string& n) {
        struct stat st {};
        return ::lstat((upper + "/" + join(rel, n)).c_str(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
    };
    // Whiteouts first, before their siblings, as the spec asks writers to order them.
    for (auto& n : names)
        if (is_whiteout(n)) w.add_whiteout(join(rel, n));  // overlayfs deleted it
    for (auto& n : names) {
        std::string r = join(rel, n), p = upper + "/" + r;
        struct stat st {};
        if (::lstat(p.c_str(), &st) < 0 || is_whiteout(n)) continue;
        char v[256];
        if (::lgetxattr(p.c_str(), "trusted.overlay.redirect", v, sizeof v) > 0 ||
            ::lgetxattr(p.c_str(), "trusted.overlay.metacopy", v, sizeof v) >= 0)
            warn("the box renamed a directory or copied only metadata (" + r +
                 "): mount the overlay with redirect_dir=off,metacopy=off to commit it exactly");
        w.add(r, p);
        if (S_ISDIR(st.st_mode)) {
            if (opaque_dir(p)) w.add_opaque(r);  // the box emptied it, then maybe refilled it
            upper_tree(w, upper, r);
        }
    }
}

void set_env(json& env, const std::string& kv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
        throw Error("use --env " + kv, "", EINVAL, "write --env NAME=VALUE");
    std::string key = kv.substr(0, eq + 1);
    for (auto& e : env)
        if (e.is_string() && e.get<std::string>().rfind(key, 0) == 0) {
            e = kv;
            return;
        }
    env.push_back(kv);
}

// The new image's config: the base's (or a fresh one) with the options applied.
json new_config(const Options& o, const Image* base, const Layer& layer, const std::string& created_by) {
    json cfg = base ? base->config
                    : json{{"architecture", host_architecture()}, {"os", "linux"}, {"config", json::object()},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}, {"history", json::array()}};
    std::string now = now_rfc3339();
    cfg["created"] = now;
    if (!cfg.contains("config") || !cfg["config"].is_object()) cfg["config"] = json::object();
    json& c = cfg["config"];
    if (o.entrypoint_set) {
        c["Entrypoint"] = o.entrypoint;
        if (!o.cmd_set) c.erase("Cmd");  // as in a Dockerfile: a new ENTRYPOINT drops the base's CMD
    }
    if (o.cmd_set) c["Cmd"] = o.cmd;
    if (!c.contains("Env") || !c["Env"].is_array()) c["Env"] = json::array();
    if (c["Env"].empty()) c["Env"].push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for (auto& kv : o.env) set_env(c["Env"], kv);
    if (!o.workdir.empty()) c["WorkingDir"] = o.workdir;
    if (!o.user.empty()) c["User"] = o.user;
    for (auto& kv : o.labels) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) throw Error("use --label " + kv, "", EINVAL, "write --label KEY=VALUE");
        if (!c.contains("Labels") || !c["Labels"].is_object()) c["Labels"] = json::object();
        c["Labels"][kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    cfg["rootfs"]["diff_ids"].push_back(layer.diff_id.str());
    if (!cfg.contains("history") || !cfg["history"].is_array()) cfg["history"] = json::array();
    json h = {{"created", now}, {"created_by", created_by}};
    if (!o.message.empty()) h["comment"] = o.message;
    cfg["history"].push_back(h);
    return cfg;
}

int finish(const Options& o, oci::Store& store, const Reference& ref, const Image* base, const Layer& layer,
           uint64_t entries, const std::string& created_by) {
    std::vector<Layer> layers = base ? base->layers : std::vector<Layer>{};
    layers.push_back(layer);
    json cfg = new_config(o, base, layer, created_by);
    auto m = write_image(store, cfg, layers, ref);
    Digest id = sha256_of(cfg.dump());
    if (o.json)
        print_json({{"reference", ref.full()}, {"id", id.str()}, {"manifest_digest", m.digest.str()},
                    {"layer", {{"digest", layer.blob.digest.str()}, {"diff_id", layer.diff_id.str()}, {"size", layer.blob.size},
                               {"media_type", layer.blob.media_type}, {"entries", entries}}}});
    else
        std::cout << id.str() << "\n";
    detail("tagged " + ref.familiar() + ": a new layer of " + std::to_string(entries) + " entries, " +
           std::to_string(layer.blob.size) + " bytes");
    return 0;
}

void must_be_dir(const std::string& dir, const std::string& what) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) < 0) throw_errno("read " + what + " " + dir, "stat(" + quote(dir) + ")");
    if (!S_ISDIR(st.st_mode)) throw Error("read " + what + " " + dir + ": it is not a directory", "", ENOTDIR);
}

} // namespace

std::vector<std::string> command_form(const std::string& text, const std::string& option) {
    if (text.empty() || text[0] != '[') return {"/bin/sh", "-c", text};
    try {
        json j = json::parse(text);
        std::vector<std::string> out;
        for (auto& w : j) out.push_back(w.get<std::string>());
        return out;
    } catch (const json::exception&) {
        throw Error("understand " + option + " " + text + ": not a JSON array of strings", "", EINVAL,
                    "write " + option + " '[\"/bin/echo\", \"hi\"]' or " + option + " 'echo hi' (run by /bin/sh -c)");
    }
}

int run_build(const Options& o) {
    Reference ref = Reference::parse(o.tag);
    must_be_dir(o.dir, "the directory");
    oci::Store store;
    store.init();
    Fd hold = store.hold_blobs();  // gc waits until the new image is tagged
    std::optional<Image> base;
    if (!o.from.empty()) base = load_image(store, o.from);
    LayerWriter w(store, o.compression);
    w.set_source_root(o.dir);
    if (base) {
        TempDir tmp("imgpack-base");
        std::string flat = tmp.path() + "/root";
        explain("flatten the base image to compare the directory against it", "mkdir(" + quote(flat) + ")");
        unpack_image(store, *base, flat, o.budget);
        diff_tree(w, o.dir, flat, "");
    } else {
        add_tree(w, o.dir, "");
    }
    Layer layer = w.finish();
    return finish(o, store, ref, base ? &*base : nullptr, layer, w.entries(),
                  o.message.empty() ? "imgpack build " + o.dir : o.message);
}

int run_commit(const Options& o) {
    Reference ref = Reference::parse(o.tag);
    must_be_dir(o.upper, "the upper directory");
    oci::Store store;
    store.init();
    Fd hold = store.hold_blobs();
    Image base = load_image(store, o.from);
    LayerWriter w(store, o.compression);
    w.set_source_root(o.upper);
    upper_tree(w, o.upper, "");
    Layer layer = w.finish();
    return finish(o, store, ref, &base, layer, w.entries(), o.message.empty() ? "imgpack commit " + o.upper : o.message);
}

} // namespace bk::imgpack
