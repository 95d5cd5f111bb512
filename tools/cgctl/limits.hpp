// The limits cgctl can set, the small languages they are written in
// (64Mi, 0.5, 0-1, 8:0:rbps=1M), and which file each one becomes in each
// cgroup version. All pure: nothing here touches the kernel, so the unit
// tests check every spelling and every file name.
//
// Sizes follow Kubernetes: K, M, G, T are powers of 1000 and Ki, Mi, Gi, Ti
// powers of 1024, so "64M" is 64,000,000 bytes and "64Mi" is 67,108,864.
// See cgroups(7), Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bk::cgctl {

enum class Version { v1, v2 };

// "unlimited" in a size or count: v2 writes "max", v1 writes -1.
inline constexpr uint64_t k_unlimited = UINT64_MAX;

struct IoMax {
    unsigned major = 0, minor = 0;
    std::string device;  // as the user wrote it, for messages
    std::optional<uint64_t> rbps, wbps, riops, wiops;
};

struct Limits {
    std::optional<uint64_t> memory;       // bytes, or k_unlimited
    std::optional<uint64_t> memory_swap;  // memory + swap, as docker --memory-swap
    std::optional<double> cpus;           // 0.5 = half of one CPU
    std::optional<unsigned> cpu_weight;   // 1..10000, 100 is the default share
    std::optional<std::string> cpuset;    // "0-1,3"
    std::optional<uint64_t> pids;         // or k_unlimited
    std::optional<unsigned> io_weight;    // 1..10000
    std::vector<IoMax> io_max;

    bool empty() const;
    // The controllers these limits need (v2 names: memory cpu cpuset pids io).
    std::vector<std::string> controllers() const;
};

// Each parser throws bk::Error (exit 125) that names the accepted forms.
uint64_t parse_size(const std::string& text, const std::string& option);
double parse_cpus(const std::string& text);
unsigned parse_weight(const std::string& text, const std::string& option);
std::string parse_cpuset(const std::string& text);
uint64_t parse_count(const std::string& text, const std::string& option);
// DEV:KEY=VALUE[,KEY=VALUE...]; DEV is MAJOR:MINOR or a block device path.
IoMax parse_io_max(const std::string& text);

// Limits that make sense only together: --memory-swap needs --memory and
// may not be below it (it counts memory plus swap, as docker's does).
void check_limits(const Limits& limits);

// A group name: letters, digits, '-' and '_', 1 to 64 of them, starting
// with a letter or digit. Nothing else may reach a path (no "..", no "/").
void check_name(const std::string& name);

// 64Mi -> "64Mi", 64000000 -> "64M", anything else in bytes: for people.
std::string format_size(uint64_t bytes);

// One write that makes a limit real: `file` in the group's directory of the
// `controller` hierarchy (v1) or in its only directory (v2).
struct Setting {
    std::string controller;  // v1 hierarchy / v2 controller: memory, cpu, ...
    std::string file;        // memory.max, memory.limit_in_bytes, ...
    std::string value;       // exactly what is written
    std::string why;         // "limit memory to 64Mi", the --explain reason
};

// Which files the limits become, in the order they must be written.
std::vector<Setting> settings_for(Version v, const Limits& limits);

// cpu.weight (v2, 1..10000) to cpu.shares (v1, 2..262144) and back, as
// systemd converts them: the defaults match, 100 <-> 1024.
uint64_t weight_to_shares(unsigned weight);
unsigned shares_to_weight(uint64_t shares);

} // namespace bk::cgctl
