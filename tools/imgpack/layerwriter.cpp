#include "layerwriter.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <functional>
#include <vector>

#include "error.hpp"
#include "explain.hpp"

namespace bk::imgpack {

struct LayerWriter::Impl {
    oci::Store::BlobWriter blob;
    std::string compression;
    Sha256 diff;
    archive* ar = nullptr;
    z_stream zs{};
    ZSTD_CStream* zc = nullptr;
    std::vector<char> out = std::vector<char>(1 << 18);
    std::exception_ptr error;

    Impl(const oci::Store& s, std::string c) : blob(s.write_blob()), compression(std::move(c)) {
        if (compression == "gzip") {
            if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
                throw Error("start compressing the layer", "deflateInit2()", ENOMEM);
        } else if (compression == "zstd") {
            zc = ZSTD_createCStream();
            ZSTD_initCStream(zc, 3);
        }
    }
    ~Impl() {
        if (ar) archive_write_free(ar);
        if (compression == "gzip") deflateEnd(&zs);
        if (zc) ZSTD_freeCStream(zc);
    }
    void compress(const void* data, size_t size, bool end) {
        if (compression == "gzip") {
            zs.next_in = (Bytef*)data;
            zs.avail_in = unsigned(size);
            int rc;
            do {
                zs.next_out = (Bytef*)out.data();
                zs.avail_out = unsigned(out.size());
                rc = deflate(&zs, end ? Z_FINISH : Z_NO_FLUSH);
                blob.write(out.data(), out.size() - zs.avail_out);
            } while (zs.avail_out == 0 || (end && rc != Z_STREAM_END));
        } else if (compression == "zstd") {
            ZSTD_inBuffer ib{data, size, 0};
            for (;;) {
                ZSTD_outBuffer ob{out.data(), out.size(), 0};
                size_t rc = end ? ZSTD_endStream(zc, &ob) : ZSTD_compressStream(zc, &ob, &ib);
                if (ZSTD_isError(rc)) throw Error("compress the layer", "ZSTD_compressStream()", EINVAL);
                blob.write(out.data(), ob.pos);
                if (end ? rc == 0 : (ib.pos == ib.size && ob.pos < ob.size)) break;
            }
        } else {
            blob.write(data, size);
        }
    }
    static la_ssize_t write_cb(archive*, void* p, const void* buf, size_t n) {
        auto* self = static_cast<Impl*>(p);
        try {
            self->diff.update(buf, n);
            self->compress(buf, n, false);
            return la_ssize_t(n);
        } catch (...) {
            self->error = std::current_exception();
            return -1;
        }
    }
    void check(int rc, const std::string& what) {
        if (rc >= ARCHIVE_WARN) return;
        if (error) std::rethrow_exception(error);
        throw Error(what + ": " + (archive_error_string(ar) ? archive_error_string(ar) : "?"), "", EIO);
    }
};

LayerWriter::LayerWriter(const oci::Store& store, const std::string& compression)
    : impl_(std::make_unique<Impl>(store, compression)) {
    impl_->ar = archive_write_new();
    archive_write_set_format_pax_restricted(impl_->ar);  // ustar unless a name or size needs pax
    archive_write_set_bytes_per_block(impl_->ar, 512);
    impl_->check(archive_write_open(impl_->ar, impl_.get(), nullptr, &Impl::write_cb, nullptr), "start the layer's tar");
}

LayerWriter::~LayerWriter() = default;

void LayerWriter::parents(const std::string& name) {
    for (size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
        std::string dir = name.substr(0, slash);
        if (dirs_done_.count(dir)) continue;
        entry(dir, src_root_ + "/" + dir);
    }
}

void LayerWriter::entry(const std::string& name, const std::string& src) {
    struct stat st {};
    if (::lstat(src.c_str(), &st) < 0) throw_errno("add " + src + " to the layer", "lstat(" + quote(src) + ")");
    archive_entry* e = archive_entry_new();
    struct Free { archive_entry* e; ~Free() { archive_entry_free(e); } } free_e{e};
    archive_entry_copy_stat(e, &st);
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_unset_atime(e);
    archive_entry_unset_ctime(e);
    Fd fd;
    if (S_ISDIR(st.st_mode)) {
        dirs_done_.insert(name);
    } else if (S_ISLNK(st.st_mode)) {
        std::vector<char> target(size_t(st.st_size) + 2);
        ssize_t n = ::readlink(src.c_str(), target.data(), target.size() - 1);
        if (n < 0) throw_errno("add " + src + " to the layer", "readlink(" + quote(src) + ")");
        target[size_t(n)] = 0;
        archive_entry_copy_symlink(e, target.data());
    } else if (S_ISREG(st.st_mode)) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        if (st.st_nlink > 1) {
            auto it = inodes_.find(key);
            if (it != inodes_.end()) {
                archive_entry_copy_hardlink(e, it->second.c_str());
                archive_entry_set_size(e, 0);
            } else {
                inodes_[key] = name;
            }
        }
        if (!archive_entry_hardlink(e)) {
            fd = Fd(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!fd) throw_errno("add " + src + " to the layer", "open(" + quote(src) + ")");
        }
    } else if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        warn("skipped " + src + ": a socket cannot go into a layer");
        return;
    }
    impl_->check(archive_write_header(impl_->ar, e), "write " + name + " into the layer");
    if (fd) {
        std::vector<char> buf(1 << 17);
        for (;;) {
            ssize_t n = ::read(fd.get(), buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("add " + src + " to the layer", "read(" + quote(src) + ")");
            if (n == 0) break;
            la_ssize_t w = archive_write_data(impl_->ar, buf.data(), size_t(n));
            if (w < 0) impl_->check(int(w), "write " + name + " into the layer");
        }
    }
    ++entries_;
}

void LayerWriter::add(const std::string& name, const std::string& src) {
    parents(name);
    entry(name, src);
}

namespace {
void empty_entry(archive* ar, const std::string& name, std::function<void(int, const std::string&)> check) {
    archive_entry* e = archive_entry_new();
    archive_entry_copy_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0);
    archive_entry_set_size(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    int rc = archive_write_header(ar, e);
    archive_entry_free(e);
    check(rc, "write " + name + " into the layer");
}
} // namespace

void LayerWriter::add_whiteout(const std::string& name) {
    parents(name);
    auto slash = name.rfind('/');
    std::string wh = slash == std::string::npos ? ".wh." + name : name.substr(0, slash + 1) + ".wh." + name.substr(slash + 1);
    empty_entry(impl_->ar, wh, [&](int rc, const std::string& w) { impl_->check(rc, w); });
    ++entries_;
}

void LayerWriter::add_opaque(const std::string& dir) {
    std::string name = dir.empty() ? ".wh..wh..opq" : dir + "/.wh..wh..opq";
    parents(name);
    empty_entry(impl_->ar, name, [&](int rc, const std::string& w) { impl_->check(rc, w); });
    ++entries_;
}

Layer LayerWriter::finish() {
    impl_->check(archive_write_close(impl_->ar), "end the layer's tar");
    impl_->compress(nullptr, 0, true);
    Layer l;
    l.diff_id = impl_->diff.finish();
    l.blob = impl_->blob.commit();
    l.blob.media_type = impl_->compression == "gzip"   ? oci::media::oci_layer_gzip
                        : impl_->compression == "zstd" ? oci::media::oci_layer_zstd
                                                       : oci::media::oci_layer_tar;
    return l;
}

} // namespace bk::imgpack
