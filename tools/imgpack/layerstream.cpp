#include "layerstream.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

#include "error.hpp"
#include "explain.hpp"

namespace bk::imgpack {

namespace {
constexpr size_t k_buf = 1 << 20;     // one piece handed to the consumer
constexpr size_t k_in = 256 << 10;    // one read(2) of the blob
constexpr int k_pieces = 8;           // pieces in flight: bounds memory at ~8 MiB

struct Stopped {};  // the consumer went away: leave quietly
} // namespace

Compression sniff_compression(const unsigned char* p, size_t n) {
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return Compression::gzip;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return Compression::zstd;
    return Compression::none;
}

const char* compression_name(Compression c) {
    switch (c) {
    case Compression::gzip: return "gzip";
    case Compression::zstd: return "zstd";
    default: return "none";
    }
}

LayerStream::LayerStream(Fd blob, LayerCheck check) : fd_(std::move(blob)), check_(std::move(check)) {
    for (int i = 0; i < k_pieces; ++i) free_.push_back(std::make_unique<Buf>(k_buf));
    thread_ = std::thread([this] { produce(); });
}

LayerStream::~LayerStream() {
    {
        std::lock_guard lk(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::unique_ptr<LayerStream::Buf> LayerStream::take_free() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return stop_ || !free_.empty(); });
    if (stop_) throw Stopped{};
    auto b = std::move(free_.front());
    free_.pop_front();
    return b;
}

void LayerStream::push(std::unique_ptr<Buf> b) {
    {
        std::lock_guard lk(mu_);
        full_.push_back(std::move(b));
    }
    cv_.notify_all();
}

// The reading thread: read, hash, inflate, hash, hand over.
void LayerStream::produce() {
    try {
        Sha256 blob_hash;
        std::vector<unsigned char> in(k_in);
        std::unique_ptr<Buf> out;
        size_t out_len = 0;
        auto flush = [&] {
            if (!out || out_len == 0) return;
            uncompressed_ += out_len;
            if (check_.max_bytes && uncompressed_ > check_.max_bytes)
                throw Error("unpack " + check_.shown + ": it expands past the budget of " +
                                std::to_string(check_.max_bytes) + " bytes (a decompression bomb?)",
                            "", EFBIG, "raise --max-bytes if the image is really this large");
            out->resize(out_len);
            push(std::move(out));
            out_len = 0;
        };
        auto room = [&]() -> char* {
            if (!out) {
                out = take_free();
                out->resize(k_buf);
                out_len = 0;
            }
            return out->data() + out_len;
        };
        auto read_some = [&]() -> size_t {
            for (;;) {
                ssize_t n = ::read(fd_.get(), in.data(), in.size());
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) throw_errno("read " + check_.shown, "read(" + check_.shown + ")");
                blob_hash.update(in.data(), size_t(n));
                compressed_ += size_t(n);
                if (check_.size >= 0 && compressed_ > uint64_t(check_.size))
                    throw Error("unpack " + check_.shown + ": the blob is larger than the " +
                                    std::to_string(check_.size) + " bytes its manifest says",
                                "", EINVAL, "the store is damaged; pull or load the image again");
                return size_t(n);
            }
        };

        size_t have = read_some();
        compression_ = sniff_compression(in.data(), have);
        if (compression_ == Compression::none) {
            while (have > 0) {
                size_t off = 0;
                while (off < have) {
                    char* dst = room();
                    size_t n = std::min(have - off, k_buf - out_len);
                    std::memcpy(dst, in.data() + off, n);
                    out_len += n;
                    off += n;
                    if (out_len == k_buf) flush();
                }
                have = read_some();
            }
        } else if (compression_ == Compression::gzip) {
            z_stream zs{};
            if (inflateInit2(&zs, 15 + 32) != Z_OK) throw Error("start inflating " + check_.shown, "inflateInit2()", ENOMEM);
            struct End { z_stream* z; ~End() { inflateEnd(z); } } end{&zs};
            // No CRC-32: the blob's SHA-256 and the diff_id already check every byte.
            inflateValidate(&zs, 0);
            bool stream_end = false;
            while (have > 0) {
                zs.next_in = in.data();
                zs.avail_in = unsigned(have);
                while (zs.avail_in > 0) {
                    if (stream_end) {  // another gzip member follows (pigz -i, cat a.gz b.gz)
                        inflateReset(&zs);
                        inflateValidate(&zs, 0);
                        stream_end = false;
                    }
                    char* dst = room();
                    zs.next_out = reinterpret_cast<Bytef*>(dst);
                    zs.avail_out = unsigned(k_buf - out_len);
                    int rc = inflate(&zs, Z_NO_FLUSH);
                    out_len = k_buf - zs.avail_out;
                    if (rc == Z_STREAM_END) stream_end = true;
                    else if (rc != Z_OK && rc != Z_BUF_ERROR)
                        throw Error("inflate " + check_.shown + ": " + (zs.msg ? zs.msg : "corrupt gzip data"),
                                    "inflate()", EINVAL, "the layer is damaged; pull or load the image again");
                    if (out_len == k_buf) flush();
                    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
                }
                have = read_some();
            }
            if (!stream_end) throw Error("inflate " + check_.shown + ": the gzip stream is cut short", "inflate()", EINVAL,
                                         "the layer is damaged; pull or load the image again");
        } else {
            ZSTD_DStream* zd = ZSTD_createDStream();
            struct End { ZSTD_DStream* z; ~End() { ZSTD_freeDStream(z); } } end{zd};
            ZSTD_initDStream(zd);
            size_t last = 1;
            while (have > 0) {
                ZSTD_inBuffer ib{in.data(), have, 0};
                while (ib.pos < ib.size) {
                    char* dst = room();
                    ZSTD_outBuffer ob{dst, k_buf - out_len, 0};
                    last = ZSTD_decompressStream(zd, &ob, &ib);
                    if (ZSTD_isError(last))
                        throw Error("decompress " + check_.shown + ": " + ZSTD_getErrorName(last), "ZSTD_decompressStream()",
                                    EINVAL, "the layer is damaged; pull or load the image again");
                    out_len += ob.pos;
                    if (out_len == k_buf) flush();
                }
                have = read_some();
            }
            // Drain what zstd still holds.
            for (;;) {
                char* dst = room();
                ZSTD_inBuffer ib{nullptr, 0, 0};
                ZSTD_outBuffer ob{dst, k_buf - out_len, 0};
                size_t rc = ZSTD_decompressStream(zd, &ob, &ib);
                if (ZSTD_isError(rc)) break;
                out_len += ob.pos;
                if (out_len == k_buf) { flush(); continue; }
                break;
            }
            if (last != 0) throw Error("decompress " + check_.shown + ": the zstd stream is cut short", "ZSTD_decompressStream()",
                                       EINVAL, "the layer is damaged; pull or load the image again");
        }
        flush();
        got_digest_ = blob_hash.finish();
    } catch (Stopped&) {
    } catch (...) {
        std::lock_guard lk(mu_);
        error_ = std::current_exception();
    }
    {
        std::lock_guard lk(mu_);
        eof_ = true;
    }
    cv_.notify_all();
}

