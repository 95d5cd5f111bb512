// Progress, four ways, all on stderr except --json (stdout stays for data):
//
//   a terminal     a bar per layer, redrawn in place, like `docker pull`
//   not a terminal one plain line per event ("a1b2c3d4e5f6: Pull complete")
//   --quiet        nothing
//   --json         one JSON object per line on stdout, for scripts
//
// Every method may be called from any download thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "json.hpp"

namespace bk::regpull {

enum class ProgressMode { Bars, Lines, Quiet, Json };

// Bars on a terminal, lines otherwise, unless --quiet or --json decide.
ProgressMode choose_mode(bool quiet, bool json, int fd = 2);

// "12.3MB", "512kB", "17B": sizes the way docker prints them (SI units).
std::string human_size(uint64_t bytes);

class Progress {
public:
    explicit Progress(ProgressMode mode) : mode_(mode) {}
    ~Progress();

    // A line about the whole pull ("Pulling from demo/x", "Digest: ...").
    void note(const std::string& text, const json& event = nullptr);
    // Register a blob before any transfer, so bars keep their order.
    void add(const std::string& digest, uint64_t size);
    void exists(const std::string& digest);         // already in the store / registry
    void bytes(const std::string& digest, uint64_t total_so_far);
    void status(const std::string& digest, const std::string& text);  // "Verifying", "Retrying"
    void done(const std::string& digest, const std::string& text);    // "Pull complete", "Pushed"
    void finish();  // the last redraw

private:
    struct Row {
        std::string digest;
        uint64_t size = 0, have = 0;
        std::string status;
        bool finished = false;
    };
    Row& row(const std::string& digest);
    void draw(bool force);
    void line(const Row& r, const std::string& text);
    void emit(const json& event);

    ProgressMode mode_;
    std::mutex m_;
    std::vector<Row> rows_;
    bool closed_ = false;  // finish() ran: no more redraws
    size_t drawn_ = 0;  // lines on screen that belong to the bars
    std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace bk::regpull
