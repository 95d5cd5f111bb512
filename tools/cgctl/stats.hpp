// Showing usage: the JSON every command shares, the `ls` table, the one-line
// report `cgctl run` prints, and the bars of `stats --watch`.
#pragma once
#include <string>

#include "backend.hpp"
#include "json.hpp"

namespace bk::cgctl {

// Keys are stable: memory_current, memory_peak, memory_limit, cpu_usec, ...
// A counter this kernel does not keep is null; "max" limits are null too.
json usage_json(const Usage& u);

std::string list_header();
std::string list_line(const std::string& name, const Usage& u);

// "memory peak 1.2Mi of 64M, cpu 0.01 s, pids peak 1 of 64, oom kills 0, ..."
std::string usage_summary(const Usage& u);

// A bar of `width` cells, `fraction` of them full ("[#####.....]").
std::string bar(double fraction, int width);

// "12.0Mi": bytes for people (format_size rounds to one decimal).
std::string human_bytes(uint64_t bytes);

} // namespace bk::cgctl
