// netfwd's small languages: port specs, subnets, and picking a free subnet.
#include <catch2/catch.hpp>

#include "error.hpp"
#include "../../tools/netfwd/nat.hpp"
#include "../../tools/netfwd/spec.hpp"
#include "../../tools/netfwd/target.hpp"

using namespace bk::netfwd;

TEST_CASE("port spec: HOST_PORT:BOX_PORT binds 127.0.0.1 and tcp by default") {
    PortSpec p = parse_port_spec("8080:80");
    CHECK(p.host_ip == 0x7f000001);
    CHECK(p.host_port == 8080);
    CHECK(p.box_port == 80);
    CHECK(p.proto == Proto::Tcp);
    CHECK(p.str() == "127.0.0.1:8080:80/tcp");
}

TEST_CASE("port spec: an address and a protocol") {
    CHECK(parse_port_spec("0.0.0.0:5353:53/udp").str() == "0.0.0.0:5353:53/udp");
    CHECK(parse_port_spec("10.1.2.3:1:65535/tcp").str() == "10.1.2.3:1:65535/tcp");
    CHECK(parse_port_spec("127.0.0.2:9000:9000").host_ip == 0x7f000002);
    CHECK(parse_port_spec("8080:80/udp").proto == Proto::Udp);
}

TEST_CASE("port spec: an IPv6 host address goes in brackets") {
    PortSpec p = parse_port_spec("[::1]:8080:80");
    REQUIRE(p.host_ip6.has_value());
    CHECK((*p.host_ip6)[15] == 1);
    CHECK(p.host_port == 8080);
    CHECK(p.box_port == 80);
    CHECK(p.host_str() == "::1");
    CHECK(p.str() == "[::1]:8080:80/tcp");
    CHECK(parse_port_spec("[::]:5353:53/udp").str() == "[::]:5353:53/udp");
    // The canonical form is inet_ntop's: lower case, zeros folded.
    CHECK(parse_port_spec("[FD00:0:0::0:1]:1:2").str() == "[fd00::1]:1:2/tcp");
    CHECK_FALSE(parse_port_spec("127.0.0.1:8080:80").host_ip6.has_value());
}

TEST_CASE("port spec: bad ones are refused with the form in the hint") {
    for (const char* bad : {"", "8080", ":80", "8080:", "0:80", "8080:0", "65536:80", "8080:70000", "-1:80",
                            "8080:80/sctp", "8080:80/", "a:80", "8080:b", "1.2.3:8080:80", "1.2.3.4.5:8080:80",
                            "256.0.0.1:8080:80", "01.2.3.4:8080:80", "::1:8080:80", "[::1]8080:80", "[::1:8080:80",
                            "[::1]:8080", "[::1]:8080:80:90", "[]:8080:80", "[::g]:8080:80", "[fe80::1%lo]:8080:80",
                            "[localhost]:8080:80", "[1.2.3.4]:8080:80", "[::ffff:127.0.0.1]:8080:80", "[[::1]]:8080:80",
                            "::1]:8080:80", "1.2.3.4:[8080]:80",
                            "1.2.3.4:8080:80:90", " 8080:80", "8080 :80", "+8080:80", "8080:80/TCP",
                            "99999999999999999999:80"}) {
        INFO(bad);
        try {
            parse_port_spec(bad);
            FAIL("accepted");
        } catch (const bk::Error& e) {
            CHECK(e.exit_code() == 125);
            CHECK(e.why().find("port spec") != std::string::npos);
            CHECK_FALSE(e.hint().empty());
        }
    }
}

TEST_CASE("port spec: two specs on one host socket clash") {
    auto p = [](const char* s) { return parse_port_spec(s); };
    CHECK(find_clash({p("8080:80"), p("8081:80")}) == std::nullopt);
    CHECK(find_clash({p("8080:80"), p("8080:80/udp")}) == std::nullopt);
    CHECK(find_clash({p("127.0.0.1:8080:80"), p("127.0.0.2:8080:81")}) == std::nullopt);
    CHECK(find_clash({p("8080:80"), p("8080:81")}).has_value());
    CHECK(find_clash({p("0.0.0.0:8080:80"), p("127.0.0.1:8080:81")}).has_value());
    // IPv6 sockets are IPV6_V6ONLY: the families never clash with each other.
    CHECK(find_clash({p("[::1]:8080:80"), p("127.0.0.1:8080:80")}) == std::nullopt);
    CHECK(find_clash({p("[::]:8080:80"), p("0.0.0.0:8080:80")}) == std::nullopt);
    CHECK(find_clash({p("[::1]:8080:80"), p("[::1]:8080:81")}).has_value());
    CHECK(find_clash({p("[::]:8080:80"), p("[::1]:8080:81")}).has_value());
    CHECK(find_clash({p("[::1]:8080:80"), p("[::2]:8080:81")}) == std::nullopt);
    CHECK(find_clash({p("[::1]:8080:80"), p("[::1]:8080:80/udp")}) == std::nullopt);
}

