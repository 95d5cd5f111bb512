#include "auth.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "http.hpp"
#include "json.hpp"

namespace bk::regpull {

namespace {

bool token_char(char c) {
    return std::isalnum((unsigned char)c) || std::string_view("!#$%&'*+-.^_`|~/=").find(c) != std::string_view::npos;
}

std::string lower(std::string s) {
    for (auto& c : s) c = char(std::tolower((unsigned char)c));
    return s;
}

} // namespace

std::vector<Challenge> parse_www_authenticate(std::string_view v) {
    auto bad = [&](const std::string& why) {
        return Error("read the registry's WWW-Authenticate header", "WWW-Authenticate: " + std::string(v), 0,
                     why);
    };
    std::vector<Challenge> out;
    size_t i = 0;
    auto skip_ws = [&] { while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i; };
    auto read_token = [&] {
        size_t s = i;
        while (i < v.size() && token_char(v[i]) && v[i] != '=') ++i;
        return std::string(v.substr(s, i - s));
    };
    while (true) {
        skip_ws();
        while (i < v.size() && v[i] == ',') { ++i; skip_ws(); }
        if (i >= v.size()) break;
        std::string scheme = read_token();
        if (scheme.empty()) throw bad("expected an auth scheme at offset " + std::to_string(i));
        Challenge c{lower(scheme), {}};
        // Parameters: name=value or name="quoted", separated by commas, until
        // a token that is not followed by '=' (the next challenge's scheme).
        while (true) {
            skip_ws();
            size_t mark = i;
            std::string name = read_token();
            skip_ws();
            if (name.empty() || i >= v.size() || v[i] != '=') {
                i = mark;
                break;
            }
            ++i;  // '='
            skip_ws();
            std::string value;
            if (i < v.size() && v[i] == '"') {
                ++i;
                bool closed = false;
                while (i < v.size()) {
                    char ch = v[i++];
                    if (ch == '\\' && i < v.size()) {
                        value += v[i++];
                    } else if (ch == '"') {
                        closed = true;
                        break;
                    } else {
                        value += ch;
                    }
                }
                if (!closed) throw bad("a quoted value has no closing quote");
            } else {
                size_t s = i;
                while (i < v.size() && v[i] != ',' && v[i] != ' ') ++i;
                value = std::string(v.substr(s, i - s));
            }
            c.params[lower(name)] = value;
            skip_ws();
            if (i < v.size() && v[i] == ',') ++i;
            else if (i < v.size()) throw bad("unexpected text after " + name);
        }
        out.push_back(std::move(c));
    }
    if (out.empty()) throw bad("it names no auth scheme");
    return out;
}

bool config_key_matches(std::string_view key, std::string_view registry) {
    // Keys are "host", "host:port", "https://host/v1/", "http://host".
    if (key.starts_with("https://")) key.remove_prefix(8);
    else if (key.starts_with("http://")) key.remove_prefix(7);
    auto slash = key.find('/');
    if (slash != std::string_view::npos) key = key.substr(0, slash);
    auto docker_hub = [](std::string_view h) {
        return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
    };
    if (docker_hub(registry)) return docker_hub(key);
    return key == registry;
}

Credentials credentials_from_config(std::string_view text, std::string_view registry, const std::string& shown) {
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        throw Error("read the credentials in " + shown, "", 0, "it is not a JSON object");
    Credentials c;
    if (!doc.contains("auths") || !doc["auths"].is_object()) return c;
    for (auto& [key, entry] : doc["auths"].items()) {
        if (!config_key_matches(key, registry) || !entry.is_object()) continue;
        c.source = shown;
        if (entry.contains("identitytoken") && entry["identitytoken"].is_string())
            c.identity_token = entry["identitytoken"].get<std::string>();
        if (entry.contains("auth") && entry["auth"].is_string() && !entry["auth"].get<std::string>().empty()) {
            std::string plain;
            try {
                plain = http::base64_decode(entry["auth"].get<std::string>());
            } catch (const Error&) {
                throw Error("read the credentials for " + key + " in " + shown, "", 0, "its \"auth\" is not base64");
            }
            auto colon = plain.find(':');
            if (colon == std::string::npos)
                throw Error("read the credentials for " + key + " in " + shown, "", 0,
                            "its \"auth\" is not base64 of user:password");
            c.username = plain.substr(0, colon);
            c.password = plain.substr(colon + 1);
        } else if (entry.contains("username") && entry["username"].is_string()) {
            c.username = entry["username"].get<std::string>();
            if (entry.contains("password") && entry["password"].is_string())
                c.password = entry["password"].get<std::string>();
        }
        if (!c.empty()) return c;
    }
    return c;
}

Credentials docker_config_credentials(std::string_view registry) {
    std::string dir;
    if (const char* d = std::getenv("DOCKER_CONFIG"); d && *d) dir = d;
    else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.docker";
    else return {};
    std::string path = dir + "/config.json";
    std::ifstream in(path);
    if (!in) return {};
    std::stringstream ss;
    ss << in.rdbuf();
    return credentials_from_config(ss.str(), registry, path);
}

std::string token_from_answer(std::string_view body) {
    json doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
        throw Error("read the token the auth server sent", "", 0, "its answer is not a JSON object");
    for (const char* key : {"token", "access_token"})
        if (doc.contains(key) && doc[key].is_string() && !doc[key].get<std::string>().empty())
            return doc[key].get<std::string>();
    throw Error("read the token the auth server sent", "", 0, "its answer has no \"token\"");
}

} // namespace bk::regpull
