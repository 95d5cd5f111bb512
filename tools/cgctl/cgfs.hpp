// The cgroup filesystem is the whole interface: a group is a directory,
// mkdir(2) makes one, rmdir(2) removes it, and every limit, member list and
// counter is a small text file in it. These wrappers narrate each change
// (--explain) and throw bk::Error with the call and errno, like lib/sys.
//
// Fs is virtual for one reason: the unit tests run the v1 and v2 code on a
// plain directory, and there a "fake kernel" (tests/unit/test_cgctl_tree.cpp)
// makes the interface files that the real kernel makes on mkdir.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bk::cgctl {

class Fs {
public:
    virtual ~Fs() = default;
    virtual void mkdir(std::string_view why, const std::string& path);
    virtual void rmdir(std::string_view why, const std::string& path);
    // One write(2) of the whole value, as the kernel wants for cgroup files.
    virtual void write(std::string_view why, const std::string& path, const std::string& value);
    // The whole file; nothing when it is missing or unreadable.
    virtual std::optional<std::string> read(const std::string& path) const;
    bool exists(const std::string& path) const;
    // mkdir, where another cgctl making the same parent at the same moment
    // is no error. Returns whether this call made it.
    bool mkdir_if_missing(std::string_view why, const std::string& path);
    std::vector<std::string> subdirs(const std::string& path) const;
    // An extended attribute on a group's directory (cgroupfs keeps user.*
    // ones): how a transient group remembers which cgctl made it.
    void set_xattr(std::string_view why, const std::string& path, const std::string& name, const std::string& value);
    std::optional<std::string> get_xattr(const std::string& path, const std::string& name) const;
};

// The kernel's cgroupfs.
Fs& real_fs();

// Small readers for the files' formats.
std::optional<uint64_t> parse_number(const std::optional<std::string>& text);  // "max" -> UINT64_MAX
// "key value" lines (memory.events, cpu.stat, memory.oom_control): the value of `key`.
std::optional<uint64_t> keyed_value(const std::optional<std::string>& text, const std::string& key);
std::vector<pid_t> parse_pids(const std::optional<std::string>& text);

} // namespace bk::cgctl
