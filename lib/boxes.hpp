// Named boxes: the records `nsjail-lite --name` keeps so that `ps`, `exec`,
// `stop`, `kill`, `logs` and other tools (netfwd) can find a running box by
// its name. One JSON file per box in bk::paths::boxes() (DESIGN.md, "Shared
// places"): NAME.json, and NAME.log for a detached box's output.
//
// A pid alone does not name a process for long: when the box ends, the kernel
// hands its number to someone else. So a record also holds the pid's start
// time (field 22 of /proc/PID/stat, in clock ticks since boot). A record
// whose pid is gone, or now belongs to a process that started at another
// time, is stale: it never blocks a new box of the same name.
//
// Records are created exclusively (link(2) of a complete temporary file onto
// the name fails with EEXIST if it is taken) under a lock on the directory,
// so two boxes can never share a name, and a reader never sees half a file.
//
// This header is read by other tools: changes are additive only.
#pragma once
#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "json.hpp"

namespace bk::boxes {

struct Box {
    std::string name;
    pid_t pid = 0;                      // the box's first process (pid 1 inside with --pid)
    unsigned long long start_time = 0;  // /proc/PID/stat field 22 of that pid
    pid_t supervisor_pid = 0;           // the nsjail-lite that waits for it (0: none)
    unsigned long long supervisor_start_time = 0;
    // Namespace kind ("pid", "net", "mnt", "uts", "ipc", "user", "cgroup")
    // -> the path to join it: "/proc/PID/ns/KIND". Only the kinds the box
    // has of its own; the others it shares with the host.
    std::map<std::string, std::string> namespaces;
    std::vector<std::string> command;
    std::string hostname;   // "" when it has none of its own
    std::string started;    // UTC, ISO 8601: "2026-11-28T16:20:27Z"
    long long started_unix = 0;
    std::string log_path;   // detached boxes: where their output goes; else ""
    std::string root = "/"; // the root and working directory the box started in
    std::string cwd;
    bool detached = false;
    // The PID namespace (its inode) the pids above belong to: the one the
    // recording nsjail-lite ran in. 0 in records older than this field.
    unsigned long long pid_ns = 0;

    // The path to join namespace KIND of this box ("/proc/PID/ns/net"), or
    // "" when the box shares that namespace with the host.
    std::string ns_path(const std::string& kind) const;
};

// Box names: 1-64 of [A-Za-z0-9_.-], not starting with '.' or '-'.
bool valid_name(const std::string& name);
// Throws bk::Error (exit 125) with a hint when the name is not valid.
void check_name(const std::string& name);

// Field 22 of /proc/PID/stat, or nothing when there is no such process.
std::optional<unsigned long long> process_start_time(pid_t pid);
// Parse field 22 out of the text of a /proc/PID/stat file (the comm field in
// parentheses may itself hold spaces and parentheses).
std::optional<unsigned long long> parse_start_time(const std::string& stat_line);

// Whether the record still describes a running box: its pid is there and
// started when the record says. A record written before the box's pid was
// known (pid 0) is alive while its supervisor is. A record made in another
// PID namespace names pids this process cannot check: it counts as alive,
// so it is never taken for stale, and find_running refuses it.
bool alive(const Box& box);

// The inode of this process's PID namespace; whether a record was made in another.
unsigned long long current_pid_ns();
bool foreign(const Box& box);

// Whether pid is that same process (start time) and has not ended (a zombie has).
bool running(pid_t pid, unsigned long long start_time);

json to_json(const Box& box);
// Throws bk::Error when the document is not a box record.
Box from_json(const json& doc);

// BOXES/NAME.json and BOXES/NAME.log.
std::string record_path(const std::string& name);
std::string log_path(const std::string& name);

// Record a new box. Throws bk::Error (EEXIST, with a hint) if a live box has
// the name; a stale record of that name is removed first.
void create(const Box& box);
// Replace the record of a box this process created (to add its pid).
void update(const Box& box);
// The record of NAME, live or stale; nothing when there is none.
std::optional<Box> read(const std::string& name);
// The record of a running box NAME, made in this PID namespace; throws
// bk::Error with a hint otherwise.
Box find_running(const std::string& name);
// Every record (stale ones included), sorted by name.
std::vector<Box> list();
// Remove the record (not the log). No error if it is already gone. With
// `only_pid`, only if the record is still that box's (a supervisor cleaning
// up must not remove a newer box's record of the same name).
void remove(const std::string& name, pid_t only_pid = 0);

// The current UTC time as ISO 8601, and as seconds since the epoch.
std::string now_iso8601();

} // namespace bk::boxes
