// The small languages chrootify's options speak, parsed and checked before
// anything touches the kernel: SRC:DST[:ro] for --bind, UID[:GID] for --user,
// K=V for --env, and the overlay mount's option string.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace bk::chrootify {

struct BindSpec {
    std::string source;  // on the host
    std::string target;  // inside the new root
    bool read_only = false;
};

struct UserSpec {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Each throws bk::Error (exit 125) naming the accepted form.
BindSpec parse_bind(const std::string& spec);
UserSpec parse_user(const std::string& spec);
void check_env(const std::string& kv);
std::vector<std::string> split_lowers(const std::string& lowers);

// "lowerdir=A:B,upperdir=U,workdir=W" (A is the top layer, as overlayfs wants).
std::string overlay_options(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work);

} // namespace bk::chrootify
