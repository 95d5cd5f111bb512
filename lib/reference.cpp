#include "reference.hpp"

#include <cerrno>

#include "error.hpp"

namespace bk {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_path_component(std::string_view s) {
    if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
    for (size_t i = 0; i < s.size();) {
        if (is_lower_alnum(s[i])) { ++i; continue; }
        size_t j = i;
        if (s[i] == '.') j = i + 1;
        else if (s[i] == '_') j = (i + 1 < s.size() && s[i + 1] == '_') ? i + 2 : i + 1;
        else if (s[i] == '-') { while (j < s.size() && s[j] == '-') ++j; }
        else return false;
        if (j >= s.size() || !is_lower_alnum(s[j])) return false;
        i = j;
    }
    return true;
}

// host components [A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])? joined by ".", then :port
bool valid_domain(std::string_view s) {
    auto colon = s.rfind(':');
    std::string_view host = s, port;
    if (colon != std::string_view::npos) { host = s.substr(0, colon); port = s.substr(colon + 1); }
    if (colon != std::string_view::npos) {
        if (port.empty() || port.size() > 5) return false;
        for (char c : port) if (c < '0' || c > '9') return false;
    }
    if (host.empty()) return false;
    size_t start = 0;
    while (start <= host.size()) {
        size_t dot = host.find('.', start);
        if (dot == std::string_view::npos) dot = host.size();
        std::string_view part = host.substr(start, dot - start);
        if (part.empty() || !is_alnum(part.front()) || !is_alnum(part.back())) return false;
        for (char c : part) if (!is_alnum(c) && c != '-') return false;
        start = dot + 1;
    }
    return true;
}

// [\w][\w.-]{0,127}
bool valid_tag(std::string_view s) {
    if (s.empty() || s.size() > 128) return false;
    auto word = [](char c) { return is_alnum(c) || c == '_'; };
    if (!word(s[0])) return false;
    for (char c : s) if (!word(c) && c != '.' && c != '-') return false;
    return true;
}

struct Bad {
    std::string why, hint;
};

std::optional<Reference> parse_impl(std::string_view text, Bad& bad) {
    auto fail = [&](std::string why, std::string hint) {
        bad = {std::move(why), std::move(hint)};
        return std::nullopt;
    };
    if (text.empty()) return fail("it is empty", "name an image: alpine, alpine:3.19, 127.0.0.1:5000/team/app:1");
    Reference r;
    std::string_view rest = text;
    if (auto at = rest.find('@'); at != std::string_view::npos) {
        auto d = Digest::try_parse(rest.substr(at + 1));
        if (!d) return fail("its digest is not sha256: and 64 lowercase hex digits", "write NAME@sha256:<64 hex digits>");
        r.digest = *d;
        rest = rest.substr(0, at);
    }
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        std::string_view tag = rest.substr(colon + 1);
        if (!valid_tag(tag)) return fail("the tag \"" + std::string(tag) + "\" is not valid",
                                         "a tag is letters, digits, _ . - (up to 128), not starting with . or -");
        r.tag = tag;
        rest = rest.substr(0, colon);
    }
    if (rest.empty()) return fail("it has no name", "name an image: alpine, alpine:3.19");
    auto first = rest.find('/');
    std::string_view head = rest.substr(0, first);
    bool has_domain = first != std::string_view::npos &&
                      (head.find_first_of(".:") != std::string_view::npos || head == "localhost" ||
                       head.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos);
    std::string_view path = rest;
    if (has_domain) {
        if (!valid_domain(head)) return fail("the registry \"" + std::string(head) + "\" is not a host[:port]",
                                             "write HOST[:PORT]/NAME, e.g. 127.0.0.1:5000/team/app:1");
        r.domain = head == "index.docker.io" ? "docker.io" : std::string(head);
        path = rest.substr(first + 1);
    } else {
        r.domain = "docker.io";
    }
    if (path.size() == 64 && path.find_first_not_of("0123456789abcdef") == std::string_view::npos && !has_domain)
        return fail("it looks like an image ID, not a name", "use the ID on its own where an ID is accepted, or name the image");
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view comp = path.substr(start, end - start);
        if (!valid_path_component(comp)) {
            bool upper = comp.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos;
            return fail(upper ? "repository names must be lowercase"
                              : "the name part \"" + std::string(comp) + "\" is not valid",
                        "names are lowercase letters and digits, separated by . _ __ or -, joined by /");
        }
        start = end + 1;
    }
    r.path = std::string(path);
    if (r.domain == "docker.io" && r.path.find('/') == std::string::npos) r.path = "library/" + r.path;
    if (r.name().size() > 255) return fail("the name is longer than 255 characters", "use a shorter name");
    if (r.tag.empty() && !r.digest.valid()) r.tag = "latest";
    return r;
}

} // namespace

std::optional<Reference> Reference::try_parse(std::string_view text) {
    Bad bad;
    return parse_impl(text, bad);
}

Reference Reference::parse(std::string_view text) {
    Bad bad;
    if (auto r = parse_impl(text, bad)) return *r;
    throw Error("use \"" + std::string(text.substr(0, 200)) + "\" as an image name: " + bad.why, "", EINVAL, bad.hint);
}

std::string Reference::full() const {
    std::string s = name();
    if (!tag.empty()) s += ":" + tag;
    if (digest.valid()) s += "@" + digest.str();
    return s;
}

std::string Reference::familiar_name() const {
    if (domain != "docker.io") return name();
    if (path.rfind("library/", 0) == 0 && path.find('/', 8) == std::string::npos) return path.substr(8);
    // "docker.io/li.io/x" must not print as "li.io/x": read back, that names
    // the registry li.io. Keep the domain whenever the first component would
    // look like one (found by tests/fuzz/fuzz_reference).
    std::string first = path.substr(0, path.find('/'));
    if (path.find('/') != std::string::npos &&
        (first.find_first_of(".:") != std::string::npos || first == "localhost"))
        return name();
    return path;
}

std::string Reference::familiar() const {
    std::string s = familiar_name();
    if (!tag.empty()) s += ":" + tag;
    if (digest.valid()) s += "@" + digest.str();
    return s;
}

} // namespace bk
