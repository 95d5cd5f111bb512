#include "cgfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <sstream>

#include "error.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "limits.hpp"

namespace bk::cgctl {

void Fs::mkdir(std::string_view why, const std::string& path) {
    std::string call = "mkdir(" + quote(path) + ", 0755)";
    explain(why, call);
    if (::mkdir(path.c_str(), 0755) < 0) throw_errno(std::string(why), call);
}

void Fs::rmdir(std::string_view why, const std::string& path) {
    std::string call = "rmdir(" + quote(path) + ")";
    explain(why, call);
    if (::rmdir(path.c_str()) < 0) throw_errno(std::string(why), call);
}

void Fs::write(std::string_view why, const std::string& path, const std::string& value) {
    std::string call = "write(" + quote(path) + ", " + quote(value) + ")";
    explain(why, call);
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) throw_errno(std::string(why), "open(" + quote(path) + ", O_WRONLY|O_CLOEXEC)");
    ssize_t n = ::write(fd.get(), value.data(), value.size());
    if (n < 0) throw_errno(std::string(why), call);
    if (size_t(n) != value.size()) throw Error(std::string(why), call + ": short write");
}

std::optional<std::string> Fs::read(const std::string& path) const {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return std::nullopt;
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, size_t(n));
    if (n < 0) return std::nullopt;
    return out;
}

bool Fs::mkdir_if_missing(std::string_view why, const std::string& path) {
    if (exists(path)) return false;
    try {
        mkdir(why, path);
        return true;
    } catch (const Error& e) {
        if (e.err() != EEXIST) throw;
        return false;
    }
}

bool Fs::exists(const std::string& path) const {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> Fs::subdirs(const std::string& path) const {
    std::vector<std::string> out;
    DIR* dir = ::opendir(path.c_str());
    if (!dir) return out;
    while (dirent* e = ::readdir(dir)) {
        if (e->d_type == DT_DIR && e->d_name[0] != '.') out.emplace_back(e->d_name);
    }
    ::closedir(dir);
    std::sort(out.begin(), out.end());
    return out;
}

void Fs::set_xattr(std::string_view why, const std::string& path, const std::string& name, const std::string& value) {
    std::string call = "setxattr(" + quote(path) + ", " + quote(name) + ", " + quote(value) + ", 0)";
    explain(why, call);
    if (::setxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) < 0) throw_errno(std::string(why), call);
}

std::optional<std::string> Fs::get_xattr(const std::string& path, const std::string& name) const {
    char buf[256];
    ssize_t n = ::getxattr(path.c_str(), name.c_str(), buf, sizeof buf);
    if (n < 0) return std::nullopt;
    return std::string(buf, size_t(n));
}

Fs& real_fs() {
    static Fs fs;
    return fs;
}

std::optional<uint64_t> parse_number(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    std::string t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
    if (t == "max") return k_unlimited;
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    try {
        return std::stoull(t);
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<uint64_t> keyed_value(const std::optional<std::string>& text, const std::string& key) {
    if (!text) return std::nullopt;
    std::istringstream in(*text);
    std::string k, v;
    while (in >> k >> v)
        if (k == key) return parse_number(v);
    return std::nullopt;
}

std::vector<pid_t> parse_pids(const std::optional<std::string>& text) {
    std::vector<pid_t> out;
    if (!text) return out;
    std::istringstream in(*text);
    long pid;
    while (in >> pid) out.push_back(pid_t(pid));
    return out;
}

} // namespace bk::cgctl
