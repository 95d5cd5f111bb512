// The small languages chrootify's options speak, parsed and checked before
// anything touches the kernel: SRC:DST[:ro] for --bind, USER[:GROUP] for --user,
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

// --user: numbers, or names to look up in the box's /etc/passwd and
// /etc/group once chrootify is inside the new root (lookup_user).
struct UserSpec {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user_name;   // instead of uid, when not a number
    std::string group_name;  // instead of gid, when not a number
    bool group_given = false;
};

// One line of /etc/passwd or /etc/group, split on ':'; name and id are the
// first and third fields, and passwd's fourth is the user's primary group.
struct IdEntry {
    std::string name;
    unsigned id = 0;
    unsigned gid = 0;  // passwd only
};
std::vector<IdEntry> parse_id_file(const std::string& text);

// Fill in uid and gid from the box's files' entries: a user's own group
// unless a group was given (a bare number's group is the same number).
// Throws bk::Error (exit 125) naming the name it could not find.
void resolve_user(UserSpec& u, const std::vector<IdEntry>& passwd, const std::vector<IdEntry>& group);

// Each throws bk::Error (exit 125) naming the accepted form.
BindSpec parse_bind(const std::string& spec);
UserSpec parse_user(const std::string& spec);
void check_env(const std::string& kv);
std::vector<std::string> split_lowers(const std::string& lowers);

// "lowerdir=A:B,upperdir=U,workdir=W" (A is the top layer, as overlayfs wants).
std::string overlay_options(const std::vector<std::string>& lowers, const std::string& upper, const std::string& work);

} // namespace bk::chrootify
