#include "layers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

#include "error.hpp"
#include "explain.hpp"
#include "imgpack.hpp"
#include "layerstream.hpp"
#include "paths.hpp"
#include "sys.hpp"
#include "tempdir.hpp"

namespace bk::imgpack {

UnpackStats apply_layer(const oci::Store& store, const Layer& layer, size_t index, Extractor& x, const Budget& budget) {
    std::string shown = "layer " + std::to_string(index + 1) + " (" + layer.blob.digest.str().substr(0, 19) + ")";
    explain("read " + shown + ", verifying its digest and diff_id as it streams",
            "open(" + quote(store.blob_path(layer.blob.digest)) + ", O_RDONLY)");
    LayerStream stream(store.open_blob(layer.blob.digest),
                       LayerCheck{shown, layer.blob.digest, layer.blob.size, layer.diff_id, budget.max_bytes});
    UnpackStats st = x.apply([&](const void** p) { return stream.next(p); }, shown);
    stream.finish();
    detail(shown + ": " + std::to_string(st.entries) + " entries, " + std::to_string(stream.uncompressed_bytes()) +
           " bytes of tar (" + compression_name(stream.compression()) + ")");
    return st;
}

UnpackStats unpack_image(const oci::Store& store, const Image& img, const std::string& dest, const Budget& budget) {
    bool made = false;
    struct stat st {};
    if (::lstat(dest.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            throw Error("unpack into " + dest + ": it is not a directory", "", ENOTDIR, "name a new or empty directory");
        Fd d = sys::open("look into the target directory", dest, O_RDONLY | O_DIRECTORY);
        DIR* ds = ::fdopendir(::dup(d.get()));
        bool empty = true;
        while (auto* e = ::readdir(ds))
            if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") empty = false;
        ::closedir(ds);
        if (!empty)
            throw Error("unpack into " + dest + ": it is not empty", "", ENOTEMPTY,
                        "name a new or empty directory; imgpack never mixes an image into other files");
    } else {
        sys::mkdirat("make the target directory", AT_FDCWD, dest, 0755);
        made = true;
    }
    try {
        Fd root = sys::open("hold the target directory: every path is resolved inside it", dest, O_RDONLY | O_DIRECTORY);
        Extractor x(root.get(), dest, WhiteoutMode::apply, budget);
        UnpackStats total;
        for (size_t i = 0; i < img.layers.size(); ++i) total.add(apply_layer(store, img.layers[i], i, x, budget));
        return total;
    } catch (...) {
        // DEST was new or empty: what is in it now is half an image. Take it
        // out again, so a failed unpack (a full disk, a damaged layer) leaves
        // DEST as it found it.
        try {
            if (made) {
                remove_tree(dest);
            } else if (DIR* ds = ::opendir(dest.c_str())) {
                std::vector<std::string> names;
                while (auto* e = ::readdir(ds))
                    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
                ::closedir(ds);
                for (auto& n : names) remove_tree(dest + "/" + n);
            }
        } catch (...) {
        }
        throw;
    }
}

std::string layer_cache_dir(const Digest& diff_id) { return paths::layers() + "/" + std::string(diff_id.hex()); }

std::string cached_layer(const oci::Store& store, const Layer& layer, size_t index, const Budget& budget, bool& made) {
    made = false;
    std::string final_dir = layer_cache_dir(layer.diff_id);
    struct stat st {};
    if (::lstat(final_dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return final_dir;
    paths::make_dirs(paths::layers(), 0700);
    std::string tmp = paths::layers() + "/.tmp-" + std::string(layer.diff_id.hex().substr(0, 16)) + "-" +
                      std::to_string(::getpid());
    sys::mkdirat("unpack the layer under a temporary name first", AT_FDCWD, tmp, 0755);
    try {
        Fd root = sys::open("hold the layer's directory", tmp, O_RDONLY | O_DIRECTORY);
        Extractor x(root.get(), tmp, WhiteoutMode::overlay, budget);
        apply_layer(store, layer, index, x, budget);
        std::string call = "rename(" + quote(tmp) + ", " + quote(final_dir) + ")";
        explain("the layer is complete and verified: give it its diff_id as name", call);
        if (::rename(tmp.c_str(), final_dir.c_str()) < 0) {
            if (errno != EEXIST && errno != ENOTEMPTY) throw_errno("put the layer in the cache", call);
            remove_tree(tmp);  // another run finished it first
        } else {
            made = true;
        }
    } catch (...) {
        try { remove_tree(tmp); } catch (...) {}
        throw;
    }
    return final_dir;
}

int run_unpack(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    UnpackStats st = unpack_image(store, img, o.dest, o.budget);
    if (o.json) {
        print_json({{"image", img.tags.empty() ? img.id() : img.tags.front()}, {"id", img.id()}, {"dest", o.dest},
                    {"layers", img.layers.size()}, {"entries", st.entries}, {"files", st.files}, {"dirs", st.dirs},
                    {"links", st.links}, {"whiteouts", st.whiteouts}, {"bytes", st.bytes}, {"skipped", st.skipped}});
    } else {
        detail("unpacked " + std::to_string(img.layers.size()) + " layers, " + std::to_string(st.entries) + " entries into " + o.dest);
    }
    return 0;
}

int run_layers(const Options& o) {
    oci::Store store;
    Image img = load_image(store, o.image);
    std::vector<std::string> dirs;
    std::vector<bool> fresh;
    if (o.unpack_cache || o.lowerdirs) {
        for (size_t i = 0; i < img.layers.size(); ++i) {
            bool made = false;
            dirs.push_back(cached_layer(store, img.layers[i], i, o.budget, made));
            fresh.push_back(made);
        }
    }
    if (o.lowerdirs) {
        // overlayfs wants the top layer first.
        std::string out;
        for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) out += (out.empty() ? "" : ":") + *it;
        if (o.json) print_json({{"lowerdirs", out}, {"layers", json(std::vector<std::string>(dirs.rbegin(), dirs.rend()))}});
        else std::cout << out << "\n";
        return 0;
    }
    json arr = json::array();
    for (size_t i = 0; i < img.layers.size(); ++i) {
        auto& l = img.layers[i];
        std::string dir = layer_cache_dir(l.diff_id);
        struct stat st {};
        bool cached = ::lstat(dir.c_str(), &st) == 0;
        json j = {{"index", i + 1}, {"digest", l.blob.digest.str()}, {"diff_id", l.diff_id.str()},
                  {"size", l.blob.size}, {"media_type", l.blob.media_type}, {"cached", cached}};
        if (cached) j["dir"] = dir;
        arr.push_back(j);
    }
    if (o.json) {
        print_json({{"image", img.tags.empty() ? img.id() : img.tags.front()}, {"layers", arr}});
        return 0;
    }
    for (auto& j : arr) {
        std::string d = j["digest"];
        std::cout << j["index"].get<size_t>() << "  " << d.substr(7, 12) << "  " << j["size"].get<int64_t>() << " bytes  "
                  << (j["cached"].get<bool>() ? j["dir"].get<std::string>() : std::string("(not unpacked)")) << "\n";
    }
    return 0;
}

} // namespace bk::imgpack