size_t LayerStream::next(const void** data) {
    std::unique_lock lk(mu_);
    if (current_) free_.push_back(std::move(current_));
    cv_.notify_all();
    cv_.wait(lk, [&] { return !full_.empty() || eof_; });
    if (!full_.empty()) {
        current_ = std::move(full_.front());
        full_.pop_front();
        lk.unlock();
        // The diff_id is hashed here, on the consumer's thread: inflating is
        // the heavier half, so this balances the two cores.
        tar_hash_.update(current_->data(), current_->size());
        *data = current_->data();
        return current_->size();
    }
    if (error_) std::rethrow_exception(error_);
    return 0;
}

void LayerStream::finish() {
    if (finished_) return;
    const void* p;
    while (next(&p) > 0) {}  // the rest (tar's zero blocks) still counts for the digests
    thread_.join();
    finished_ = true;
    got_diff_id_ = tar_hash_.finish();
    if (check_.digest.valid() && got_digest_ != check_.digest)
        throw Error("unpack " + check_.shown + ": its content has the digest " + got_digest_.str() + ", not " +
                        check_.digest.str(),
                    "", EINVAL, "the store is damaged; remove the image, then pull or load it again");
    if (check_.size >= 0 && compressed_ != uint64_t(check_.size))
        throw Error("unpack " + check_.shown + ": it is " + std::to_string(compressed_) + " bytes, not " +
                        std::to_string(check_.size),
                    "", EINVAL, "the store is damaged; remove the image, then pull or load it again");
    if (check_.diff_id.valid() && got_diff_id_ != check_.diff_id)
        throw Error("unpack " + check_.shown + ": the uncompressed layer has the digest " + got_diff_id_.str() +
                        ", not the diff_id " + check_.diff_id.str() + " its config names",
                    "", EINVAL, "the image's config and layers do not belong together; rebuild or pull it again");
}

} // namespace bk::imgpack
