// The safe extractor against hostile layers, built here in memory. Each case
// keeps a sentinel directory beside the root that must not change at all.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "error.hpp"
#include "../../tools/imgpack/layerstream.hpp"
#include "safepath.hpp"
#include "tempdir.hpp"
#include "../../tools/imgpack/unpack.hpp"

using namespace bk::imgpack;

namespace {

struct E {
    std::string name;
    char type = 'f';          // f file, d dir, l symlink, h hardlink, c chardev
    std::string data;         // content, or link target
    unsigned mode = 0644;
};

std::string make_tar(const std::vector<E>& entries) {
    std::string out;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_set_bytes_per_block(a, 512);
    archive_write_open(a, &out, nullptr,
                       [](archive*, void* p, const void* buf, size_t n) -> la_ssize_t {
                           static_cast<std::string*>(p)->append(static_cast<const char*>(buf), n);
                           return la_ssize_t(n);
                       },
                       nullptr);
    for (auto& e : entries) {
        archive_entry* ae = archive_entry_new();
        archive_entry_copy_pathname(ae, e.name.c_str());
        archive_entry_set_perm(ae, e.mode);
        archive_entry_set_uid(ae, geteuid());
        archive_entry_set_gid(ae, getegid());
        archive_entry_set_mtime(ae, 1000000, 0);
        switch (e.type) {
        case 'd': archive_entry_set_filetype(ae, AE_IFDIR); break;
        case 'l': archive_entry_set_filetype(ae, AE_IFLNK); archive_entry_copy_symlink(ae, e.data.c_str()); break;
        case 'h': archive_entry_set_filetype(ae, AE_IFREG); archive_entry_copy_hardlink(ae, e.data.c_str()); break;
        case 'c': archive_entry_set_filetype(ae, AE_IFCHR); archive_entry_set_rdev(ae, makedev(1, 3)); break;
        default: archive_entry_set_filetype(ae, AE_IFREG); archive_entry_set_size(ae, la_int64_t(e.data.size()));
        }
        archive_write_header(a, ae);
        if (e.type == 'f') archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    return out;
}

// Every path, type, mode, size, link target and content under dir.
void describe(const std::string& dir, const std::string& rel, std::ostringstream& out) {
    std::vector<std::string> names;
    if (DIR* d = opendir((dir + rel).c_str())) {
        while (auto* e = readdir(d)) if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") names.push_back(e->d_name);
        closedir(d);
    }
    std::sort(names.begin(), names.end());
    for (auto& n : names) {
        std::string p = rel + "/" + n;
        struct stat st {};
        lstat((dir + p).c_str(), &st);
        out << p << " " << std::oct << st.st_mode << std::dec << " " << st.st_size << " " << st.st_nlink << " " << st.st_mtime;
        if (S_ISLNK(st.st_mode)) {
            char buf[4096];
            ssize_t k = readlink((dir + p).c_str(), buf, sizeof buf);
            out << " -> " << std::string(buf, size_t(std::max<ssize_t>(k, 0)));
        } else if (S_ISREG(st.st_mode)) {
            std::ifstream in(dir + p);
            out << " " << std::string(std::istreambuf_iterator<char>(in), {});
        }
        out << "\n";
        if (S_ISDIR(st.st_mode)) describe(dir, p, out);
    }
}

std::string tree(const std::string& dir) {
    std::ostringstream out;
    describe(dir, "", out);
    return out.str();
}

struct Box {
    bk::TempDir tmp{"boxkit-unpack"};
    std::string root = tmp.path() + "/root";
    std::string sentinel = tmp.path() + "/sentinel";
    bk::Fd fd;
    std::string before;
    explicit Box(WhiteoutMode mode = WhiteoutMode::apply) : mode(mode) {
        mkdir(root.c_str(), 0755);
        mkdir(sentinel.c_str(), 0755);
        mkdir((sentinel + "/dir").c_str(), 0755);
        std::ofstream(sentinel + "/secret") << "keep me\n";
        std::ofstream(sentinel + "/dir/x") << "x\n";
        chmod((sentinel + "/secret").c_str(), 0600);
        before = tree(sentinel);
        fd = bk::Fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    WhiteoutMode mode;
    UnpackStats apply(const std::vector<E>& entries, Budget budget = {}) {
        std::string tar = make_tar(entries);
        bool given = false;
        Extractor x(fd.get(), root, mode, budget);
        return x.apply(
            [&](const void** p) -> size_t {
                if (given) return 0;
                given = true;
                *p = tar.data();
                return tar.size();
            },
            "a test layer");
    }
    bool sentinel_same() const { return tree(sentinel) == before; }
    std::string read(const std::string& p) const {
        std::ifstream in(root + p);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    bool exists(const std::string& p) const {
        struct stat st {};
        return lstat((root + p).c_str(), &st) == 0;
    }
};

} // namespace

TEST_CASE("unpack: files, directories, symlinks, hard links, modes") {
    Box b;
    auto st = b.apply({{"etc", 'd', "", 0755}, {"etc/hostname", 'f', "box\n", 0640}, {"bin/sh", 'f', "#!", 04755},
                       {"etc/link", 'l', "hostname"}, {"etc/hard", 'h', "etc/hostname"}});
    CHECK(b.read("/etc/hostname") == "box\n");
    CHECK(b.read("/etc/link") == "box\n");
    struct stat s {};
    REQUIRE(lstat((b.root + "/etc/hostname").c_str(), &s) == 0);
    CHECK((s.st_mode & 07777) == 0640);
    CHECK(s.st_nlink == 2);
    CHECK(s.st_mtime == 1000000);
    REQUIRE(lstat((b.root + "/bin/sh").c_str(), &s) == 0);
    CHECK((s.st_mode & 07777) == 04755);
    REQUIRE(lstat((b.root + "/etc").c_str(), &s) == 0);
    CHECK(s.st_mtime == 1000000);  // directory times set after their entries
    CHECK(st.files == 2);
    CHECK(b.sentinel_same());
}

TEST_CASE("unpack: hostile paths stay inside the root") {
    Box b;
    b.apply({{"../sentinel/secret", 'f', "pwned"}, {"../../../../sentinel/dir/x", 'f', "pwned"},
             {"/sentinel/new", 'f', "abs"}, {"a/../../sentinel/y", 'f', "y"}});
    CHECK(b.sentinel_same());
    CHECK(b.read("/sentinel/secret") == "pwned");  // clamped to the root, as if it were "/"
    CHECK(b.read("/sentinel/new") == "abs");
}

TEST_CASE("unpack: a symlink planted as a parent does not carry later entries out") {
    Box probe;
    for (std::string target : {std::string("../sentinel"), std::string("../../sentinel"), std::string("/"),
                               std::string("/.."), probe.sentinel, std::string("../../../../..") + probe.sentinel}) {
        INFO(target);
        Box b;
        b.apply({{"up", 'l', target}, {"up/secret", 'f', "pwned"}, {"up/dir/x", 'f', "pwned"}, {"up/new", 'f', "new"}});
        CHECK(b.sentinel_same());
    }
    // across layers: the link in one, the write in the next
    Box c;
    c.apply({{"up", 'l', c.sentinel}});
    c.apply({{"up/secret", 'f', "pwned"}, {"up/dir", 'd', "", 0777}});
    CHECK(c.sentinel_same());
}

TEST_CASE("unpack: hard links to outside targets are refused or stay inside") {
    Box b;
    CHECK_THROWS_AS(b.apply({{"h", 'h', "../sentinel/secret"}}), bk::Error);  // no such file inside
    Box c;
    c.apply({{"up", 'l', c.sentinel}});
    CHECK_THROWS_AS(c.apply({{"h", 'h', "up/secret"}}), bk::Error);
    Box d;  // a link to a symlink links the symlink itself, never its target
    d.apply({{"lnk", 'l', d.sentinel + "/secret"}, {"h", 'h', "lnk"}});
    struct stat s {};
    REQUIRE(lstat((d.root + "/h").c_str(), &s) == 0);
    CHECK(S_ISLNK(s.st_mode));
    CHECK(d.sentinel_same());
    for (Box* x : {&b, &c, &d}) CHECK(x->sentinel_same());
}

TEST_CASE("unpack: entries replacing symlinks replace the link, never write through it") {
    Box b;
    b.apply({{"f", 'l', b.sentinel + "/secret"}, {"d", 'l', b.sentinel + "/dir"}});
    b.apply({{"f", 'f', "mine", 0777}, {"d", 'd', "", 0777}, {"d/x", 'f', "mine"}});
    CHECK(b.read("/f") == "mine");
    CHECK(b.read("/d/x") == "mine");
    CHECK(b.sentinel_same());
}

TEST_CASE("unpack: the root itself cannot become a symlink or a file") {
    for (std::string name : {".", "./", "/", "a/.."}) {
        INFO(name);
        Box b;
        CHECK_THROWS_AS(b.apply({{name, 'l', b.sentinel}}), bk::Error);
        // (libarchive reads a "file" whose name ends in "/" as a directory, as old tars meant)
        if (name.back() != '/') CHECK_THROWS_AS(b.apply({{name, 'f', "x"}}), bk::Error);
        struct stat s {};
        REQUIRE(lstat(b.root.c_str(), &s) == 0);
        CHECK(S_ISDIR(s.st_mode));
        CHECK(b.sentinel_same());
    }
    Box ok;
    ok.apply({{"./", 'd', "", 0711}});
    struct stat s {};
    REQUIRE(stat(ok.root.c_str(), &s) == 0);
    CHECK((s.st_mode & 0777) == 0711);
}

TEST_CASE("unpack: whiteouts remove from lower layers only") {
    Box b;
    b.apply({{"a/x", 'f', "x"}, {"a/y", 'f', "y"}, {"gone", 'd'}, {"gone/deep", 'f', "d"}});
    b.apply({{"a/.wh.x", 'f'}, {".wh.gone", 'f'}, {"a/z", 'f', "z"}, {"a/.wh.z", 'f'}});
    CHECK_FALSE(b.exists("/a/x"));
    CHECK(b.exists("/a/y"));
    CHECK_FALSE(b.exists("/gone"));
    CHECK(b.exists("/a/z"));  // the same layer's own file stays
    CHECK(b.sentinel_same());
}

TEST_CASE("unpack: opaque directories hide the lower layers' entries, not their own") {
    Box b;
    b.apply({{"d/old1", 'f', "1"}, {"d/old2", 'f', "2"}});
    b.apply({{"d/kept-before", 'f', "k"}, {"d/.wh..wh..opq", 'f'}, {"d/new", 'f', "n"}});
    CHECK_FALSE(b.exists("/d/old1"));
    CHECK_FALSE(b.exists("/d/old2"));
    CHECK(b.exists("/d/kept-before"));
    CHECK(b.exists("/d/new"));
}

TEST_CASE("unpack: whiteouts through symlinked parents stay inside") {
    Box b;
    b.apply({{"up", 'l', b.sentinel}, {"up2", 'l', "../sentinel"}, {"dirlink", 'l', b.sentinel + "/dir"}});
    b.apply({{"up/.wh.secret", 'f'}, {"up2/.wh.dir", 'f'}, {"dirlink/.wh..wh..opq", 'f'}, {"../sentinel/.wh.secret", 'f'}});
    CHECK(b.sentinel_same());
    Box c;  // a whiteout naming ".." or "." is malformed
    CHECK_THROWS_AS(c.apply({{".wh..", 'f'}}), bk::Error);
    CHECK(c.sentinel_same());
}

TEST_CASE("unpack: a file replaces a directory and a directory a file") {
    Box b;
    b.apply({{"x", 'd'}, {"x/inner", 'f', "i"}, {"y", 'f', "y"}});
    b.apply({{"x", 'f', "now a file"}, {"y", 'd'}, {"y/z", 'f', "z"}});
    CHECK(b.read("/x") == "now a file");
    CHECK(b.read("/y/z") == "z");
}

TEST_CASE("unpack: overlay mode writes overlayfs whiteouts") {
    if (geteuid() != 0) { WARN("skipped: " "overlay whiteouts (trusted.* xattrs, 0/0 devices) need root"); return; }
    Box b(WhiteoutMode::overlay);
    b.apply({{"a/.wh.gone", 'f'}, {"d", 'd'}, {"d/.wh..wh..opq", 'f'}, {"d/f", 'f', "f"}});
    struct stat s {};
    REQUIRE(lstat((b.root + "/a/gone").c_str(), &s) == 0);
    CHECK(S_ISCHR(s.st_mode));
    CHECK(s.st_rdev == makedev(0, 0));
    char v[4] = {};
    CHECK(lgetxattr((b.root + "/d").c_str(), "trusted.overlay.opaque", v, sizeof v) == 1);
    CHECK(v[0] == 'y');
    CHECK(b.read("/d/f") == "f");
}

TEST_CASE("unpack: a layer may not set overlay xattrs itself") {
    if (geteuid() != 0) { WARN("skipped: " "needs root for trusted.* xattrs"); return; }
    Box b(WhiteoutMode::overlay);
    std::string tar;
    {
        archive* a = archive_write_new();
        archive_write_set_format_pax(a);
        archive_write_open(a, &tar, nullptr,
                           [](archive*, void* p, const void* buf, size_t n) -> la_ssize_t {
                               static_cast<std::string*>(p)->append(static_cast<const char*>(buf), n);
                               return la_ssize_t(n);
                           },
                           nullptr);
        archive_entry* ae = archive_entry_new();
        archive_entry_copy_pathname(ae, "d");
        archive_entry_set_filetype(ae, AE_IFDIR);
        archive_entry_set_perm(ae, 0755);
        archive_entry_xattr_add_entry(ae, "trusted.overlay.redirect", "/etc", 4);
        archive_write_header(a, ae);
        archive_entry_free(ae);
        archive_write_close(a);
        archive_write_free(a);
    }
    bool given = false;
    Extractor x(b.fd.get(), b.root, WhiteoutMode::overlay, {});
    x.apply([&](const void** p) -> size_t { if (given) return 0; given = true; *p = tar.data(); return tar.size(); }, "layer");
    char v[16];
    CHECK(lgetxattr((b.root + "/d").c_str(), "trusted.overlay.redirect", v, sizeof v) < 0);
}

TEST_CASE("unpack: the entry budget stops a layer") {
    Box b;
    std::vector<E> many;
    for (int i = 0; i < 50; ++i) many.push_back({"f" + std::to_string(i), 'f', "x"});
    Budget small;
    small.max_entries = 10;
    CHECK_THROWS_AS(b.apply(many, small), bk::Error);
    CHECK(b.sentinel_same());
}

TEST_CASE("unpack: device nodes are made as root") {
    if (geteuid() != 0) { WARN("skipped: " "needs root"); return; }
    Box b;
    b.apply({{"dev/null", 'c', "", 0666}});
    struct stat s {};
    REQUIRE(lstat((b.root + "/dev/null").c_str(), &s) == 0);
    CHECK(S_ISCHR(s.st_mode));
}

TEST_CASE("whiteout names") {
    std::string t;
    bool opq;
    CHECK(is_whiteout(".wh.foo", t, opq));
    CHECK(t == "foo");
    CHECK_FALSE(opq);
    CHECK(is_whiteout(".wh..wh..opq", t, opq));
    CHECK(opq);
    CHECK_FALSE(is_whiteout("foo.wh.", t, opq));
    CHECK_FALSE(is_whiteout(".whfoo", t, opq));
}

// ---- the layer stream ----------------------------------------------------

namespace {
std::string gzip(const std::string& data) {
    z_stream zs{};
    deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(compressBound(uLong(data.size())) + 64, '\0');
    zs.next_in = (Bytef*)data.data();
    zs.avail_in = unsigned(data.size());
    zs.next_out = (Bytef*)out.data();
    zs.avail_out = unsigned(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}
bk::Fd fd_with(const std::string& data) {
    char path[] = "/tmp/boxkit-ls-XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    (void)!write(fd, data.data(), data.size());
    lseek(fd, 0, SEEK_SET);
    return bk::Fd(fd);
}
std::string drain(LayerStream& s) {
    std::string out;
    const void* p;
    size_t n;
    while ((n = s.next(&p)) > 0) out.append(static_cast<const char*>(p), n);
    return out;
}
} // namespace

TEST_CASE("layer stream: gzip and plain tar, both digests checked") {
    std::string tar(3 << 20, 'a');
    for (size_t i = 0; i < tar.size(); i += 4096) tar[i] = char(i * 7);
    std::string gz = gzip(tar);
    for (auto& [blob, comp] : std::vector<std::pair<std::string, Compression>>{{gz, Compression::gzip}, {tar, Compression::none}}) {
        LayerStream s(fd_with(blob), LayerCheck{"l", bk::sha256_of(blob), int64_t(blob.size()), bk::sha256_of(tar), 0});
        CHECK(drain(s) == tar);
        s.finish();
        CHECK(s.compression() == comp);
        CHECK(s.diff_id() == bk::sha256_of(tar));
    }
}

TEST_CASE("layer stream: a wrong digest, diff_id or size is refused") {
    std::string tar(100000, 'b');
    std::string gz = gzip(tar);
    {
        LayerStream s(fd_with(gz), LayerCheck{"l", bk::sha256_of("other"), -1, {}, 0});
        drain(s);
        CHECK_THROWS_AS(s.finish(), bk::Error);
    }
    {
        LayerStream s(fd_with(gz), LayerCheck{"l", {}, -1, bk::sha256_of("other"), 0});
        drain(s);
        CHECK_THROWS_AS(s.finish(), bk::Error);
    }
    {
        LayerStream s(fd_with(gz), LayerCheck{"l", {}, int64_t(gz.size()) - 1, {}, 0});
        CHECK_THROWS_AS(drain(s), bk::Error);
    }
    {
        LayerStream s(fd_with(gz.substr(0, gz.size() / 2)), LayerCheck{"l", {}, -1, {}, 0});
        CHECK_THROWS_AS(drain(s), bk::Error);  // cut short
    }
}

TEST_CASE("layer stream: a decompression bomb stops at the budget") {
    std::string zeros(64 << 20, '\0');
    std::string gz = gzip(zeros);  // ~64 KiB that expands to 64 MiB
    LayerStream s(fd_with(gz), LayerCheck{"bomb", {}, -1, {}, 8 << 20});
    CHECK_THROWS_AS(drain(s), bk::Error);
}

TEST_CASE("layer stream: the consumer may stop early; the destructor joins") {
    std::string tar(5 << 20, 'c');
    LayerStream s(fd_with(tar), LayerCheck{"l", {}, -1, {}, 0});
    const void* p;
    CHECK(s.next(&p) > 0);
}

TEST_CASE("compression sniffing") {
    unsigned char gz[] = {0x1f, 0x8b, 8}, zs[] = {0x28, 0xb5, 0x2f, 0xfd}, tar[] = {'e', 't', 'c'};
    CHECK(sniff_compression(gz, 3) == Compression::gzip);
    CHECK(sniff_compression(zs, 4) == Compression::zstd);
    CHECK(sniff_compression(tar, 3) == Compression::none);
    CHECK(sniff_compression(gz, 1) == Compression::none);
}
