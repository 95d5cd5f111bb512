#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

#include "manifest.hpp"

namespace bk::regpull {

ProgressMode choose_mode(bool quiet, bool json, int fd) {
    if (json) return ProgressMode::Json;
    if (quiet) return ProgressMode::Quiet;
    return ::isatty(fd) ? ProgressMode::Bars : ProgressMode::Lines;
}

std::string human_size(uint64_t b) {
    char buf[32];
    if (b < 1000) std::snprintf(buf, sizeof buf, "%lluB", (unsigned long long)b);
    else if (b < 1000 * 1000) std::snprintf(buf, sizeof buf, "%.1fkB", double(b) / 1e3);
    else if (b < 1000ull * 1000 * 1000) std::snprintf(buf, sizeof buf, "%.1fMB", double(b) / 1e6);
    else std::snprintf(buf, sizeof buf, "%.2fGB", double(b) / 1e9);
    return buf;
}

Progress::~Progress() { finish(); }

Progress::Row& Progress::row(const std::string& digest) {
    for (auto& r : rows_)
        if (r.digest == digest) return r;
    rows_.push_back(Row{digest});
    return rows_.back();
}

void Progress::emit(const json& event) {
    std::fputs((event.dump() + "\n").c_str(), stdout);
    std::fflush(stdout);
}

void Progress::line(const Row& r, const std::string& text) {
    std::fprintf(stderr, "%s: %s\n", short_id(r.digest).c_str(), text.c_str());
}

void Progress::note(const std::string& text, const json& event) {
    std::lock_guard lock(m_);
    if (mode_ == ProgressMode::Json) {
        if (!event.is_null()) emit(event);
        return;
    }
    if (mode_ == ProgressMode::Quiet) return;
    if (mode_ == ProgressMode::Bars && drawn_) {
        // Print above the bars: move up, write, redraw below.
        std::fprintf(stderr, "\x1b[%zuA\x1b[J", drawn_);
        drawn_ = 0;
        std::fprintf(stderr, "%s\n", text.c_str());
        draw(true);
        return;
    }
    std::fprintf(stderr, "%s\n", text.c_str());
}

void Progress::add(const std::string& digest, uint64_t size) {
    std::lock_guard lock(m_);
    Row& r = row(digest);
    r.size = size;
    r.status = "Waiting";
    if (mode_ == ProgressMode::Json) emit({{"event", "blob"}, {"digest", digest}, {"size", size}});
    else if (mode_ == ProgressMode::Bars) draw(true);
}

void Progress::exists(const std::string& digest) {
    std::lock_guard lock(m_);
    Row& r = row(digest);
    r.status = "Already exists";
    r.finished = true;
    if (mode_ == ProgressMode::Json) emit({{"event", "exists"}, {"digest", digest}});
    else if (mode_ == ProgressMode::Lines) line(r, "Already exists");
    else if (mode_ == ProgressMode::Bars) draw(true);
}

void Progress::bytes(const std::string& digest, uint64_t have) {
    std::lock_guard lock(m_);
    Row& r = row(digest);
    r.have = have;
    r.status = "Downloading";
    if (mode_ == ProgressMode::Bars) draw(false);
    // Lines and JSON: only the start and the end of a blob (no flood).
}

void Progress::status(const std::string& digest, const std::string& text) {
    std::lock_guard lock(m_);
    Row& r = row(digest);
    r.status = text;
    if (mode_ == ProgressMode::Json) emit({{"event", "status"}, {"digest", digest}, {"status", text}});
    else if (mode_ == ProgressMode::Lines) line(r, text);
    else if (mode_ == ProgressMode::Bars) draw(true);
}

void Progress::done(const std::string& digest, const std::string& text) {
    std::lock_guard lock(m_);
    Row& r = row(digest);
    r.status = text;
    r.have = r.size;
    r.finished = true;
    if (mode_ == ProgressMode::Json)
        emit({{"event", "done"}, {"digest", digest}, {"status", text}, {"size", r.size}});
    else if (mode_ == ProgressMode::Lines) line(r, text);
    else if (mode_ == ProgressMode::Bars) draw(true);
}

void Progress::finish() {
    std::lock_guard lock(m_);
    if (mode_ == ProgressMode::Bars && drawn_) draw(true);
    // The bars stay where they are; what follows prints below them.
    drawn_ = 0;
    closed_ = true;
}

void Progress::draw(bool force) {
    if (closed_) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::string out;
    if (drawn_) out += "\x1b[" + std::to_string(drawn_) + "A";
    for (const Row& r : rows_) {
        out += "\x1b[2K" + short_id(r.digest) + ": " + r.status;
        if (!r.finished && r.status == "Downloading" && r.size) {
            const int width = 40;
            int fill = int(double(r.have) / double(r.size) * width);
            if (fill > width) fill = width;
            out += " [" + std::string(size_t(fill), '=') + (fill < width ? ">" : "") +
                   std::string(size_t(width - fill - (fill < width ? 1 : 0)), ' ') + "] " + human_size(r.have) + "/" +
                   human_size(r.size);
        }
        out += "\n";
    }
    drawn_ = rows_.size();
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
}

} // namespace bk::regpull
