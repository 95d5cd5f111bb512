#include "http.hpp"

#include <curl/curl.h>
#include <strings.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "error.hpp"
#include "explain.hpp"

namespace bk::http {

namespace {

std::once_flag g_curl_once;

// What one exchange (one hop) collects through curl's callbacks.
struct Exchange {
    CURL* curl = nullptr;
    Response* response = nullptr;
    Sink* sink = nullptr;
    uint64_t max_body = 0;
    uint64_t range_from = 0;
    bool* restarted = nullptr;
    bool checked_first_byte = false;
    bool streaming = false;
    bool too_big = false;           // a body without a Sink went over max_body
    std::exception_ptr error;       // thrown inside a callback, rethrown after
    std::atomic<bool>* cancel = nullptr;
    // upload
    const std::string* body = nullptr;
    Upload upload;
    uint64_t sent = 0;
};

size_t on_header(char* data, size_t size, size_t n, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    std::string_view line(data, size * n);
    if (line.starts_with("HTTP/")) {  // a new status line: a new set of headers
        ex->response->headers.clear();
        return size * n;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return size * n;
    std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    ex->response->headers.emplace_back(std::string(name), std::string(value));
    return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    size_t len = size * n;
    try {
        if (!ex->checked_first_byte) {
            ex->checked_first_byte = true;
            long status = 0;
            curl_easy_getinfo(ex->curl, CURLINFO_RESPONSE_CODE, &status);
            ex->response->status = status;
            ex->streaming = ex->sink && status >= 200 && status < 300;
            if (ex->streaming && ex->range_from > 0) {
                if (status == 206) {
                    int64_t start = content_range_start(ex->response->header("Content-Range"));
                    if (start != int64_t(ex->range_from))
                        throw Error("resume the download", "Range: bytes=" + std::to_string(ex->range_from) +
                                    "- answered with Content-Range: " + ex->response->header("Content-Range"));
                } else {
                    // The server ignored Range and sends everything again.
                    ex->sink->restart();
                    *ex->restarted = true;
                }
            }
        }
        if (ex->cancel && ex->cancel->load()) throw Error("go on: interrupted");
        if (ex->streaming) {
            ex->sink->write(data, len);
        } else {
            if (ex->response->body.size() + len > ex->max_body) {
                ex->too_big = true;
                return 0;
            }
            ex->response->body.append(data, len);
        }
    } catch (...) {
        ex->error = std::current_exception();
        return 0;  // CURLE_WRITE_ERROR ends the transfer
    }
    return len;
}

size_t on_read(char* buf, size_t size, size_t n, void* user) {
    auto* ex = static_cast<Exchange*>(user);
    size_t want = size * n;
    if (ex->body && !ex->body->empty()) {
        size_t left = ex->body->size() - ex->sent;
        size_t k = std::min(left, want);
        std::memcpy(buf, ex->body->data() + ex->sent, k);
        ex->sent += k;
        return k;
    }
    if (ex->upload.fd >= 0) {
        uint64_t left = ex->upload.size - ex->sent;
        size_t k = size_t(std::min<uint64_t>(left, want));
        if (k == 0) return 0;
        ssize_t got = ::pread(ex->upload.fd, buf, k, off_t(ex->sent));
        if (got <= 0) return CURL_READFUNC_ABORT;
        ex->sent += uint64_t(got);
        return size_t(got);
    }
    return 0;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* ex = static_cast<Exchange*>(user);
    return (ex->cancel && ex->cancel->load()) ? 1 : 0;
}

bool retriable_curl(int code) {
    switch (code) {
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

std::string transport_hint(int code) {
    switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return "the host name does not resolve: check its spelling and the network";
    case CURLE_COULDNT_CONNECT:
        return "nothing answers there: is the registry running, on that port?";
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
        return "the TLS handshake failed or the certificate is not trusted; a registry without TLS "
               "works only on loopback or with --insecure";
    case CURLE_UNSUPPORTED_PROTOCOL:
        return "only http and https URLs are followed";
    default:
        return {};
    }
}

bool retriable_status(long status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_redirect(long status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

void sleep_for(double seconds, std::atomic<bool>* cancel) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < until) {
        if (cancel && cancel->load()) throw Error("go on: interrupted");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

// Parse with curl's own URL parser, so we and curl agree on what a URL means.
struct Url {
    CURLU* u = curl_url();
    ~Url() { curl_url_cleanup(u); }
    std::string get(CURLUPart part, unsigned flags = 0) const {
        char* out = nullptr;
        if (curl_url_get(u, part, &out, flags) != CURLUE_OK) return {};
        std::string s = out;
        curl_free(out);
        return s;
    }
};

} // namespace

std::string Response::header(std::string_view name) const {
    for (auto& [k, v] : headers)
        if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    return {};
}

Client::Client(Options o) : o_(std::move(o)) {
    std::call_once(g_curl_once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    curl_ = curl_easy_init();
    if (!curl_) throw Error("start libcurl", "curl_easy_init()");
}

Client::~Client() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

Response Client::exchange(const Request& r, const std::string& url, bool with_auth, uint64_t range_from,
                          Sink* sink, int& curl_code, std::string& curl_error, bool& restarted) {
    CURL* c = static_cast<CURL*>(curl_);
    curl_easy_reset(c);  // keeps the connection cache: the next request reuses the socket
    Response resp;
    resp.url = url;
    Exchange ex;
    ex.curl = c;
    ex.response = &resp;
    ex.sink = sink;
    ex.max_body = r.max_body ? r.max_body : UINT64_MAX;
    ex.range_from = range_from;
    ex.restarted = &restarted;
    ex.cancel = o_.cancel;
    ex.body = &r.body;
    ex.upload = r.upload;

    curl_slist* hdrs = nullptr;
    for (auto& [k, v] : r.headers) hdrs = curl_slist_append(hdrs, (k + ": " + v).c_str());
    if (with_auth && !r.authorization.empty())
        hdrs = curl_slist_append(hdrs, ("Authorization: " + r.authorization).c_str());
    if (range_from > 0) hdrs = curl_slist_append(hdrs, ("Range: bytes=" + std::to_string(range_from) + "-").c_str());
    hdrs = curl_slist_append(hdrs, "Expect:");  // no 100-continue round trip
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> hold(hdrs, curl_slist_free_all);

    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);  // by hand, see the header
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, o_.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o_.connect_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o_.stall_seconds);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &ex);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ex);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &ex);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (r.method == "HEAD") {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (r.method != "GET") {
        bool has_body = !r.body.empty() || r.upload.fd >= 0;
        if (has_body || r.method == "PUT" || r.method == "POST" || r.method == "PATCH") {
            curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
            curl_easy_setopt(c, CURLOPT_READDATA, &ex);
            curl_off_t len = r.upload.fd >= 0 ? curl_off_t(r.upload.size) : curl_off_t(r.body.size());
            curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, len);
        }
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }

