// cgctl's small languages (sizes, CPUs, CPU lists, counts, io.max) and the
// file each limit becomes on cgroup v1 and v2.
#include <catch2/catch.hpp>

#include "../../tools/cgctl/limits.hpp"
#include "error.hpp"

using namespace bk::cgctl;

TEST_CASE("sizes: K M G T are powers of 1000, Ki Mi Gi Ti of 1024", "[cgctl]") {
    CHECK(parse_size("4096", "--memory") == 4096);
    CHECK(parse_size("64K", "--memory") == 64000);
    CHECK(parse_size("64k", "--memory") == 64000);
    CHECK(parse_size("64Ki", "--memory") == 65536);
    CHECK(parse_size("64M", "--memory") == 64000000);
    CHECK(parse_size("64Mi", "--memory") == 67108864);
    CHECK(parse_size("1G", "--memory") == 1000000000);
    CHECK(parse_size("1Gi", "--memory") == 1073741824);
    CHECK(parse_size("1.5Gi", "--memory") == 1610612736);
    CHECK(parse_size("2Ti", "--memory") == 2199023255552);
    CHECK(parse_size("max", "--memory") == k_unlimited);
    CHECK(parse_size("-1", "--memory") == k_unlimited);
    for (auto bad : {"", "M", "64MB", "64mi", "64 M", "-5M", "0", "0M", "1.5", "1..5M", "64X", "9999999999999Ti", "0x10"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_size(bad, "--memory"), bk::Error);
    }
}

TEST_CASE("a bad size names the accepted forms", "[cgctl]") {
    try {
        parse_size("lots", "--memory");
        FAIL("no error");
    } catch (const bk::Error& e) {
        CHECK(e.message() == "cannot understand --memory lots");
        CHECK(e.hint().find("Ki, Mi, Gi") != std::string::npos);
        CHECK(e.exit_code() == 125);
    }
}

TEST_CASE("--cpus", "[cgctl]") {
    CHECK(parse_cpus("0.5") == Approx(0.5));
    CHECK(parse_cpus("2") == Approx(2));
    CHECK(parse_cpus("0.01") == Approx(0.01));
    CHECK(parse_cpus("1.25") == Approx(1.25));
    for (auto bad : {"", "0", "0.0", "0.001", "-1", "1.", ".5", "half", "1,5", "1e3", "2000", "0.125"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_cpus(bad), bk::Error);
    }
}

TEST_CASE("weights, counts and CPU lists", "[cgctl]") {
    CHECK(parse_weight("1", "--cpu-weight") == 1);
    CHECK(parse_weight("10000", "--cpu-weight") == 10000);
    for (auto bad : {"0", "10001", "", "x", "-3"}) CHECK_THROWS_AS(parse_weight(bad, "--cpu-weight"), bk::Error);
    CHECK(parse_count("64", "--pids") == 64);
    CHECK(parse_count("max", "--pids") == k_unlimited);
    for (auto bad : {"0", "", "1.5", "64k", "99999999"}) CHECK_THROWS_AS(parse_count(bad, "--pids"), bk::Error);
    for (auto good : {"0", "0-1", "0,2-3", "7"}) CHECK(parse_cpuset(good) == good);
    for (auto bad : {"", "1-0", "a", "0,", ",0", "0--1", "0-", "5000"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_cpuset(bad), bk::Error);
    }
}

TEST_CASE("--io-max DEV:KEY=VALUE,...", "[cgctl]") {
    IoMax io = parse_io_max("8:0:rbps=1Mi,wiops=100");
    CHECK(io.major == 8);
    CHECK(io.minor == 0);
    CHECK(io.rbps == 1048576u);
    CHECK(io.wiops == 100u);
    CHECK_FALSE(io.wbps);
    CHECK(parse_io_max("259:3:wbps=max").wbps == k_unlimited);
    for (auto bad : {"", "8:0", "8:0:", "8:0:rbps", "8:0:xbps=1", "8:0:rbps=1,rbps=2", "sda:rbps=1", "/nonexistent:rbps=1",
                     "8:rbps=1", "/etc/passwd:rbps=1"}) {
        INFO(bad);
        CHECK_THROWS_AS(parse_io_max(bad), bk::Error);
    }
}

TEST_CASE("group names never reach outside the parent group", "[cgctl]") {
    for (auto good : {"web", "web-1", "a_b", "0"}) CHECK_NOTHROW(check_name(good));
    CHECK_NOTHROW(check_name(std::string(64, 'x')));
    for (auto bad : {"", "..", ".", "../x", "a/b", "-x", "_x", "a b", "memory.max", "cgroup.procs", "x\n"}) {
        INFO(bad);
        CHECK_THROWS_AS(check_name(bad), bk::Error);
    }
    CHECK_THROWS_AS(check_name(std::string(65, 'x')), bk::Error);
}

