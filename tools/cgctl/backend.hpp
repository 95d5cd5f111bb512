// One interface, two kernels. A Backend does to a named group what cgctl's
// commands need: make it (with its parent and controllers), write limits,
// add a process, list members, read usage, freeze, kill, remove. v1.cpp
// spreads a group over one directory per controller hierarchy; v2.cpp keeps
// it in one directory and enables controllers top-down in subtree_control.
#pragma once
#include "error.hpp"
#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cgfs.hpp"
#include "layout.hpp"
#include "limits.hpp"

namespace bk::cgctl {

// What a group uses now; a field is empty when this kernel does not count it.
struct Usage {
    std::optional<uint64_t> memory_current, memory_peak, memory_limit;
    std::optional<uint64_t> swap_limit;                 // memory+swap (v1) / swap (v2)
    std::optional<uint64_t> cpu_usec;                   // CPU time used, all CPUs
    std::optional<uint64_t> cpu_quota_usec, cpu_period_usec;  // --cpus as quota per period
    std::optional<uint64_t> nr_periods, nr_throttled, throttled_usec;
    std::optional<uint64_t> pids_current, pids_peak, pids_limit;
    std::optional<uint64_t> oom_kills;                  // processes the OOM killer took
    std::optional<uint64_t> memory_limit_hits;          // times usage hit the limit
    std::optional<uint64_t> pids_limit_hits;            // forks refused at pids.max
    std::optional<bool> frozen;
    size_t members = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual Version version() const = 0;
    // The group's directory people should look at (v1: in the memory tree).
    virtual std::string path(const std::string& name) const = 0;
    // The parent every boxkit group lives under, for messages.
    virtual std::string parent_path() const = 0;
    virtual bool exists(const std::string& name) const = 0;
    // Make the parent, enable what the limits need, mkdir, write the limits.
    virtual void create(const std::string& name, const Limits& limits) = 0;
    virtual void apply(const std::string& name, const Limits& limits) = 0;
    virtual void attach(const std::string& name, pid_t pid) = 0;
    virtual std::vector<pid_t> members(const std::string& name) const = 0;
    // rmdir; the kernel refuses (EBUSY) while a process is inside.
    virtual void remove(const std::string& name) = 0;
    virtual void set_frozen(const std::string& name, bool frozen) = 0;
    virtual std::optional<bool> frozen(const std::string& name) const = 0;
    virtual bool can_freeze() const = 0;
    // Kill every member at once where the kernel can (v2 cgroup.kill);
    // returns false when the caller must kill them one by one.
    virtual bool kill_all(const std::string& name) = 0;
    virtual Usage usage(const std::string& name) const = 0;
    // Every group under the parent.
    virtual std::vector<std::string> groups() const = 0;
    // The files whose changes are limit events (memory.events, ...).
    virtual std::vector<std::string> event_files(const std::string& name) const = 0;

    Fs& fs() const { return *fs_; }

protected:
    // One step of making the group `name`; if it fails, remove what was made
    // so far and fail: all or nothing, never a half-made group.
    template <class Step> void or_undo(const std::string& name, Step&& step) {
        try {
            step();
        } catch (...) {
            try {
                remove(name);
            } catch (const Error&) {
            }
            throw;
        }
    }

    explicit Backend(Fs& fs) : fs_(&fs) {}
    Fs* fs_;
};

// parent: the boxkit parent group's path relative to the tree's top
// ("boxkit" for root; under the delegated subtree for a user on v2).
std::unique_ptr<Backend> make_v1_backend(Fs& fs, const Layout& layout, const std::string& parent);
std::unique_ptr<Backend> make_v2_backend(Fs& fs, const std::string& mount, const std::string& writable_base,
                                         const std::string& parent);

// The backend for this machine and user: detects the layout, finds where
// groups go (for a user on v2: a delegated subtree), throws a clear error
// with a hint when there is none.
std::unique_ptr<Backend> open_backend();

// Remember which cgctl process made a transient group, and whether it is gone.
void mark_transient(Backend& b, const std::string& name, pid_t owner);
// True when the group was made by `cgctl run` and that cgctl no longer runs.
bool is_abandoned(const Backend& b, const std::string& name);

// Kill every process in the group and wait until it is empty: cgroup.kill
// on v2, else freeze (so nothing forks while we kill), SIGKILL each, thaw.
void kill_members(Backend& b, const std::string& name);
// Wait (a few seconds at most) for the last member to go, then rmdir.
void remove_when_empty(Backend& b, const std::string& name);

} // namespace bk::cgctl
