#include "paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "error.hpp"

namespace bk::paths {

namespace {
std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return (v && *v) ? v : fallback;
}

std::string data_home() {
    std::string home = env_or("HOME", "/tmp");
    return env_or("XDG_DATA_HOME", home + "/.local/share");
}
} // namespace

std::string store() {
    return env_or("BOXKIT_STORE", geteuid() == 0 ? "/var/lib/boxkit/store" : data_home() + "/boxkit/store");
}

std::string layers() {
    return env_or("BOXKIT_LAYERS", geteuid() == 0 ? "/var/lib/boxkit/layers" : data_home() + "/boxkit/layers");
}

std::string boxes() {
    if (geteuid() == 0) return env_or("BOXKIT_RUN", "/run/boxkit/boxes");
    std::string runtime = env_or("XDG_RUNTIME_DIR", "/tmp/boxkit-" + std::to_string(geteuid()));
    return env_or("BOXKIT_RUN", runtime + "/boxkit/boxes");
}

void make_dirs(const std::string& path, unsigned mode) {
    std::string cur;
    size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) < 0 && errno != EEXIST)
            throw_errno("make the directory " + cur, "mkdir(\"" + cur + "\")");
    }
}

} // namespace bk::paths
