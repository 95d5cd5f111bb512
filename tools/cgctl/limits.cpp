#include "limits.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "error.hpp"

namespace bk::cgctl {

namespace {

const char* const k_size_forms =
    "write bytes, or a number with K, M, G, T (powers of 1000) or Ki, Mi, Gi, Ti (powers of 1024), "
    "or max: e.g. 64Mi, 512M, 1Gi, max";

bool parse_u64(std::string_view s, uint64_t& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

Error bad(const std::string& option, const std::string& text, const std::string& forms) {
    return Error("understand " + option + " " + (text.empty() ? "''" : text), "", 0, forms);
}

std::string num(uint64_t n) { return std::to_string(n); }

// v2 spells "no limit" max; v1 spells it -1.
std::string v2_value(uint64_t n) { return n == k_unlimited ? "max" : num(n); }
std::string v1_value(uint64_t n) { return n == k_unlimited ? "-1" : num(n); }

std::string shown_size(uint64_t n) { return n == k_unlimited ? "no limit" : format_size(n); }

} // namespace

bool Limits::empty() const {
    return !memory && !memory_swap && !cpus && !cpu_weight && !cpuset && !pids && !io_weight && io_max.empty();
}

std::vector<std::string> Limits::controllers() const {
    std::vector<std::string> out;
    if (memory || memory_swap) out.push_back("memory");
    if (cpus || cpu_weight) out.push_back("cpu");
    if (cpuset) out.push_back("cpuset");
    if (pids) out.push_back("pids");
    if (io_weight || !io_max.empty()) out.push_back("io");
    return out;
}

uint64_t parse_size(const std::string& text, const std::string& option) {
    if (text == "max" || text == "-1") return k_unlimited;
    size_t digits = 0;
    while (digits < text.size() && (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.')) ++digits;
    std::string number = text.substr(0, digits), unit = text.substr(digits);
    static const std::pair<const char*, double> units[] = {
        {"", 1},        {"B", 1},          {"K", 1e3},          {"k", 1e3},          {"M", 1e6},
        {"G", 1e9},     {"T", 1e12},       {"Ki", 1024.0},      {"Mi", 1048576.0},   {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0}};
    auto u = std::find_if(std::begin(units), std::end(units), [&](auto& p) { return unit == p.first; });
    if (number.empty() || u == std::end(units) || std::count(number.begin(), number.end(), '.') > 1)
        throw bad(option, text, k_size_forms);
    uint64_t whole = 0;
    if (number.find('.') == std::string::npos) {
        if (!parse_u64(number, whole)) throw bad(option, text, k_size_forms);
        if (u->second > 1 && whole > uint64_t(1e18 / u->second)) throw bad(option, text, "that is more than any machine has; " + std::string(k_size_forms));
        whole *= uint64_t(u->second);
    } else {
        // 1.5Gi: a fraction is fine with a unit, never for plain bytes.
        if (u->second == 1) throw bad(option, text, k_size_forms);
        double value = std::strtod(number.c_str(), nullptr) * u->second;
        if (!(value < 1e18)) throw bad(option, text, k_size_forms);
        whole = uint64_t(std::llround(value));
    }
    if (whole == 0) throw bad(option, text, "a limit of 0 bytes would stop everything; " + std::string(k_size_forms));
    return whole;
}

double parse_cpus(const std::string& text) {
    const char* forms = "write how many CPUs, with at most 2 decimals, from 0.01 up: e.g. 0.5, 1, 1.25";
    if (text.empty() || text.find_first_not_of("0123456789.") != std::string::npos ||
        std::count(text.begin(), text.end(), '.') > 1 || text.front() == '.' || text.back() == '.')
        throw bad("--cpus", text, forms);
    auto dot = text.find('.');
    if (dot != std::string::npos && text.size() - dot - 1 > 2) throw bad("--cpus", text, forms);
    double cpus = std::strtod(text.c_str(), nullptr);
    if (cpus < 0.01 || cpus > 1024) throw bad("--cpus", text, forms);
    return cpus;
}

unsigned parse_weight(const std::string& text, const std::string& option) {
    uint64_t w = 0;
    if (!parse_u64(text, w) || w < 1 || w > 10000)
        throw bad(option, text, "write a weight from 1 to 10000; 100 is everyone's default share");
    return unsigned(w);
}

std::string parse_cpuset(const std::string& text) {
    const char* forms = "write CPU numbers and ranges separated by commas: e.g. 0, 0-1, 0,2-3";
    if (text.empty()) throw bad("--cpuset", text, forms);
    size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto dash = part.find('-');
        uint64_t lo = 0, hi = 0;
        if (dash == std::string::npos) {
            if (!parse_u64(part, lo) || lo > 4095) throw bad("--cpuset", text, forms);
        } else if (!parse_u64(part.substr(0, dash), lo) || !parse_u64(part.substr(dash + 1), hi) || lo > hi || hi > 4095) {
            throw bad("--cpuset", text, forms);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return text;
}

uint64_t parse_count(const std::string& text, const std::string& option) {
    if (text == "max" || text == "-1") return k_unlimited;
    uint64_t n = 0;
    if (!parse_u64(text, n) || n == 0 || n > (1u << 22))
        throw bad(option, text, "write a whole number from 1 to 4194304, or max: e.g. 64");
    return n;
}

IoMax parse_io_max(const std::string& text) {
    const char* forms =
        "write DEV:KEY=VALUE[,KEY=VALUE...] with DEV a block device (/dev/sda) or MAJOR:MINOR (8:0) and KEY one of "
        "rbps, wbps (bytes per second, units allowed), riops, wiops: e.g. 8:0:rbps=1Mi,wiops=100";
    IoMax io;
    // The keys start after the last ':' that is followed by "KEY=".
    auto eq = text.find('=');
    if (eq == std::string::npos) throw bad("--io-max", text, forms);
    auto colon = text.rfind(':', eq);
    if (colon == std::string::npos || colon == 0) throw bad("--io-max", text, forms);
    io.device = text.substr(0, colon);
    std::string keys = text.substr(colon + 1);
    auto mm = io.device.find(':');
    uint64_t major = 0, minor = 0;
    if (io.device[0] == '/') {
        struct stat st {};
        if (::stat(io.device.c_str(), &st) < 0 || !S_ISBLK(st.st_mode))
            throw bad("--io-max", text, io.device + " is not a block device here; " + forms);
        major = ::major(st.st_rdev);
        minor = ::minor(st.st_rdev);
    } else if (mm == std::string::npos || !parse_u64(io.device.substr(0, mm), major) ||
               !parse_u64(io.device.substr(mm + 1), minor) || major > 4095 || minor > 1048575) {
        throw bad("--io-max", text, forms);
    }
    io.major = unsigned(major);
    io.minor = unsigned(minor);
    size_t start = 0;
    while (true) {
        auto comma = keys.find(',', start);
        std::string kv = keys.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto e = kv.find('=');
        if (e == std::string::npos) throw bad("--io-max", text, forms);
        std::string key = kv.substr(0, e), value = kv.substr(e + 1);
        std::optional<uint64_t>* slot = key == "rbps" ? &io.rbps : key == "wbps" ? &io.wbps : key == "riops" ? &io.riops
                                      : key == "wiops" ? &io.wiops : nullptr;
        if (!slot || *slot) throw bad("--io-max", text, forms);
        *slot = key.ends_with("bps") ? parse_size(value, "--io-max " + key) : parse_count(value, "--io-max " + key);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return io;
}

void check_limits(const Limits& l) {
    if (!l.memory_swap) return;
    if (!l.memory)
        throw Error("use --memory-swap without --memory", "", 0,
                    "--memory-swap is memory plus swap; give both: --memory 64Mi --memory-swap 128Mi");
    if (*l.memory_swap < *l.memory)
        throw Error("use --memory-swap " + format_size(*l.memory_swap) + " below --memory " + format_size(*l.memory), "", 0,
                    "--memory-swap counts memory plus swap, so it is at least --memory (equal: no swap; max: any)");
}

void check_name(const std::string& name) {
    bool ok = !name.empty() && name.size() <= 64 && std::isalnum(static_cast<unsigned char>(name[0]));
    for (unsigned char c : name) ok = ok && (std::isalnum(c) || c == '-' || c == '_');
    if (!ok)
        throw Error("use " + (name.empty() ? std::string("''") : "'" + name + "'") + " as a group name", "", 0,
                    "a name is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit: e.g. web-1");
}

std::string format_size(uint64_t bytes) {
    if (bytes == k_unlimited) return "max";
    static const std::pair<const char*, uint64_t> units[] = {
        {"Ti", 1ull << 40}, {"T", 1000000000000ull}, {"Gi", 1ull << 30}, {"G", 1000000000ull},
        {"Mi", 1ull << 20}, {"M", 1000000ull},       {"Ki", 1ull << 10}, {"K", 1000ull}};
    for (auto [unit, size] : units)
        if (bytes >= size && bytes % size == 0) return std::to_string(bytes / size) + unit;
    // Not a round number (a usage, not a limit): one decimal, binary units.
    for (auto [unit, size] : units) {
        if (unit[1] != 'i' || bytes < size) continue;
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f%s", double(bytes) / double(size), unit);
        return buf;
    }
    return std::to_string(bytes) + "B";
}

uint64_t weight_to_shares(unsigned weight) { return std::clamp<uint64_t>(uint64_t(weight) * 1024 / 100, 2, 262144); }
unsigned shares_to_weight(uint64_t shares) { return unsigned(std::clamp<uint64_t>(shares * 100 / 1024, 1, 10000)); }

std::vector<Setting> settings_for(Version v, const Limits& l) {
    std::vector<Setting> out;
    const bool v2 = v == Version::v2;
    constexpr uint64_t period = 100000;  // µs: the kernel's default CFS period
    if (l.memory) {
        out.push_back({"memory", v2 ? "memory.max" : "memory.limit_in_bytes", v2 ? v2_value(*l.memory) : v1_value(*l.memory),
                       "limit memory to " + shown_size(*l.memory)});
    }
    if (l.memory_swap) {
        // docker's --memory-swap is memory plus swap. v1 takes that sum;
        // v2 counts swap on its own, so it gets the difference.
        std::string value;
        if (!v2) value = v1_value(*l.memory_swap);
        else if (*l.memory_swap == k_unlimited || !l.memory || *l.memory == k_unlimited) value = "max";
        else value = num(*l.memory_swap - std::min(*l.memory_swap, *l.memory));
        out.push_back({"memory", v2 ? "memory.swap.max" : "memory.memsw.limit_in_bytes", value,
                       "limit memory plus swap to " + shown_size(*l.memory_swap)});
    }
    if (l.cpus) {
        uint64_t quota = uint64_t(std::llround(*l.cpus * period));
        char shown[32];
        std::snprintf(shown, sizeof shown, "%g", *l.cpus);
        std::string why = std::string("allow ") + shown + " CPU: " + num(quota) + " µs of every " + num(period) + " µs";
        if (v2) {
            out.push_back({"cpu", "cpu.max", num(quota) + " " + num(period), why});
        } else {
            out.push_back({"cpu", "cpu.cfs_period_us", num(period), "count CPU time in periods of " + num(period) + " µs"});
            out.push_back({"cpu", "cpu.cfs_quota_us", num(quota), why});
        }
    }
    if (l.cpu_weight) {
        std::string why = "weigh this group's CPU share at " + num(*l.cpu_weight) + " (100 is the default)";
        out.push_back(v2 ? Setting{"cpu", "cpu.weight", num(*l.cpu_weight), why}
                         : Setting{"cpu", "cpu.shares", num(weight_to_shares(*l.cpu_weight)), why});
    }
    if (l.cpuset) out.push_back({"cpuset", "cpuset.cpus", *l.cpuset, "run only on CPUs " + *l.cpuset});
    if (l.pids) {
        out.push_back({"pids", "pids.max", v2_value(*l.pids),
                       "allow at most " + (*l.pids == k_unlimited ? std::string("any number of") : num(*l.pids)) +
                           " processes and threads"});
    }
    if (l.io_weight) {
        std::string why = "weigh this group's disk share at " + num(*l.io_weight) + " (100 is the default)";
        out.push_back(v2 ? Setting{"io", "io.weight", "default " + num(*l.io_weight), why}
                         : Setting{"io", "blkio.weight", num(std::clamp(*l.io_weight / 10, 10u, 1000u)), why});
    }
    for (const auto& io : l.io_max) {
        std::string dev = num(io.major) + ":" + num(io.minor);
        if (v2) {
            std::string value = dev;
            for (auto [key, val] : {std::pair{"rbps", io.rbps}, {"wbps", io.wbps}, {"riops", io.riops}, {"wiops", io.wiops}})
                if (val) value += std::string(" ") + key + "=" + v2_value(*val);
            out.push_back({"io", "io.max", value, "cap disk traffic on " + io.device});
        } else {
            for (auto [file, val] : {std::pair{"blkio.throttle.read_bps_device", io.rbps},
                                     {"blkio.throttle.write_bps_device", io.wbps},
                                     {"blkio.throttle.read_iops_device", io.riops},
                                     {"blkio.throttle.write_iops_device", io.wiops}})
                // v1 has no "max" here: 0 removes the rule.
                if (val) out.push_back({"io", file, dev + " " + (*val == k_unlimited ? "0" : num(*val)),
                                        "cap disk traffic on " + io.device});
        }
    }
    return out;
}

} // namespace bk::cgctl
