#include "error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "explain.hpp"

namespace bk {

Error::Error(std::string why, std::string call, int err, std::string hint)
    : std::runtime_error(why), why_(std::move(why)), call_(std::move(call)),
      hint_(std::move(hint)), err_(err) {}

std::string Error::message() const {
    std::string m = "cannot " + why_;
    if (!call_.empty()) m += ": " + call_;
    if (err_ != 0) m += std::string(": ") + std::strerror(err_) + " (" + errno_name(err_) + ")";
    return m;
}

void throw_errno(const std::string& why, const std::string& call) {
    int err = errno;
    throw Error(why, call, err);
}

bool full_disk_without_hint(const Error& e) {
    return (e.err() == ENOSPC || e.err() == EDQUOT) && e.hint().empty();
}

std::string errno_name(int err) {
    const char* name = strerrorname_np(err);
    return name ? name : "E" + std::to_string(err);
}

void report(const Error& e) {
    std::fprintf(stderr, "%s: %s\n", tool_name().c_str(), e.message().c_str());
    if (!e.hint().empty()) std::fprintf(stderr, "%s: hint: %s\n", tool_name().c_str(), e.hint().c_str());
}

void warn(const std::string& text) {
    if (quiet()) return;
    std::fprintf(stderr, "%s: warning: %s\n", tool_name().c_str(), text.c_str());
}

} // namespace bk
