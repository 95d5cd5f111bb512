// regpull tags REPO and regpull manifest REF: look without pulling.
#include <cstdio>

#include "error.hpp"
#include "manifest.hpp"
#include "reference.hpp"
#include "regpull.hpp"

namespace bk::regpull {

int tags(const TagsOptions& o) {
    Reference ref = Reference::parse(o.repo);
    Registry reg(connect(o.remote, ref.domain));
    auto client = reg.client();
    std::vector<std::string> all;
    std::string url = reg.base() + "/v2/" + ref.path + "/tags/list?n=1000";
    for (int page = 0; !url.empty(); ++page) {
        if (page > 1000) throw Error("list the tags of " + ref.familiar_name(), "", 0, "more than 1000 pages");
        http::Request r;
        r.why = "list the tags of " + ref.familiar_name();
        r.url = url;
        http::Response resp = reg.send(*client, r, scope_for(ref.path, "pull"));
        if (resp.status != 200) reg.fail(resp, r.why, "GET " + url);
        json doc = json::parse(resp.body, nullptr, false);
        if (doc.is_discarded() || !doc.is_object())
            throw Error(r.why, "GET " + url, 0, "the answer is not a JSON object");
        if (doc.contains("tags") && doc["tags"].is_array())
            for (auto& t : doc["tags"])
                if (t.is_string()) all.push_back(t.get<std::string>());
        std::string next = http::link_next(resp.header("Link"));
        url = next.empty() ? "" : http::resolve_url(url, next);
        if (!url.empty() && http::origin(url) != http::origin(reg.base()))
            throw Error(r.why, "Link: " + next, 0, "the next page is on another host");
    }
    if (o.json) {
        print_json({{"name", ref.name()}, {"tags", all}});
    } else {
        for (auto& t : all) std::printf("%s\n", t.c_str());
    }
    return 0;
}

int manifest(const ManifestOptions& o) {
    Reference ref = Reference::parse(o.ref);
    Registry reg(connect(o.remote, ref.domain));
    auto client = reg.client();
    Fetched f = fetch_manifest(reg, *client, ref.path, ref.digest.valid() ? ref.digest.str() : ref.tag);
    std::string platform;
    if (!o.platform.empty() && classify(f.doc, f.media_type) == Kind::Index) {
        Descriptor d = select_platform(f.doc, parse_platform(o.platform));
        platform = d.platform->str();
        f = fetch_manifest(reg, *client, ref.path, d.digest);
    }
    if (classify(f.doc, f.media_type) == Kind::Manifest) parse_manifest(f.doc, f.media_type);  // check it
    if (o.json) {
        print_json({{"reference", ref.full()},
                    {"digest", f.digest},
                    {"media_type", f.media_type},
                    {"size", f.body.size()},
                    {"platform", platform},
                    {"manifest", f.doc}});
    } else {
        // The bytes as served: `sha256sum` of this output is the digest.
        std::fwrite(f.body.data(), 1, f.body.size(), stdout);
        if (!f.body.empty() && f.body.back() != '\n' && ::isatty(1)) std::fputc('\n', stdout);
    }
    return 0;
}

} // namespace bk::regpull
