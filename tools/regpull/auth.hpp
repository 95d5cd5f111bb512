// Registry authentication: how a client learns what a registry wants and
// where its credentials come from.
//
//   GET /v2/  ->  401 + WWW-Authenticate: Bearer realm="https://auth/token",service="reg"
//   GET https://auth/token?service=reg&scope=repository:library/alpine:pull
//             (anonymous, or with Basic credentials)  ->  {"token": "..."}
//   GET /v2/library/alpine/manifests/3.19 with Authorization: Bearer ...
//
// or simply `WWW-Authenticate: Basic realm=...` and the credentials on every
// request. Credentials come from --username/--password-stdin or from
// ~/.docker/config.json ("auths": {"HOST": {"auth": base64("user:pass")}}).
// See the distribution spec (token.md), RFC 7235 and RFC 6750.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bk::regpull {

struct Challenge {
    std::string scheme;                         // "bearer", "basic" (lowercase)
    std::map<std::string, std::string> params;  // realm, service, scope, error (keys lowercase)
};

// Every challenge in one WWW-Authenticate value (RFC 7235 grammar: quoted
// strings with backslash escapes, several challenges separated by commas).
// Throws bk::Error on a value it cannot read.
std::vector<Challenge> parse_www_authenticate(std::string_view value);

struct Credentials {
    std::string username, password;
    std::string identity_token;  // config.json "identitytoken": a refresh token
    std::string source;          // "--username", "~/.docker/config.json"
    bool empty() const { return username.empty() && identity_token.empty(); }
};

// The config.json key a registry's credentials live under: docker.io is
// "https://index.docker.io/v1/" for historical reasons.
bool config_key_matches(std::string_view key, std::string_view registry);

// Look `registry` up in a config.json document's text. Empty when absent.
// Throws bk::Error when the file is not JSON or an "auth" is not base64.
Credentials credentials_from_config(std::string_view text, std::string_view registry, const std::string& shown);

// $DOCKER_CONFIG/config.json or ~/.docker/config.json; empty when missing.
Credentials docker_config_credentials(std::string_view registry);

// The token from a token endpoint's JSON answer ("token" or "access_token").
std::string token_from_answer(std::string_view body);

} // namespace bk::regpull
