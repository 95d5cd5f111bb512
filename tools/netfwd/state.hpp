// What netfwd has set up, so `netfwd ls` can show it and `netfwd unlink` can
// find it: one small JSON file per running publish and per link, next to
// nsjail-lite's box records (DESIGN.md, "Shared places"). A record whose
// process or interface is gone is stale, and ls removes it.
#pragma once
#include <string>
#include <vector>

#include "json.hpp"

namespace bk::netfwd {

// <boxes dir>/../netfwd: /run/boxkit/netfwd as root.
std::string state_dir();

// Write NAME.json whole (a temporary file renamed into place).
void write_record(const std::string& name, const json& doc);
void remove_record(const std::string& name);
// Every record, with "file" set to its name.
std::vector<json> read_records();
bool read_record(const std::string& name, json& doc);

// Removes its record when it goes, unless released.
class RecordOwner {
public:
    RecordOwner() = default;
    explicit RecordOwner(std::string name) : name_(std::move(name)) {}
    RecordOwner(RecordOwner&& o) noexcept : name_(std::exchange(o.name_, {})) {}
    RecordOwner& operator=(RecordOwner&& o) noexcept {
        if (this != &o) { reset(); name_ = std::exchange(o.name_, {}); }
        return *this;
    }
    ~RecordOwner() { reset(); }
    void release() { name_.clear(); }

private:
    void reset() {
        if (!name_.empty()) remove_record(name_);
        name_.clear();
    }
    std::string name_;
};

} // namespace bk::netfwd