TEST_CASE("format_size says round limits the way they were written", "[cgctl]") {
    CHECK(format_size(67108864) == "64Mi");
    CHECK(format_size(64000000) == "64M");
    CHECK(format_size(1536) == "1.5Ki");
    CHECK(format_size(100) == "100B");
    CHECK(format_size(k_unlimited) == "max");
}

namespace {
std::string file_of(const std::vector<Setting>& s, const std::string& file) {
    for (const auto& x : s)
        if (x.file == file) return x.value;
    return "<none>";
}
} // namespace

TEST_CASE("which file each limit becomes, v2 and v1", "[cgctl]") {
    Limits l;
    l.memory = 64ull << 20;
    l.memory_swap = 128ull << 20;
    l.cpus = 0.2;
    l.cpu_weight = 100;
    l.cpuset = "0-1";
    l.pids = 64;
    l.io_weight = 500;
    l.io_max.push_back(parse_io_max("8:0:rbps=1M,wiops=10"));

    auto v2 = settings_for(Version::v2, l);
    CHECK(file_of(v2, "memory.max") == "67108864");
    CHECK(file_of(v2, "memory.swap.max") == "67108864");  // swap alone: 128Mi - 64Mi
    CHECK(file_of(v2, "cpu.max") == "20000 100000");
    CHECK(file_of(v2, "cpu.weight") == "100");
    CHECK(file_of(v2, "cpuset.cpus") == "0-1");
    CHECK(file_of(v2, "pids.max") == "64");
    CHECK(file_of(v2, "io.weight") == "default 500");
    CHECK(file_of(v2, "io.max") == "8:0 rbps=1000000 wiops=10");
    CHECK(file_of(v2, "memory.limit_in_bytes") == "<none>");

    auto v1 = settings_for(Version::v1, l);
    CHECK(file_of(v1, "memory.limit_in_bytes") == "67108864");
    CHECK(file_of(v1, "memory.memsw.limit_in_bytes") == "134217728");  // memory + swap
    CHECK(file_of(v1, "cpu.cfs_period_us") == "100000");
    CHECK(file_of(v1, "cpu.cfs_quota_us") == "20000");
    CHECK(file_of(v1, "cpu.shares") == "1024");
    CHECK(file_of(v1, "cpuset.cpus") == "0-1");
    CHECK(file_of(v1, "pids.max") == "64");
    CHECK(file_of(v1, "blkio.weight") == "50");
    CHECK(file_of(v1, "blkio.throttle.read_bps_device") == "8:0 1000000");
    CHECK(file_of(v1, "blkio.throttle.write_iops_device") == "8:0 10");
    CHECK(file_of(v1, "memory.max") == "<none>");

    // The period is written before the quota on v1; memory before memsw.
    auto pos = [&](const std::string& f) {
        for (size_t i = 0; i < v1.size(); ++i)
            if (v1[i].file == f) return i;
        return v1.size();
    };
    CHECK(pos("cpu.cfs_period_us") < pos("cpu.cfs_quota_us"));
    CHECK(pos("memory.limit_in_bytes") < pos("memory.memsw.limit_in_bytes"));
}

TEST_CASE("no limit: v2 writes max, v1 writes -1", "[cgctl]") {
    Limits l;
    l.memory = k_unlimited;
    l.pids = k_unlimited;
    CHECK(file_of(settings_for(Version::v2, l), "memory.max") == "max");
    CHECK(file_of(settings_for(Version::v1, l), "memory.limit_in_bytes") == "-1");
    CHECK(file_of(settings_for(Version::v2, l), "pids.max") == "max");
    CHECK(file_of(settings_for(Version::v1, l), "pids.max") == "max");  // v1 pids.max also says max
}

TEST_CASE("cpu.weight <-> cpu.shares keep the defaults equal", "[cgctl]") {
    CHECK(weight_to_shares(100) == 1024);
    CHECK(shares_to_weight(1024) == 100);
    CHECK(weight_to_shares(1) == 10);
    CHECK(weight_to_shares(10000) == 102400);
    CHECK(shares_to_weight(2) == 1);
}

TEST_CASE("the controllers a set of limits needs", "[cgctl]") {
    Limits l;
    CHECK(l.empty());
    CHECK(l.controllers().empty());
    l.cpus = 1;
    l.pids = 5;
    CHECK(l.controllers() == std::vector<std::string>{"cpu", "pids"});
    l.io_max.push_back(parse_io_max("8:0:rbps=1"));
    CHECK(l.controllers().back() == "io");
}

TEST_CASE("--memory-swap needs --memory and is never below it", "[cgctl]") {
    Limits l;
    CHECK_NOTHROW(check_limits(l));
    l.memory_swap = 64ull << 20;
    CHECK_THROWS_AS(check_limits(l), bk::Error);  // without --memory
    l.memory = 128ull << 20;
    CHECK_THROWS_AS(check_limits(l), bk::Error);  // below it
    l.memory = 64ull << 20;
    CHECK_NOTHROW(check_limits(l));               // equal: no swap
    l.memory_swap = k_unlimited;
    CHECK_NOTHROW(check_limits(l));
}