TEST_CASE("cidr: parse, mask, contains, overlaps") {
    Cidr c = parse_cidr("10.203.0.0/30");
    CHECK(c.network == 0x0acb0000);
    CHECK(c.prefix == 30);
    CHECK(c.mask() == 0xfffffffc);
    CHECK(ipv4_str(c.host_address()) == "10.203.0.1");
    CHECK(ipv4_str(c.box_address()) == "10.203.0.2");
    CHECK(c.contains(parse_ipv4("10.203.0.3")));
    CHECK_FALSE(c.contains(parse_ipv4("10.203.0.4")));
    CHECK(parse_cidr("0.0.0.0/0").mask() == 0);
    CHECK(parse_cidr("1.2.3.4/32").mask() == 0xffffffff);
    CHECK(parse_cidr("10.0.0.0/8").overlaps(parse_cidr("10.203.0.4/30")));
    CHECK(parse_cidr("10.203.0.4/30").overlaps(parse_cidr("10.0.0.0/8")));
    CHECK_FALSE(parse_cidr("10.203.0.0/30").overlaps(parse_cidr("10.203.0.4/30")));
    CHECK(parse_cidr("0.0.0.0/0").overlaps(parse_cidr("192.168.1.0/24")));
}

TEST_CASE("cidr: bad ones, and host bits set") {
    for (const char* bad : {"", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0/24", "10.0.0.0/-1", "/24",
                            "10.0.0.0/2x", "x/24"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_cidr(bad), bk::Error);
    }
    try {
        parse_cidr("10.9.0.5/24");
        FAIL("accepted host bits");
    } catch (const bk::Error& e) {
        CHECK(e.hint().find("10.9.0.0/24") != std::string::npos);
    }
}

TEST_CASE("link subnet: room for two hosts") {
    CHECK(parse_link_subnet("192.168.50.0/24").prefix == 24);
    CHECK(parse_link_subnet("10.9.0.4/30").prefix == 30);
    CHECK_THROWS_AS(parse_link_subnet("10.9.0.4/31"), bk::Error);
    CHECK_THROWS_AS(parse_link_subnet("10.9.0.4/32"), bk::Error);
    CHECK_THROWS_AS(parse_link_subnet("0.0.0.0/0"), bk::Error);
}

TEST_CASE("allocation: the first free /30, around what is used") {
    Cidr pool = parse_cidr("10.203.0.0/16");
    CHECK(allocate_subnet(pool, 30, {})->str() == "10.203.0.0/30");
    CHECK(allocate_subnet(pool, 30, {parse_cidr("10.203.0.0/30")})->str() == "10.203.0.4/30");
    CHECK(allocate_subnet(pool, 30, {parse_cidr("10.203.0.0/30"), parse_cidr("10.203.0.4/30"),
                                     parse_cidr("10.203.0.9/32")})->str() == "10.203.0.12/30");
    CHECK(allocate_subnet(pool, 30, {parse_cidr("10.203.0.0/24")})->str() == "10.203.1.0/30");
    // A wide route over the whole pool leaves nothing.
    CHECK(allocate_subnet(pool, 30, {parse_cidr("10.0.0.0/8")}) == std::nullopt);
    CHECK(allocate_subnet(parse_cidr("10.0.0.0/30"), 30, {parse_cidr("10.0.0.0/30")}) == std::nullopt);
    CHECK(allocate_subnet(parse_cidr("10.0.0.0/30"), 29, {}) == std::nullopt);
    // The pool's last block is reachable (no off-by-one at the end).
    CHECK(allocate_subnet(parse_cidr("10.0.0.0/29"), 30, {parse_cidr("10.0.0.0/30")})->str() == "10.0.0.4/30");
    CHECK(allocate_subnet(parse_cidr("255.255.255.248/29"), 30, {parse_cidr("255.255.255.248/30")})->str() ==
          "255.255.255.252/30");
}

TEST_CASE("nat rules: one table, DNAT in prerouting and output, masquerade for loopback sources") {
    std::string rules = nat_ruleset("boxkit_netfwd_42", {parse_port_spec("8080:80"), parse_port_spec("0.0.0.0:5353:53/udp")},
                                    "bk123", parse_ipv4("10.203.0.2"));
    CHECK(rules.find("table ip boxkit_netfwd_42 {") == 0);
    CHECK(rules.find("type nat hook prerouting") != std::string::npos);
    CHECK(rules.find("type nat hook output") != std::string::npos);
    CHECK(rules.find("ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.203.0.2:80") != std::string::npos);
    CHECK(rules.find("fib daddr type local udp dport 5353 dnat to 10.203.0.2:53") != std::string::npos);
    CHECK(rules.find("oifname \"bk123\" ip saddr 127.0.0.0/8 masquerade") != std::string::npos);
}

TEST_CASE("link names fit IFNAMSIZ") {
    CHECK(link_name_for(4026531840ULL) == "bk4026531840");
    CHECK(link_name_for(18446744073709551615ULL).size() > 15);  // never a real nsfs inode; documents the bound
    CHECK(link_name_for(4294967295ULL).size() <= 15);
}
