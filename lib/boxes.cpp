#include "boxes.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>

#include "error.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "paths.hpp"
#include "sys.hpp"

namespace bk::boxes {

namespace {

const std::string k_suffix = ".json";

// Creation and stale-record removal happen under flock(2) on the directory,
// so two nsjail-lites racing for one stale name cannot remove each other's
// fresh record.
class DirLock {
public:
    explicit DirLock(const std::string& dir) {
        fd_ = sys::open("hold the boxes directory to lock it", dir, O_RDONLY | O_DIRECTORY);
        while (::flock(fd_.get(), LOCK_EX) < 0) {
            if (errno != EINTR) throw_errno("lock the boxes directory", "flock(\"" + dir + "\", LOCK_EX)");
        }
    }

private:
    Fd fd_;  // closing it drops the lock
};

std::string dir() {
    std::string d = paths::boxes();
    paths::make_dirs(d, 0700);
    return d;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Write the record to a temporary file in the same directory (so link and
// rename stay atomic), flushed before it gets its name.
std::string write_temp(const std::string& d, const Box& box) {
    std::string tmp = d + "/." + box.name + ".tmp." + std::to_string(::getpid());
    std::string text = to_json(box).dump(2) + "\n";
    Fd fd = sys::open("write the record of box " + box.name, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n = ::write(fd.get(), text.data(), text.size());
    if (n < 0 || size_t(n) != text.size()) {
        ::unlink(tmp.c_str());
        throw_errno("write the record of box " + box.name, "write(\"" + tmp + "\")");
    }
    return tmp;
}

} // namespace

std::string Box::ns_path(const std::string& kind) const {
    auto it = namespaces.find(kind);
    return it == namespaces.end() ? std::string() : it->second;
}

bool valid_name(const std::string& name) {
    if (name.empty() || name.size() > 64 || name[0] == '.' || name[0] == '-') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
    });
}

void check_name(const std::string& name) {
    if (!valid_name(name))
        throw Error("use " + quote(name) + " as a box name", "", 0,
                    "a name is 1-64 letters, digits, '_', '.' or '-', and starts with a letter or digit");
}

std::optional<unsigned long long> parse_start_time(const std::string& line) {
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    // After "pid (comm)" comes field 3 (state); field 22 is the 20th from there.
    for (int i = 3; i <= 22; ++i) {
        if (!(rest >> field)) return std::nullopt;
    }
    try {
        size_t used = 0;
        unsigned long long v = std::stoull(field, &used);
        if (used != field.size()) return std::nullopt;
        return v;
    } catch (...) {
        return std::nullopt;
    }
}

namespace {
// /proc/PID/stat gives a start time as the READER's time namespace sees the
// boot clock (time_namespaces(7)): a reader whose boottime offset is set
// would record, or check, another number. Taking our own offset away gives
// the host's clock, the same for every reader. 0 without time namespaces.
long long boottime_offset_ticks() {
    static const long long ticks = [] {
        std::istringstream in(read_text("/proc/self/timens_offsets"));
        std::string clock;
        long long secs = 0, nsecs = 0;
        long hz = ::sysconf(_SC_CLK_TCK);
        while (in >> clock >> secs >> nsecs)
            if (clock == "boottime") return secs * hz + nsecs / (1000000000LL / hz);
        return 0LL;
    }();
    return ticks;
}

std::optional<unsigned long long> host_start_time(const std::string& stat) {
    auto t = parse_start_time(stat);
    if (!t) return std::nullopt;
    return (unsigned long long)((long long)*t - boottime_offset_ticks());
}
} // namespace

std::optional<unsigned long long> process_start_time(pid_t pid) {
    if (pid <= 0) return std::nullopt;
    std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
    if (text.empty()) return std::nullopt;
    return host_start_time(text);
}

bool running(pid_t pid, unsigned long long start_time) {
    if (pid <= 0) return false;
    std::string text = read_text("/proc/" + std::to_string(pid) + "/stat");
    auto now = host_start_time(text);
    if (!now || *now != start_time) return false;
    // A zombie has ended: its new parent just has not reaped it yet (after a
    // supervisor killed with SIGKILL, that can take a while). Field 3 is the state.
    auto close = text.rfind(')');
    char state = close + 2 < text.size() ? text[close + 2] : '?';
    return state != 'Z' && state != 'X';
}

unsigned long long current_pid_ns() {
    struct stat st {};
    return ::stat("/proc/self/ns/pid", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

bool foreign(const Box& box) { return box.pid_ns != 0 && box.pid_ns != current_pid_ns(); }

bool alive(const Box& box) {
    if (foreign(box)) return true;  // not ours to judge: see boxes.hpp
    auto is = [](pid_t pid, unsigned long long start) { return running(pid, start); };
    if (box.pid > 0) return is(box.pid, box.start_time);
    return box.supervisor_pid > 0 && is(box.supervisor_pid, box.supervisor_start_time);
}

json to_json(const Box& b) {
    return json{{"name", b.name},
                {"pid", b.pid},
                {"start_time", b.start_time},
                {"supervisor_pid", b.supervisor_pid},
                {"supervisor_start_time", b.supervisor_start_time},
                {"namespaces", b.namespaces},
                {"command", b.command},
                {"hostname", b.hostname},
                {"started", b.started},
                {"started_unix", b.started_unix},
                {"log_path", b.log_path},
                {"root", b.root},
                {"cwd", b.cwd},
                {"detached", b.detached},
                {"pid_ns", b.pid_ns}};
}

Box from_json(const json& d) {
    try {
        Box b;
        b.name = d.at("name").get<std::string>();
        b.pid = d.at("pid").get<pid_t>();
        b.start_time = d.at("start_time").get<unsigned long long>();
        b.supervisor_pid = d.value("supervisor_pid", pid_t(0));
        b.supervisor_start_time = d.value("supervisor_start_time", 0ULL);
        b.namespaces = d.value("namespaces", std::map<std::string, std::string>{});
        b.command = d.value("command", std::vector<std::string>{});
        b.hostname = d.value("hostname", std::string());
        b.started = d.value("started", std::string());
        b.started_unix = d.value("started_unix", 0LL);
        b.log_path = d.value("log_path", std::string());
        b.root = d.value("root", std::string("/"));
        b.cwd = d.value("cwd", std::string());
        b.detached = d.value("detached", false);
        b.pid_ns = d.value("pid_ns", 0ULL);
        if (!valid_name(b.name)) throw Error("read a box record", "", 0, "bad name " + quote(b.name));
        return b;
    } catch (const json::exception& e) {
        throw Error(std::string("read a box record: ") + e.what());
    }
}

std::string record_path(const std::string& name) { return paths::boxes() + "/" + name + k_suffix; }
std::string log_path(const std::string& name) { return paths::boxes() + "/" + name + ".log"; }

void create(const Box& box) {
    check_name(box.name);
    std::string d = dir();
    DirLock lock(d);
    std::string path = d + "/" + box.name + k_suffix;
    if (auto old = read(box.name); old && !alive(*old)) {
        detail("removing the stale record of box " + box.name + " (its process is gone)");
        ::unlink(path.c_str());
    }
    std::string tmp = write_temp(d, box);
    std::string call = "link(" + quote(tmp) + ", " + quote(path) + ")";
    explain("claim the name " + box.name + " for this box, failing if it is taken", call);
    int rc = ::link(tmp.c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp.c_str());
    if (rc < 0) {
        Error e("name the box " + box.name, call, err);
        if (err == EEXIST)
            e.with_hint("a running box already has that name; see 'nsjail-lite ps', or stop it with 'nsjail-lite stop " +
                        box.name + "'");
        throw e;
    }
}

void update(const Box& box) {
    std::string d = dir();
    std::string tmp = write_temp(d, box);
    std::string path = d + "/" + box.name + k_suffix;
    std::string call = "rename(" + quote(tmp) + ", " + quote(path) + ")";
    explain("record the box's pid and namespaces", call);
    if (::rename(tmp.c_str(), path.c_str()) < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        throw Error("update the record of box " + box.name, call, err);
    }
}

std::optional<Box> read(const std::string& name) {
    if (!valid_name(name)) return std::nullopt;
    std::string text = read_text(record_path(name));
    if (text.empty()) return std::nullopt;
    try {
        return from_json(json::parse(text));
    } catch (...) {
        return std::nullopt;
    }
}

Box find_running(const std::string& name) {
    check_name(name);
    auto box = read(name);
    if (box && foreign(*box))
        throw Error("reach the box " + name + " from this PID namespace", "", 0,
                    "it was started in another one (pid:[" + std::to_string(box->pid_ns) +
                        "]), whose pids mean other processes here; run the command from there");
    if (!box || !alive(*box))
        throw Error("find a running box named " + name, "", 0, "see the running boxes with 'nsjail-lite ps'");
    return *box;
}

std::vector<Box> list() {
    std::vector<Box> out;
    DIR* d = ::opendir(paths::boxes().c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string f = e->d_name;
        if (f.size() <= k_suffix.size() || f[0] == '.' || f.compare(f.size() - k_suffix.size(), k_suffix.size(), k_suffix))
            continue;
        if (auto b = read(f.substr(0, f.size() - k_suffix.size()))) out.push_back(*b);
    }
    ::closedir(d);
    std::sort(out.begin(), out.end(), [](const Box& a, const Box& b) { return a.name < b.name; });
    return out;
}

void remove(const std::string& name, pid_t only_pid) {
    if (!valid_name(name)) return;
    std::string d = paths::boxes();
    if (::access(d.c_str(), F_OK) < 0) return;
    DirLock lock(d);
    if (only_pid != 0) {
        auto b = read(name);
        if (!b || b->pid != only_pid) return;
    }
    ::unlink(record_path(name).c_str());
}

std::string now_iso8601() {
    std::time_t t = std::time(nullptr);
    std::tm tm {};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

} // namespace bk::boxes
