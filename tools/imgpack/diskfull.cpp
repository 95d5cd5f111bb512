// A full disk, said plainly. write(2), fsync(2), mkdir(2) and link(2) fail
// with ENOSPC when the filesystem has no blocks or inodes left, and with
// EDQUOT when a quota is used up. The error already names the call and the
// errno; this adds which of imgpack's places filled up, and what to do.
// Nothing needs undoing here: a blob that did not fit was never named
// (lib/oci_store), a layer that did not fit was unpacked under a temporary
// name and removed, and an unpack removes what it wrote into DEST.
#include <cerrno>

#include "error.hpp"
#include "imgpack.hpp"
#include "paths.hpp"

namespace bk::imgpack {

int with_full_disk_hint(const std::string& hint, const std::function<int()>& body) {
    try {
        return body();
    } catch (const Error& e) {
        if (!full_disk_without_hint(e)) throw;
        Error full = e;
        throw full.with_hint(hint);
    }
}

std::string full_disk_hint(const std::string& subcommand, const Options& o) {
    std::string place, gc;
    if (subcommand == "unpack" || subcommand == "bundle") {
        place = "the target " + o.dest;
    } else if (subcommand == "save") {
        place = "the archive " + o.output;
    } else if (subcommand == "layers") {
        place = "the layer cache " + paths::layers();
        gc = " (imgpack gc removes layers no tag uses)";
    } else {
        place = "the image store " + paths::store();
        gc = " (imgpack gc removes blobs no tag reaches)";
    }
    return place + " is on a full filesystem (df -h shows it); nothing half-written was left there. Free space" + gc +
           " or use a larger filesystem";
}

} // namespace bk::imgpack
