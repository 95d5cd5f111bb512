// Reading one layer blob: verify, decompress, verify again, as it streams.
//
// A layer is a tar archive, maybe gzip- or zstd-compressed. Two digests guard
// it: the blob's digest (of the compressed bytes, in the manifest) and its
// diff_id (of the uncompressed tar, in the config). Both are computed while
// the bytes pass, never by a second read. A second thread reads, hashes and
// inflates while the caller's thread creates files, so inflate (~390 MB/s on
// one core) and file creation (the other core) overlap.
//
// The stream also enforces the decompression-bomb budget: past max_bytes of
// uncompressed tar it stops with an error, whatever the blob's size.
#pragma once
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "digest.hpp"
#include "fd.hpp"

namespace bk::imgpack {

enum class Compression { none, gzip, zstd };
// From the first bytes: 1f 8b is gzip, 28 b5 2f fd is zstd, anything else tar.
Compression sniff_compression(const unsigned char* p, size_t n);
const char* compression_name(Compression c);

struct LayerCheck {
    std::string shown;        // how messages name the layer ("layer 2 (sha256:ab12...)")
    Digest digest;            // of the blob; empty = do not check
    int64_t size = -1;        // of the blob; -1 = do not check
    Digest diff_id;           // of the uncompressed tar; empty = do not check
    uint64_t max_bytes = 0;   // uncompressed budget; 0 = none
};

class LayerStream {
public:
    // Takes the blob's fd and starts the reading thread.
    LayerStream(Fd blob, LayerCheck check);
    ~LayerStream();  // stops and joins the thread
    LayerStream(const LayerStream&) = delete;
    LayerStream& operator=(const LayerStream&) = delete;

    // The next piece of uncompressed tar, valid until the next call; 0 at the
    // end. Throws the reader's error (digest, size, budget, corrupt data).
    size_t next(const void** data);
    // Read what the consumer left (tar padding), join, and check both
    // digests. Throws on a mismatch: the layer must then be thrown away.
    void finish();

    Digest digest() const { return got_digest_; }
    Digest diff_id() const { return got_diff_id_; }
    uint64_t compressed_bytes() const { return compressed_; }
    uint64_t uncompressed_bytes() const { return uncompressed_; }
    Compression compression() const { return compression_; }

private:
    using Buf = std::vector<char>;
    void produce();
    void push(std::unique_ptr<Buf> b);
    std::unique_ptr<Buf> take_free();

    Fd fd_;
    LayerCheck check_;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<Buf>> full_, free_;
    std::unique_ptr<Buf> current_;  // the piece the consumer holds
    bool eof_ = false, stop_ = false, finished_ = false;
    std::exception_ptr error_;
    Digest got_digest_, got_diff_id_;
    Sha256 tar_hash_;  // the diff_id, hashed on the consumer's thread
    uint64_t compressed_ = 0, uncompressed_ = 0;
    Compression compression_ = Compression::none;
};

} // namespace bk::imgpack
