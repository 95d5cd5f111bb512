// HTTP the way a registry client needs it, on top of libcurl: one request at
// a time per Client (one connection kept alive), the body streamed into a
// Sink, and the rules that keep credentials and bytes safe done here, by hand:
//
//   - Redirects are followed one hop at a time (never by curl), so a hop to
//     another host or port loses the Authorization header (registries send
//     blob downloads to storage servers that must not see the token), and an
//     https URL is never followed to plain http.
//   - 429 and 5xx are retried with exponential backoff, honouring Retry-After.
//   - A body cut off half-way resumes with a Range request from the byte
//     the Sink already holds; a server that ignores Range starts it over.
//
// See RFC 9110 (HTTP semantics: redirects, Range, Retry-After) and
// libcurl-tutorial(3).
#pragma once
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bk::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Where a streamed 2xx body goes. write() may throw to abort the transfer
// (a digest that cannot match any more, a body longer than promised).
struct Sink {
    virtual ~Sink() = default;
    virtual void write(const char* data, size_t n) = 0;
    // The server sent the whole body again although we asked for a Range.
    virtual void restart() = 0;
    // Bytes kept so far: where a resumed request starts.
    virtual uint64_t size() const = 0;
};

// A body to upload from a file descriptor (a blob in the store).
struct Upload {
    int fd = -1;
    uint64_t size = 0;
};

struct Request {
    std::string why;            // the reason: --explain line and error context
    std::string method = "GET"; // GET HEAD PUT POST PATCH DELETE
    std::string url;
    Headers headers;            // sent on every hop
    std::string authorization;  // "Bearer ..." or "Basic ...": only to the first origin
    std::string body;           // a small body (a manifest)
    Upload upload;              // or a large one from a file
    uint64_t max_body = 4 << 20;  // without a Sink: refuse a longer body
    bool resume = true;         // with a Sink: resume a cut body with Range
};

struct Response {
    long status = 0;
    Headers headers;       // of the last hop
    std::string body;      // without a Sink, or when the status is not 2xx
    std::string url;       // the URL that answered (after redirects)
    int attempts = 1;      // 1 + the retries it took
    // The first header of that name (case-insensitive), or "".
    std::string header(std::string_view name) const;
};

struct Options {
    int retries = 5;              // after the first attempt
    double backoff_seconds = 0.5; // first pause; doubles each time
    double max_backoff_seconds = 30;
    long connect_timeout_seconds = 30;
    long stall_seconds = 60;      // abort when no byte arrives for this long
    std::string user_agent = "boxkit/0.1.0";
    // Set from a signal handler or another thread: stop every transfer soon.
    std::atomic<bool>* cancel = nullptr;
};

class Client {
public:
    explicit Client(Options o = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Send the request, follow redirects, retry, resume. A 2xx body goes to
    // `sink` when one is given. Throws bk::Error when no answer came (the
    // call in the message is "METHOD URL: curl's reason"); any HTTP status
    // is returned for the caller to judge.
    Response send(const Request& r, Sink* sink = nullptr);

private:
    Response exchange(const Request& r, const std::string& url, bool with_auth, uint64_t range_from,
                      Sink* sink, int& curl_code, std::string& curl_error, bool& restarted);
    void* curl_;
    Options o_;
};

// ---- pure helpers (tested on their own) --------------------------------

// Seconds to wait for a Retry-After value: delta-seconds or an HTTP-date
// (relative to `now`, seconds since the epoch). -1 when unreadable.
double parse_retry_after(std::string_view value, long now);

// Resolve `location` (absolute or relative) against `base`. Throws bk::Error.
std::string resolve_url(const std::string& base, const std::string& location);

// "https://host:443" for comparing origins (scheme, host, port).
std::string origin(const std::string& url);
std::string scheme(const std::string& url);
std::string host(const std::string& url);  // without port

// What a redirect from `first` (the URL the caller asked for) to `next` may
// do: https never drops to http; credentials stay only on the first origin.
struct Hop {
    bool allowed = true;
    bool keep_authorization = true;
};
Hop judge_redirect(const std::string& first, const std::string& next);

// The pause before retry `attempt` (0-based): doubling, capped.
double backoff(const Options& o, int attempt);

// The start of "bytes START-END/TOTAL", or -1.
int64_t content_range_start(std::string_view value);

// Link: <url>; rel="next" -> url, or "".
std::string link_next(std::string_view value);

// RFC 4648 base64 (for Basic auth and ~/.docker/config.json).
std::string base64_encode(std::string_view in);
// Throws bk::Error on bad input.
std::string base64_decode(std::string_view in);

// Percent-encode a query value.
std::string url_escape(std::string_view in);

// Run `jobs` jobs on up to `workers` threads (each with its own Client via
// `worker`, 0..workers-1). The first exception stops new jobs from starting,
// is rethrown after every thread has ended.
void parallel(size_t workers, size_t jobs, const std::function<void(size_t job, size_t worker)>& fn);

} // namespace bk::http
