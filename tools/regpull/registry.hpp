// A client for one registry (Docker Registry HTTP API v2 / OCI distribution):
//
//   GET  /v2/                                   is it a registry, and what auth does it want
//   GET  /v2/NAME/manifests/REF                 a manifest or an index
//   GET  /v2/NAME/blobs/DIGEST                  a layer or config (often redirected to storage)
//   HEAD /v2/NAME/blobs/DIGEST                  is it there already (push)
//   POST /v2/NAME/blobs/uploads/?mount=D&from=R mount a blob from another repository (push)
//   POST /v2/NAME/blobs/uploads/ + PUT ...?digest=D   upload a blob (push)
//   PUT  /v2/NAME/manifests/REF                 publish the manifest (push)
//   GET  /v2/NAME/tags/list                     the tags, page by page
//
// A 401 answer carries WWW-Authenticate: the client gets a token for the
// scope (repository:NAME:pull[,push]) from the realm, or uses Basic auth,
// and asks again. Tokens are cached per scope and shared by every thread.
// See the distribution spec (spec.md) and docker's token.md.
#pragma once
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "auth.hpp"
#include "http.hpp"

namespace bk::regpull {

struct Connection {
    std::string registry;      // as in the reference: "docker.io", "127.0.0.1:5000"
    bool insecure = false;     // plain http to a registry that is not on loopback
    Credentials credentials;
    int retries = 5;
    std::atomic<bool>* cancel = nullptr;
};

// "registry-1.docker.io" for docker.io, the name itself otherwise.
std::string registry_host(const std::string& registry);
// Whether a registry name is a loopback address (plain http allowed).
bool is_loopback(const std::string& registry);
// "http://127.0.0.1:5000" or "https://registry-1.docker.io".
std::string base_url(const Connection& c);

class Registry {
public:
    explicit Registry(Connection c);

    const std::string& base() const { return base_; }
    const Connection& connection() const { return c_; }

    // A new HTTP client (one per thread; each keeps its own connection).
    std::unique_ptr<http::Client> client() const;

    // Send to the registry with the credentials `scope` needs ("" for
    // /v2/ itself), answering one 401 by getting a token or using Basic
    // auth. Statuses other than 401 come back for the caller to judge.
    http::Response send(http::Client& client, http::Request r, const std::string& scope,
                        http::Sink* sink = nullptr);

    // GET /v2/: check that it speaks the v2 API (and learn the auth early).
    void ping(http::Client& client);

    // Throw the error a failed answer deserves: 401/403 name the
    // credentials, 404 the missing thing, the registry's JSON errors quoted.
    [[noreturn]] void fail(const http::Response& resp, const std::string& why, const std::string& call) const;

private:
    std::string authorize(const std::string& scope);
    void answer_challenge(http::Client& client, const http::Response& resp, const std::string& scope);

    Connection c_;
    std::string base_;
    std::mutex m_;
    std::map<std::string, std::string> tokens_;  // scope -> "Bearer ..."
    bool basic_ = false;                         // the registry asked for Basic
};

// "repository:NAME:pull" and friends.
std::string scope_for(const std::string& repository, const std::string& actions);

} // namespace bk::regpull
