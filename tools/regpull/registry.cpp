#include "registry.hpp"

#include <arpa/inet.h>

#include "error.hpp"
#include "explain.hpp"
#include "json.hpp"

namespace bk::regpull {

std::string registry_host(const std::string& registry) {
    if (registry == "docker.io" || registry == "index.docker.io") return "registry-1.docker.io";
    return registry;
}

bool is_loopback(const std::string& registry) {
    std::string host = registry;
    if (!host.empty() && host.front() == '[') {
        auto close = host.find(']');
        host = host.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    } else if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(':') == colon) {
        host = host.substr(0, colon);
    }
    if (host == "localhost" || host == "::1") return true;
    in_addr a{};
    if (inet_pton(AF_INET, host.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

std::string base_url(const Connection& c) {
    bool plain = is_loopback(c.registry) || c.insecure;
    return std::string(plain ? "http://" : "https://") + registry_host(c.registry);
}

std::string scope_for(const std::string& repository, const std::string& actions) {
    return "repository:" + repository + ":" + actions;
}

Registry::Registry(Connection c) : c_(std::move(c)), base_(base_url(c_)) {}

std::unique_ptr<http::Client> Registry::client() const {
    http::Options o;
    o.retries = c_.retries;
    o.cancel = c_.cancel;
    o.user_agent = "boxkit-regpull/0.1.0";
    return std::make_unique<http::Client>(o);
}

std::string Registry::authorize(const std::string& scope) {
    std::lock_guard lock(m_);
    if (auto it = tokens_.find(scope); it != tokens_.end()) return it->second;
    if (basic_ && !c_.credentials.username.empty())
        return "Basic " + http::base64_encode(c_.credentials.username + ":" + c_.credentials.password);
    return {};
}

void Registry::answer_challenge(http::Client& client, const http::Response& resp, const std::string& scope) {
    std::string header = resp.header("WWW-Authenticate");
    if (header.empty())
        throw Error("log in to " + c_.registry, "GET " + resp.url + ": 401 without WWW-Authenticate", 0,
                    "the registry refused us without saying how to log in");
    auto challenges = parse_www_authenticate(header);
    const Challenge* bearer = nullptr;
    const Challenge* basic = nullptr;
    for (auto& ch : challenges) {
        if (ch.scheme == "bearer" && !bearer) bearer = &ch;
        if (ch.scheme == "basic" && !basic) basic = &ch;
    }
    if (bearer) {
        auto realm = bearer->params.find("realm");
        if (realm == bearer->params.end() || realm->second.empty())
            throw Error("log in to " + c_.registry, "WWW-Authenticate: " + header, 0, "the Bearer challenge has no realm");
        std::string realm_url = realm->second;
        std::string realm_scheme = http::scheme(realm_url);
        if (realm_scheme != "https" && !(realm_scheme == "http" && (is_loopback(http::host(realm_url)) || c_.insecure)))
            throw Error("log in to " + c_.registry, "realm " + realm_url, 0,
                        "a token realm must be https (plain http only on loopback or with --insecure)");
        std::string url = realm_url + (realm_url.find('?') == std::string::npos ? "?" : "&");
        bool first = true;
        auto add = [&](const std::string& k, const std::string& v) {
            url += (first ? "" : "&") + k + "=" + http::url_escape(v);
            first = false;
        };
        if (auto s = bearer->params.find("service"); s != bearer->params.end()) add("service", s->second);
        // Our scope, and the one the registry named if it differs (a mount
        // needs pull on the source repository too).
        std::string want = scope;
        if (auto s = bearer->params.find("scope"); s != bearer->params.end() && !s->second.empty() && want.empty())
            want = s->second;
        if (!want.empty())
            for (size_t start = 0;;) {  // space-separated scopes become repeated parameters
                auto sp = want.find(' ', start);
                add("scope", want.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
                if (sp == std::string::npos) break;
                start = sp + 1;
            }
        http::Request tr;
        tr.why = "get a token for " + (want.empty() ? c_.registry : want) + " from the registry's auth server";
        tr.url = url;
        if (!c_.credentials.username.empty())
            tr.authorization = "Basic " + http::base64_encode(c_.credentials.username + ":" + c_.credentials.password);
        tr.max_body = 1 << 20;
        http::Response t = client.send(tr);
        if (t.status == 401 || t.status == 403)
            throw Error("log in to " + c_.registry, "GET " + realm_url + ": HTTP " + std::to_string(t.status), 0,
                        c_.credentials.empty()
                            ? "the registry wants credentials: --username NAME --password-stdin, or docker login"
                            : "the auth server refused the credentials from " + c_.credentials.source);
        if (t.status != 200) fail(t, "get a token from " + realm_url, "GET " + realm_url);
        std::string token = token_from_answer(t.body);
        std::lock_guard lock(m_);
        tokens_[scope] = "Bearer " + token;
        return;
    }
    if (basic) {
        if (c_.credentials.username.empty())
            throw Error("log in to " + c_.registry, "GET " + resp.url + ": HTTP 401 (Basic)", 0,
                        "the registry wants a user name and password: --username NAME --password-stdin, or "
                        "an entry in ~/.docker/config.json");
        std::lock_guard lock(m_);
        basic_ = true;
        return;
    }
    throw Error("log in to " + c_.registry, "WWW-Authenticate: " + header, 0,
                "the registry asks for an auth scheme regpull does not speak (only Bearer and Basic)");
}

http::Response Registry::send(http::Client& client, http::Request r, const std::string& scope, http::Sink* sink) {
    r.authorization = authorize(scope);
    http::Response resp = client.send(r, sink);
    if (resp.status != 401) return resp;
    std::string before = r.authorization;
    answer_challenge(client, resp, scope);
    r.authorization = authorize(scope);
    if (r.authorization.empty() || r.authorization == before) {
        if (!before.empty())
            throw Error("log in to " + c_.registry, r.method + " " + r.url + ": HTTP 401", 0,
                        "the registry refused the credentials" +
                            (c_.credentials.source.empty() ? std::string() : " from " + c_.credentials.source));
        return resp;
    }
    resp = client.send(r, sink);
    if (resp.status == 401)
        throw Error("log in to " + c_.registry, r.method + " " + r.url + ": HTTP 401", 0,
                    c_.credentials.empty()
                        ? "the repository does not exist, or it needs credentials: --username NAME --password-stdin, or docker login"
                        : "the registry refused the credentials from " + c_.credentials.source);
    return resp;
}

void Registry::ping(http::Client& client) {
    http::Request r;
    r.why = "ask " + c_.registry + " whether it speaks the registry API v2";
    r.url = base_ + "/v2/";
    r.max_body = 1 << 20;
    http::Response resp = client.send(r);
    if (resp.status == 200) return;
    if (resp.status == 401) {
        // Learn the auth scheme now; the token itself is asked per scope.
        parse_www_authenticate(resp.header("WWW-Authenticate"));
        return;
    }
    fail(resp, "talk to the registry at " + base_, "GET " + r.url);
}

void Registry::fail(const http::Response& resp, const std::string& why, const std::string& call) const {
    std::string detail;
    json doc = json::parse(resp.body, nullptr, false);
    if (!doc.is_discarded() && doc.is_object() && doc.contains("errors") && doc["errors"].is_array())
        for (auto& e : doc["errors"]) {
            if (!e.is_object()) continue;
            std::string code = e.value("code", ""), message = e.value("message", "");
            if (!detail.empty()) detail += "; ";
            detail += code + (message.empty() ? "" : " (" + message + ")");
        }
    std::string what = call + ": HTTP " + std::to_string(resp.status) + (detail.empty() ? "" : " " + detail);
    std::string hint;
    if (resp.status == 404) hint = "check the name and the tag: regpull tags REPO lists the tags";
    else if (resp.status == 401 || resp.status == 403) hint = "check the credentials (--username, --password-stdin)";
    else if (resp.status == 429 || resp.status >= 500) hint = "the registry is busy or failing; try again later";
    throw Error(why, what, 0, hint);
}

} // namespace bk::regpull