    CURLcode rc = curl_easy_perform(c);
    if (ex.error) std::rethrow_exception(ex.error);
    if (rc == CURLE_ABORTED_BY_CALLBACK && o_.cancel && o_.cancel->load())
        throw Error(r.why, r.method + " " + url + ": interrupted");
    if (ex.too_big)
        throw Error(r.why, r.method + " " + url + ": the answer is longer than the " + std::to_string(r.max_body) +
                    " bytes allowed", 0, "a registry answer this large is refused so it cannot fill the memory");
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    curl_code = int(rc);
    curl_error = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    return resp;
}

Response Client::send(const Request& r, Sink* sink) {
    int transport_failures = 0;
    for (int attempt = 0;; ++attempt) {
        std::string url = r.url;
        Request hop = r;
        bool with_auth = true;
        Response resp;
        int curl_code = 0;
        std::string curl_error;
        bool restarted = false;
        if (sink && !r.resume && sink->size() > 0) sink->restart();
        uint64_t from = (sink && r.resume) ? sink->size() : 0;
        for (int hops = 0;; ++hops) {
            explain(r.why, hop.method + " " + url + (from ? " Range: bytes=" + std::to_string(from) + "-" : "") +
                               (with_auth && !r.authorization.empty() ? " (with Authorization)" : ""));
            resp = exchange(hop, url, with_auth, from, sink, curl_code, curl_error, restarted);
            if (curl_code != CURLE_OK || !is_redirect(resp.status)) break;
            std::string loc = resp.header("Location");
            if (loc.empty()) break;
            if (hops >= 10)
                throw Error(r.why, r.method + " " + r.url + ": more than 10 redirects");
            std::string next = resolve_url(url, loc);
            Hop hop_rules = judge_redirect(r.url, next);
            if (!hop_rules.allowed)
                throw Error(r.why, r.method + " " + url + ": redirected to " + next, 0,
                            "an https request is never followed to plain http; the registry is misconfigured");
            // Credentials belong to the origin they were given for; blob
            // storage on another host gets a signed URL, not our token.
            if (!hop_rules.keep_authorization) with_auth = false;
            if (resp.status == 303) {
                hop.method = "GET";
                hop.body.clear();
                hop.upload = {};
            }
            url = next;
        }
        resp.attempts = attempt + 1;
        bool transport_retry = curl_code != CURLE_OK && retriable_curl(curl_code);
        bool status_retry = curl_code == CURLE_OK && retriable_status(resp.status);
        if (curl_code != CURLE_OK && !transport_retry)
            throw Error(r.why, r.method + " " + url + ": " + curl_error, 0, transport_hint(curl_code));
        if (!transport_retry && !status_retry) return resp;
        if (transport_retry) ++transport_failures;
        if (attempt >= o_.retries) {
            if (transport_retry) throw Error(r.why, r.method + " " + url + ": " + curl_error +
                                             " (after " + std::to_string(attempt + 1) + " attempts)");
            return resp;
        }
        double pause = backoff(o_, attempt);
        if (status_retry) {
            double after = parse_retry_after(resp.header("Retry-After"), long(std::time(nullptr)));
            if (after >= 0) pause = std::min(after, o_.max_backoff_seconds);
        }
        detail("retrying " + r.method + " " + url + " in " + std::to_string(pause).substr(0, 4) + " s: " +
               (transport_retry ? curl_error : "HTTP " + std::to_string(resp.status)));
        sleep_for(pause, o_.cancel);
    }
}

// ---- pure helpers -------------------------------------------------------

double parse_retry_after(std::string_view value, long now) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (value.empty()) return -1;
    bool digits = true;
    for (char ch : value) digits = digits && ch >= '0' && ch <= '9';
    if (digits) return value.size() > 9 ? 1e9 : double(std::stol(std::string(value)));
    std::tm tm{};
    std::string s(value);
    if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return -1;
    long when = long(timegm(&tm));
    return when > now ? double(when - now) : 0;
}

