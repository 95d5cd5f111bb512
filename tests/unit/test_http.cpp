#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <stdexcept>
#include <vector>

#include "error.hpp"
#include "http.hpp"

using namespace bk::http;

TEST_CASE("Retry-After: seconds, an HTTP-date, junk") {
    CHECK(parse_retry_after("1", 0) == 1);
    CHECK(parse_retry_after(" 120", 0) == 120);
    CHECK(parse_retry_after("", 0) == -1);
    CHECK(parse_retry_after("soon", 0) == -1);
    CHECK(parse_retry_after("-3", 0) == -1);
    // Thu, 01 Jan 1970 00:01:40 GMT is 100 s after the epoch.
    CHECK(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40) == 60);
    CHECK(parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 500) == 0);  // in the past: now
    CHECK(parse_retry_after("99999999999999", 0) >= 1e9);                  // no overflow
}

TEST_CASE("backoff doubles and is capped") {
    Options o;
    o.backoff_seconds = 0.5;
    o.max_backoff_seconds = 3;
    CHECK(backoff(o, 0) == 0.5);
    CHECK(backoff(o, 1) == 1.0);
    CHECK(backoff(o, 2) == 2.0);
    CHECK(backoff(o, 3) == 3.0);
    CHECK(backoff(o, 30) == 3.0);
}

TEST_CASE("redirect targets resolve against the URL that sent them") {
    CHECK(resolve_url("http://a:5000/v2/x/blobs/sha256:1", "http://b:9000/s/1?sig=2") == "http://b:9000/s/1?sig=2");
    CHECK(resolve_url("http://a:5000/v2/x/blobs/d", "/other") == "http://a:5000/other");
    CHECK(resolve_url("https://a/v2/x/blobs/d", "y") == "https://a/v2/x/blobs/y");
    CHECK_THROWS_AS(resolve_url("http://a/", "http://[broken"), bk::Error);
}

TEST_CASE("origins compare scheme, host and port (default ports filled in)") {
    CHECK(origin("https://reg.example/v2/") == "https://reg.example:443");
    CHECK(origin("http://127.0.0.1:5000/v2/") == "http://127.0.0.1:5000");
    CHECK(origin("https://reg.example:443/x") == origin("https://reg.example/y"));
    CHECK(origin("http://reg.example/x") != origin("https://reg.example/x"));
    CHECK(origin("http://127.0.0.1:5000/") != origin("http://127.0.0.1:5001/"));
    CHECK(scheme("HTTPS://x/") == "https");
    CHECK(host("http://127.0.0.1:5000/v2/") == "127.0.0.1");
}

TEST_CASE("redirects: https never drops to http; credentials stay on their origin") {
    auto h = judge_redirect("https://reg.example/v2/a/blobs/d", "http://reg.example/v2/a/blobs/d");
    CHECK_FALSE(h.allowed);
    CHECK_FALSE(h.keep_authorization);
    h = judge_redirect("https://reg.example/v2/x", "https://reg.example:443/v2/y");
    CHECK(h.allowed);
    CHECK(h.keep_authorization);
    h = judge_redirect("https://reg.example/v2/x", "https://storage.example/blob?sig=1");
    CHECK(h.allowed);
    CHECK_FALSE(h.keep_authorization);
    h = judge_redirect("http://127.0.0.1:5000/v2/x", "http://127.0.0.1:5001/blob");
    CHECK(h.allowed);
    CHECK_FALSE(h.keep_authorization);  // another port is another origin
    h = judge_redirect("http://127.0.0.1:5000/v2/x", "https://127.0.0.1:5000/v2/x");
    CHECK(h.allowed);                   // upgrading is fine, but it is another origin
    CHECK_FALSE(h.keep_authorization);
    CHECK_FALSE(judge_redirect("http://a/", "file:///etc/passwd").allowed);
    CHECK_FALSE(judge_redirect("https://a/", "gopher://a/").allowed);
}

TEST_CASE("Content-Range start") {
    CHECK(content_range_start("bytes 100-199/200") == 100);
    CHECK(content_range_start("bytes 0-0/1") == 0);
    CHECK(content_range_start("bytes */200") == -1);
    CHECK(content_range_start("items 1-2/3") == -1);
    CHECK(content_range_start("") == -1);
    CHECK(content_range_start("bytes 99999999999999999999999-1/2") == -1);
}

TEST_CASE("Link: rel=\"next\" for paging") {
    CHECK(link_next("</v2/x/tags/list?n=2&last=b>; rel=\"next\"") == "/v2/x/tags/list?n=2&last=b");
    CHECK(link_next("<a>; rel=\"prev\", <b>; rel=\"next\"") == "b");
    CHECK(link_next("<a>; rel=\"prev\"") == "");
    CHECK(link_next("") == "");
}

TEST_CASE("base64 round trip and refusals") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("a") == "YQ==");
    CHECK(base64_encode("ab") == "YWI=");
    CHECK(base64_encode("alice:s3cret") == "YWxpY2U6czNjcmV0");
    for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
        CHECK(base64_decode(base64_encode(s)) == s);
    CHECK_THROWS_AS(base64_decode("a*b="), bk::Error);
    CHECK_THROWS_AS(base64_decode("YQ=a"), bk::Error);
}

TEST_CASE("url_escape keeps unreserved characters only") {
    CHECK(url_escape("repository:a/b:pull") == "repository%3Aa%2Fb%3Apull");
    CHECK(url_escape("A-z_0.9~") == "A-z_0.9~");
    CHECK(url_escape("a b&c") == "a%20b%26c");
}

TEST_CASE("parallel runs every job once and rethrows the first error") {
    // Catch2's assertions are not thread-safe: the workers only record, the
    // test thread checks (the sanitizer pass found a CHECK racing here).
    std::atomic<int> sum{0};
    std::atomic<size_t> max_worker{0};
    parallel(3, 100, [&](size_t job, size_t worker) {
        size_t seen = max_worker.load();
        while (worker > seen && !max_worker.compare_exchange_weak(seen, worker)) {}
        sum += int(job);
    });
    CHECK(max_worker < 3);
    CHECK(sum == 4950);
    std::atomic<int> ran{0};
    CHECK_THROWS_WITH(parallel(2, 50,
                               [&](size_t job, size_t) {
                                   ++ran;
                                   if (job == 3) throw std::runtime_error("job 3 failed");
                                   // The other jobs take a while, so "stops after the
                                   // failure" does not hang on how fast a throw is
                                   // (under ASan, on a busy machine, it is slow).
                                   std::this_thread::sleep_for(std::chrono::milliseconds(5));
                               }),
                      "job 3 failed");
    CHECK(ran < 50);  // no new jobs after the failure
    std::atomic<int> none{0};
    parallel(4, 0, [&](size_t, size_t) { ++none; });
    CHECK(none == 0);
}

TEST_CASE("a refused connection is an error naming the call, not a retry loop") {
    Options o;
    o.retries = 3;
    Client c(o);
    Request r;
    r.why = "reach nobody";
    r.url = "http://127.0.0.1:1/v2/";
    try {
        c.send(r);
        FAIL("no error");
    } catch (const bk::Error& e) {
        CHECK(e.message().find("cannot reach nobody: GET http://127.0.0.1:1/v2/: ") == 0);
    }
}
