// A terminal of the box's own (what `docker run -t` gives). Run from a
// terminal, a box gets a new pseudo-terminal: its first process starts a
// session of its own (setsid) with the pty's far end as its controlling
// terminal, so ^C, ^Z and job control act on the box's processes only, and
// the box can never read or steal the caller's terminal. nsjail-lite, the
// supervisor outside, puts the caller's terminal in raw mode and copies
// bytes both ways until the box ends, passing on window-size changes.
// Without a terminal, stdin, stdout and stderr pass straight through.
// See pty(7), setsid(2), ioctl_tty(2) TIOCSCTTY and TIOCSWINSZ, termios(3).
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "error.hpp"
#include "explain.hpp"
#include "ns.hpp"
#include "nsjail_lite.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

namespace {

// Write all of buf, waiting when the other side is slow.
bool write_all(int fd, const char* buf, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p {fd, POLLOUT, 0};
            ::poll(&p, 1, -1);
            continue;
        }
        if (w <= 0) return false;
        buf += w;
        n -= size_t(w);
    }
    return true;
}

void copy_window_size(int from, int to) {
    struct winsize ws {};
    if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

} // namespace

bool foreground_terminal() {
    // Only when we are the terminal's foreground job: a background job that
    // changed the terminal's mode would be stopped by SIGTTOU.
    return ::isatty(0) && ::tcgetpgrp(0) == ::getpgrp();
}

bool wants_terminal(const Options& o) { return !o.no_tty && !o.detach && o.needs_child() && foreground_terminal(); }

Terminal open_terminal() {
    Terminal t;
    const char* why = "give the box a terminal of its own";
    explain(why, "posix_openpt(O_RDWR|O_NOCTTY|O_CLOEXEC)");
    t.master = Fd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!t.master) throw_errno(why, "posix_openpt()");
    if (::grantpt(t.master.get()) < 0 || ::unlockpt(t.master.get()) < 0) throw_errno(why, "unlockpt()");
    char name[64];
    if (::ptsname_r(t.master.get(), name, sizeof name) != 0) throw_errno(why, "ptsname_r()");
    t.slave = sys::open("open the box's end of its terminal", name, O_RDWR | O_NOCTTY);
    // The box's terminal starts as the caller's is: same modes, same size.
    struct termios tio {};
    if (::tcgetattr(0, &tio) == 0) ::tcsetattr(t.slave.get(), TCSANOW, &tio);
    copy_window_size(0, t.master.get());
    return t;
}

void take_terminal(int slave) {
    if (::setsid() < 0) throw_errno("start a session of the box's own", "setsid()");
    std::string call = "ioctl(" + std::to_string(slave) + ", TIOCSCTTY, 0)";
    explain("make the new terminal the box's controlling terminal", call);
    if (::ioctl(slave, TIOCSCTTY, 0) < 0) throw_errno("make the new terminal the box's controlling terminal", call);
}

namespace {

void raw_mode(Terminal& t) {
    if (::tcgetattr(0, &t.saved) < 0) return;
    struct termios raw = t.saved;
    ::cfmakeraw(&raw);
    // Output processing stays on: what nsjail-lite itself still prints
    // (--explain) keeps its line starts; the box's pty adds its own \r.
    raw.c_oflag = t.saved.c_oflag;
    if (::tcsetattr(0, TCSADRAIN, &raw) == 0) t.raw = true;
}

void restore_mode(Terminal& t) {
    if (t.raw) ::tcsetattr(0, TCSADRAIN, &t.saved);
    t.raw = false;
}

void copy_until_exit(Terminal& t, pid_t pid) {
    Fd exited = sys::pidfd_for("know when the box ends, while copying its terminal", pid);
    int in = 0, master = t.master.get();
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    char buf[16384];
    for (;;) {
        struct pollfd p[3] = {{exited.get(), POLLIN, 0}, {master, POLLIN, 0}, {in, POLLIN, 0}};
        int n = ::poll(p, in >= 0 ? 3 : 2, -1);
        if (n < 0) {
            if (errno == EINTR) {  // SIGWINCH among others: pass the new size on
                copy_window_size(0, master);
                continue;
            }
            throw_errno("copy the box's terminal", "poll()");
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            ssize_t r = ::read(master, buf, sizeof buf);
            if (r > 0 && !write_all(1, buf, size_t(r))) return;
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) break;  // EIO: no process holds the box's end
        }
        if (in >= 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = ::read(in, buf, sizeof buf);
            if (r > 0) write_all(master, buf, size_t(r));
            else if (r == 0 || errno != EINTR) in = -1;  // our stdin is gone; the box's stays open
        }
        if (p[0].revents & POLLIN) break;
    }
    // The box has ended: what it wrote last is still in the pty.
    for (;;) {
        ssize_t r = ::read(master, buf, sizeof buf);
        if (r <= 0 || !write_all(1, buf, size_t(r))) break;
    }
}

} // namespace

void relay(Terminal& t, pid_t pid) {
    raw_mode(t);
    try {
        copy_until_exit(t, pid);
    } catch (...) {
        restore_mode(t);
        throw;
    }
    restore_mode(t);
}

} // namespace bk::nsjail_lite
