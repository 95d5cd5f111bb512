// lib/net: the set-up wrappers for sockets, pidfds and signalfds.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include "error.hpp"
#include "net.hpp"

TEST_CASE("net: socket addresses print as strace shows them") {
    sockaddr_in a = bk::sys::ipv4_sockaddr(0x7f000001, 8080);
    CHECK(a.sin_family == AF_INET);
    CHECK(bk::sys::sockaddr_string(a) == "127.0.0.1:8080");
    CHECK(bk::sys::sockaddr_string(bk::sys::ipv4_sockaddr(0, 0)) == "0.0.0.0:0");
    CHECK(bk::sys::sockaddr_string(bk::sys::ipv4_sockaddr(0x0acb0002, 65535)) == "10.203.0.2:65535");
}

TEST_CASE("net: a failed bind names the call, the address and errno") {
    bk::Fd s = bk::sys::socket("test", AF_INET, SOCK_STREAM);
    CHECK(s);
    try {
        // 192.0.2.1 (TEST-NET-1) is never an address of this host.
        bk::sys::bind("take a port", s.get(), bk::sys::ipv4_sockaddr(0xc0000201, 9));
        FAIL("bind succeeded");
    } catch (const bk::Error& e) {
        CHECK(e.err() == EADDRNOTAVAIL);
        CHECK(e.message().find("cannot take a port: bind(") == 0);
        CHECK(e.message().find("192.0.2.1:9") != std::string::npos);
    }
}

TEST_CASE("net: pidfd_open of a missing process is ESRCH; of ourselves works") {
    CHECK(bk::sys::pidfd_open("watch", ::getpid()));
    try {
        bk::sys::pidfd_open("watch", 999999999);
        FAIL("opened");
    } catch (const bk::Error& e) {
        CHECK(e.err() == ESRCH);
        CHECK(e.call() == "pidfd_open(999999999, 0)");
    }
}
