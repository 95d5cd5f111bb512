// What every subcommand shares: signals, credentials, fetching a manifest.
#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <iterator>
#include <mutex>

#include "digest.hpp"
#include "error.hpp"
#include "manifest.hpp"
#include "regpull.hpp"

namespace bk::regpull {

namespace {
std::atomic<bool> g_cancel{false};
volatile sig_atomic_t g_signal = 0;

void on_signal(int sig) {
    g_signal = sig;
    g_cancel = true;
}
} // namespace

std::atomic<bool>& cancelled() { return g_cancel; }
int cancel_signal() { return g_signal; }

void install_signal_handlers() {
    // Unwind instead of dying, so every temporary blob is removed and the
    // store stays as it was (a SIGKILL leaves only unnamed O_TMPFILE files).
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

void run_parallel(size_t workers, size_t jobs, const std::function<void(size_t, size_t)>& fn) {
    std::mutex m;
    std::exception_ptr first;
    try {
        http::parallel(workers, jobs, [&](size_t job, size_t worker) {
            try {
                fn(job, worker);
            } catch (...) {
                {
                    std::lock_guard lock(m);
                    if (!first) first = std::current_exception();
                }
                g_cancel = true;
                throw;
            }
        });
    } catch (...) {
        if (first && !g_signal) std::rethrow_exception(first);
        throw;
    }
}

Connection connect(const RemoteOptions& o, const std::string& registry) {
    Connection c;
    c.registry = registry;
    c.insecure = o.insecure;
    c.retries = o.retries;
    c.cancel = &g_cancel;
    if (o.password_stdin && o.username.empty())
        throw Error("read a password from stdin without a user name", "", 0, "add --username NAME");
    if (!o.username.empty()) {
        if (!o.password_stdin)
            throw Error("log in as " + o.username + " without a password", "", 0,
                        "pipe the password in: echo \"$PASSWORD\" | regpull --username NAME --password-stdin ...");
        std::string pw((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
        while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
        if (pw.empty()) throw Error("read a password from stdin", "", 0, "stdin was empty");
        c.credentials = {o.username, pw, "", "--username " + o.username};
    } else {
        c.credentials = docker_config_credentials(registry);
    }
    if (!c.credentials.empty() && !is_loopback(registry) && o.insecure)
        bk::warn("sending credentials for " + registry + " over plain http (--insecure)");
    return c;
}

Fetched fetch_manifest(Registry& reg, http::Client& client, const std::string& repo, const std::string& ref) {
    http::Request r;
    r.why = "fetch the manifest of " + repo + (ref.starts_with("sha256:") ? "@" : ":") + ref;
    r.url = reg.base() + "/v2/" + repo + "/manifests/" + ref;
    r.headers = {{"Accept", manifest_accept()}};
    r.max_body = k_max_manifest;
    http::Response resp = reg.send(client, r, scope_for(repo, "pull"));
    if (resp.status != 200) reg.fail(resp, r.why, "GET " + r.url);
    Fetched f;
    f.body = std::move(resp.body);
    f.digest = sha256_of(f.body).str();
    if (Digest::is_valid(ref) && f.digest != ref)
        throw Error(r.why, "GET " + r.url, 0,
                    "the registry sent a document whose sha256 is " + f.digest + ", not the digest asked for; nothing was stored");
    std::string claimed = resp.header("Docker-Content-Digest");
    if (!claimed.empty() && claimed.starts_with("sha256:") && claimed != f.digest)
        throw Error(r.why, "GET " + r.url, 0,
                    "the registry says the manifest is " + claimed + " but its bytes hash to " + f.digest);
    f.doc = json::parse(f.body, nullptr, false);
    if (f.doc.is_discarded()) throw Error(r.why, "GET " + r.url, 0, "the manifest is not JSON");
    std::string content_type = resp.header("Content-Type");
    Kind k = classify(f.doc, content_type);
    f.media_type = f.doc.contains("mediaType") && f.doc["mediaType"].is_string()
                       ? f.doc["mediaType"].get<std::string>()
                       : content_type.substr(0, content_type.find(';'));
    if (f.media_type.empty() || f.media_type == "application/json")
        f.media_type = k == Kind::Index ? media::oci_index : media::oci_manifest;
    return f;
}

} // namespace bk::regpull
