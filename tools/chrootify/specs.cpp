#include "specs.hpp"

#include <charconv>
#include <climits>

#include "error.hpp"

namespace bk::chrootify {

namespace {

std::string quote_path(const std::string& p) { return "'" + p + "'"; }

bool parse_id(const std::string& s, unsigned& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    // (uid_t)-1 means "no change" to the set*id calls: never a real id.
    return ec == std::errc() && end == s.data() + s.size() && out != UINT_MAX;
}

void check_overlay_path(const std::string& what, const std::string& path) {
    // The overlay's option string is split on ',' and lowerdir on ':'.
    if (path.empty() || path.find_first_of(",:") != std::string::npos)
        throw Error("use " + quote_path(path) + " as " + what, "", 0,
                    "overlay paths may not be empty or contain ',' or ':'; rename or move the directory");
}

} // namespace

BindSpec parse_bind(const std::string& spec) {
    BindSpec b;
    auto first = spec.find(':');
    if (first == std::string::npos || first == 0 || first + 1 >= spec.size())
        throw Error("understand --bind " + spec, "", 0, "write --bind SRC:DST or --bind SRC:DST:ro, e.g. --bind ./data:/data:ro");
    b.source = spec.substr(0, first);
    std::string rest = spec.substr(first + 1);
    auto second = rest.find(':');
    if (second != std::string::npos) {
        std::string mode = rest.substr(second + 1);
        rest = rest.substr(0, second);
        if (mode == "ro")
            b.read_only = true;
        else if (mode != "rw")
            throw Error("understand --bind " + spec, "", 0, "the third field is ro or rw, e.g. --bind ./data:/data:ro");
    }
    if (rest.empty() || rest[0] != '/')
        throw Error("understand --bind " + spec, "", 0, "DST is a path inside the new root and starts with /, e.g. /data");
    b.target = rest;
    return b;
}

UserSpec parse_user(const std::string& spec) {
    UserSpec u;
    auto colon = spec.find(':');
    unsigned uid = 0, gid = 0;
    std::string uid_s = spec.substr(0, colon);
    if (!parse_id(uid_s, uid)) throw Error("understand --user " + spec, "", 0, "write --user UID or --user UID:GID with numbers, e.g. --user 1000:1000");
    gid = uid;
    if (colon != std::string::npos && !parse_id(spec.substr(colon + 1), gid))
        throw Error("understand --user " + spec, "", 0, "write --user UID or --user UID:GID with numbers, e.g. --user 1000:1000");
    u.uid = uid;
    u.gid = gid;
    return u;
}

void check_env(const std::string& kv) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
        throw Error("understand --env " + kv, "", 0, "write --env NAME=VALUE, e.g. --env GREETING=hello");
}

std::vector<std::string> split_lowers(const std::string& lowers) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        auto end = lowers.find(':', start);
        std::string part = lowers.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (part.empty()) throw Error("understand --overlay " + lowers, "", 0, "write --overlay TOP:...:BOTTOM, directories separated by ':'");
        out.push_back(part);
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return out;
}

std::string overlay_options(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work) {
    std::string opts = "lowerdir=";
    for (size_t i = 0; i < lowers.size(); ++i) {
        if (lowers[i].find(',') != std::string::npos)
            throw Error("use " + lowers[i] + " as a lower layer", "", 0, "overlay paths may not contain ','");
        opts += (i ? ":" : "") + lowers[i];
    }
    check_overlay_path("the upper directory", upper);
    check_overlay_path("the work directory", work);
    return opts + ",upperdir=" + upper + ",workdir=" + work;
}

} // namespace bk::chrootify
