#include "specs.hpp"

#include <algorithm>
#include <cctype>
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
    auto bad = [&] {
        return Error("understand --user " + spec, "", 0,
                     "write --user USER or --user USER:GROUP, with numbers or names, e.g. --user 1000:1000 or --user nobody");
    };
    // A name as useradd(8) takes it: no ':', no '/', nothing a number could be.
    auto is_name = [](const std::string& s) {
        if (s.empty() || s.size() > 32 || !(std::isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
        return std::all_of(s.begin(), s.end(),
                           [](char c) { return std::isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.'; });
    };
    UserSpec u;
    auto colon = spec.find(':');
    std::string user = spec.substr(0, colon);
    unsigned id = 0;
    if (parse_id(user, id)) u.uid = u.gid = id;
    else if (is_name(user)) u.user_name = user;
    else throw bad();
    if (colon == std::string::npos) return u;
    std::string group = spec.substr(colon + 1);
    u.group_given = true;
    if (parse_id(group, id)) u.gid = id;
    else if (is_name(group)) u.group_name = group;
    else throw bad();
    return u;
}

std::vector<IdEntry> parse_id_file(const std::string& text) {
    std::vector<IdEntry> out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        start = end + 1;
        std::vector<std::string> f;
        for (size_t p = 0;;) {
            size_t c = line.find(':', p);
            f.push_back(line.substr(p, c == std::string::npos ? std::string::npos : c - p));
            if (c == std::string::npos) break;
            p = c + 1;
        }
        IdEntry e;
        if (f.size() < 3 || f[0].empty() || !parse_id(f[2], e.id)) continue;  // comments, junk
        e.name = f[0];
        if (f.size() >= 4 && !parse_id(f[3], e.gid)) e.gid = e.id;
        out.push_back(e);
    }
    return out;
}

void resolve_user(UserSpec& u, const std::vector<IdEntry>& passwd, const std::vector<IdEntry>& group) {
    // The entry of that name, or an error naming the file that lacks it.
    auto find = [](const std::vector<IdEntry>& entries, const std::string& name, const std::string& what,
                   const std::string& file, const std::string& instead) -> const IdEntry& {
        for (auto& e : entries)
            if (e.name == name) return e;
        throw Error("run as the " + what + " " + name, "", 0,
                    "the box's " + file + " has no such " + what + "; add it there, or give " + instead);
    };
    if (!u.user_name.empty()) {
        const IdEntry& e = find(passwd, u.user_name, "user", "/etc/passwd", "numbers: --user UID[:GID]");
        u.uid = e.id;
        if (!u.group_given) u.gid = e.gid;
    }
    if (!u.group_name.empty()) u.gid = find(group, u.group_name, "group", "/etc/group", "a number: --user USER:GID").id;
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
