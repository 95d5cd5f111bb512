// cgctl freeze NAME / cgctl thaw NAME: docker pause and unpause. The
// freezer stops every process in the group where it stands, without a
// signal the processes could see or catch (SIGSTOP can be seen by a parent;
// a frozen task does not even know). Freezing takes a moment: v2 says when
// it is done in cgroup.events ("frozen 1"), v1 moves freezer.state from
// FREEZING to FROZEN; cgctl waits for that, up to 5 seconds.
// See Documentation/admin-guide/cgroup-v2.rst ("cgroup.freeze") and
// cgroup-v1/freezer-subsystem.rst.
#include <chrono>
#include <thread>

#include "backend.hpp"
#include "cgctl.hpp"
#include "error.hpp"

namespace bk::cgctl {

namespace {

int set_state(const Options& o, bool frozen) {
    check_name(o.name);
    auto b = open_backend();
    if (!b->exists(o.name))
        throw Error((frozen ? "freeze " : "thaw ") + o.name, "", ENOENT, "see 'cgctl ls' for the groups under " + b->parent_path());
    b->set_frozen(o.name, frozen);
    using namespace std::chrono_literals;
    for (int i = 0; i < 500; ++i) {
        if (b->frozen(o.name) == frozen) return 0;
        std::this_thread::sleep_for(10ms);
    }
    throw Error((frozen ? "freeze " : "thaw ") + o.name, "", ETIMEDOUT,
                "a process in it is stuck in the kernel; see 'cgctl stats " + o.name + "'");
}

} // namespace

int freeze(const Options& o) { return set_state(o, true); }
int thaw(const Options& o) { return set_state(o, false); }

} // namespace bk::cgctl