std::string resolve_url(const std::string& base, const std::string& location) {
    Url u;
    if (curl_url_set(u.u, CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
        curl_url_set(u.u, CURLUPART_URL, location.c_str(), 0) != CURLUE_OK)
        throw Error("follow the redirect", "Location: " + location + " (from " + base + ")");
    return u.get(CURLUPART_URL);
}

std::string scheme(const std::string& url) {
    Url u;
    if (curl_url_set(u.u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
    return u.get(CURLUPART_SCHEME);
}

std::string host(const std::string& url) {
    Url u;
    if (curl_url_set(u.u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
    return u.get(CURLUPART_HOST);
}

std::string origin(const std::string& url) {
    Url u;
    if (curl_url_set(u.u, CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return {};
    return u.get(CURLUPART_SCHEME) + "://" + u.get(CURLUPART_HOST) + ":" + u.get(CURLUPART_PORT, CURLU_DEFAULT_PORT);
}

Hop judge_redirect(const std::string& first, const std::string& next) {
    Hop h;
    std::string from = scheme(first), to = scheme(next);
    h.allowed = (to == "http" || to == "https") && !(from == "https" && to == "http");
    h.keep_authorization = h.allowed && origin(first) == origin(next);
    return h;
}

double backoff(const Options& o, int attempt) {
    return std::min(o.max_backoff_seconds, o.backoff_seconds * std::pow(2.0, attempt));
}

int64_t content_range_start(std::string_view v) {
    if (!v.starts_with("bytes ")) return -1;
    v.remove_prefix(6);
    int64_t n = 0;
    size_t i = 0;
    for (; i < v.size() && v[i] >= '0' && v[i] <= '9'; ++i) {
        if (n > (INT64_MAX - 9) / 10) return -1;
        n = n * 10 + (v[i] - '0');
    }
    if (i == 0 || i >= v.size() || v[i] != '-') return -1;
    return n;
}

std::string link_next(std::string_view v) {
    // <url>; rel="next", <url2>; rel="prev"
    while (!v.empty()) {
        auto lt = v.find('<');
        auto gt = v.find('>', lt);
        if (lt == std::string_view::npos || gt == std::string_view::npos) return {};
        std::string_view url = v.substr(lt + 1, gt - lt - 1);
        auto comma = v.find(',', gt);
        std::string_view params = v.substr(gt + 1, comma == std::string_view::npos ? std::string_view::npos : comma - gt - 1);
        if (params.find("rel=\"next\"") != std::string_view::npos || params.find("rel=next") != std::string_view::npos)
            return std::string(url);
        if (comma == std::string_view::npos) return {};
        v.remove_prefix(comma + 1);
    }
    return {};
}

namespace {
const char k_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view in) {
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        out += k_b64[v >> 18 & 63]; out += k_b64[v >> 12 & 63]; out += k_b64[v >> 6 & 63]; out += k_b64[v & 63];
    }
    if (i + 1 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16;
        out += k_b64[v >> 18 & 63]; out += k_b64[v >> 12 & 63]; out += "==";
    } else if (i + 2 == in.size()) {
        unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
        out += k_b64[v >> 18 & 63]; out += k_b64[v >> 12 & 63]; out += k_b64[v >> 6 & 63]; out += '=';
    }
    return out;
}

std::string base64_decode(std::string_view in) {
    std::string out;
    unsigned v = 0;
    int bits = 0;
    size_t pad = 0;
    for (char ch : in) {
        if (ch == '=') { ++pad; continue; }
        const char* p = ch ? std::strchr(k_b64, ch) : nullptr;
        if (!p || pad) throw Error("decode base64", "", 0, "the text is not base64");
        v = v << 6 | unsigned(p - k_b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += char(v >> bits & 0xff);
        }
    }
    if (pad > 2 || (in.size() % 4 != 0 && pad)) throw Error("decode base64", "", 0, "the text is not base64");
    return out;
}

std::string url_escape(std::string_view in) {
    std::string out;
    for (unsigned char ch : in) {
        if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            out += char(ch);
        } else {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%%%02X", ch);
            out += buf;
        }
    }
    return out;
}

void parallel(size_t workers, size_t jobs, const std::function<void(size_t, size_t)>& fn) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr first;
    std::mutex m;
    auto loop = [&](size_t worker) {
        for (;;) {
            if (failed.load()) return;
            size_t job = next.fetch_add(1);
            if (job >= jobs) return;
            try {
                fn(job, worker);
            } catch (...) {
                std::lock_guard lock(m);
                if (!first) first = std::current_exception();
                failed = true;
                return;
            }
        }
    };
    workers = std::max<size_t>(1, std::min(workers, jobs));
    std::vector<std::thread> threads;
    for (size_t w = 1; w < workers; ++w) threads.emplace_back(loop, w);
    loop(0);
    for (auto& t : threads) t.join();
    if (first) std::rethrow_exception(first);
}

} // namespace bk::http
