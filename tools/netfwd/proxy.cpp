#include "proxy.hpp"

#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "error.hpp"
#include "explain.hpp"
#include "net.hpp"

namespace bk::netfwd {

using Clock = std::chrono::steady_clock;

namespace {

// A host-side socket address, IPv4 or IPv6.
struct HostAddr {
    sockaddr_storage ss{};
    socklen_t len = 0;
    std::string shown;
};

HostAddr host_addr(const PortSpec& p) {
    HostAddr h;
    if (p.host_ip6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&h.ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(p.host_port);
        std::memcpy(&a->sin6_addr, p.host_ip6->data(), 16);
        h.len = sizeof *a;
        h.shown = "[" + p.host_str() + "]:" + std::to_string(p.host_port);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&h.ss);
        *a = sys::ipv4_sockaddr(p.host_ip, p.host_port);
        h.len = sizeof *a;
        h.shown = sys::sockaddr_string(*a);
    }
    return h;
}

bool loopback(const PortSpec& p) {
    static constexpr Ipv6 v6_loopback{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return p.host_ip6 ? *p.host_ip6 == v6_loopback : (p.host_ip >> 24) == 127;
}

} // namespace

std::vector<Listener> open_listeners(const std::vector<PortSpec>& ports) {
    std::vector<Listener> out;
    for (const auto& p : ports) {
        Listener l{p, {}};
        HostAddr addr = host_addr(p);
        int family = p.host_ip6 ? AF_INET6 : AF_INET;
        std::string where = addr.shown + "/" + proto_str(p.proto);
        if (p.proto == Proto::Tcp) {
            l.fd = sys::socket("make the host's listening socket for " + where + ", in the host's network namespace",
                               family, SOCK_STREAM | SOCK_NONBLOCK);
            sys::setsockopt_int("let a restarted netfwd take the port back at once", l.fd.get(), SOL_SOCKET,
                                SO_REUSEADDR, "SO_REUSEADDR", 1);
            sys::setsockopt_int("send each client's bytes at once (accepted sockets inherit it: no call per connection)",
                                l.fd.get(), IPPROTO_TCP, TCP_NODELAY, "TCP_NODELAY", 1);
            if (loopback(p)) {
                // Only this host's clients: their leg is loopback too, where pacing
                // (bbr) only slows the box -> client direction. Accepted sockets
                // inherit the listener's congestion control.
                static constexpr char reno[] = "reno";
                std::string call = "setsockopt(" + std::to_string(l.fd.get()) + ", IPPROTO_TCP, TCP_CONGESTION, \"reno\")";
                explain("send to this host's clients without pacing: the leg is loopback", call);
                if (::setsockopt(l.fd.get(), IPPROTO_TCP, TCP_CONGESTION, reno, sizeof reno - 1) < 0 && verbose())
                    detail("keeping the host's congestion control for " + where + ": " + errno_name(errno));
            }
        } else {
            l.fd = sys::socket("make the host's socket for " + where + ", in the host's network namespace", family,
                               SOCK_DGRAM | SOCK_NONBLOCK);
        }
        if (p.host_ip6)
            sys::setsockopt_int("listen on IPv6 only: [::] must not take the IPv4 port too (a 0.0.0.0 spec does that)",
                                l.fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", 1);
        try {
            // lib/net's bind() takes IPv4 only; the same narration, for either family.
            std::string call = "bind(" + std::to_string(l.fd.get()) + ", " + addr.shown + ")";
            explain("take the host port " + where, call);
            if (::bind(l.fd.get(), reinterpret_cast<const sockaddr*>(&addr.ss), addr.len) < 0)
                throw_errno("take the host port " + where, call);
        } catch (Error& e) {
            if (e.err() == EADDRINUSE)
                e.with_hint("something on the host already listens there (see 'ss -ltnup'); pick another HOST_PORT");
            else if (e.err() == EADDRNOTAVAIL)
                e.with_hint(p.host_str() + " is not an address of this host (see 'ip addr'); " +
                            (p.host_ip6 ? "::1 always is, unless IPv6 is off" : "127.0.0.1 always is"));
            throw;
        }
        if (p.proto == Proto::Tcp) sys::listen("accept connections for " + where, l.fd.get(), SOMAXCONN);
        out.push_back(std::move(l));
    }
    return out;
}

namespace {

enum class Kind : unsigned char { TcpListen, UdpListen, Client, Backend, Flow, Stop, Box, Quit };

// What an epoll event points at: the kind tells which object `obj` is.
struct Handle {
    Kind kind;
    void* obj;
};

// One way through a connection: from a socket, into a pipe, out to the other.
struct Direction {
    Fd pipe_r, pipe_w;
    std::size_t in_pipe = 0;   // bytes read but not yet written on
    std::size_t capacity = 0;  // the pipe's size: this direction's whole buffer
    bool eof = false;          // the sender's FIN came
    bool shut = false;         // and was passed on with shutdown(SHUT_WR)
    bool corked = false;       // the last splice out said SPLICE_F_MORE: flush before sleeping
    bool streaming = false;    // a read filled the small buffer: splice from now on
};

// Pipes left empty by finished connections, kept for the next ones: a short
// connection then costs no pipe2() and no close() for them. One pool for
// every relay loop, so a loop that runs out of fds can free them all.
class SparePipes {
public:
    bool take(Direction& d) {
        std::lock_guard lock(m_);
        if (pipes_.empty()) return false;
        d.pipe_r = std::move(pipes_.back().pipe_r);
        d.pipe_w = std::move(pipes_.back().pipe_w);
        d.capacity = pipes_.back().capacity;
        pipes_.pop_back();
        return true;
    }
    void give(Direction& d) {
        std::lock_guard lock(m_);
        if (pipes_.size() < k_max) pipes_.push_back(Direction{std::move(d.pipe_r), std::move(d.pipe_w), 0, d.capacity});
    }
    bool empty() {
        std::lock_guard lock(m_);
        return pipes_.empty();
    }
    // Close them all (outside the lock); true if there were any.
    bool clear() {
        std::vector<Direction> old;
        {
            std::lock_guard lock(m_);
            old.swap(pipes_);
        }
        return !old.empty();
    }

private:
    static constexpr std::size_t k_max = 64;
    std::mutex m_;
    std::vector<Direction> pipes_;
};

struct TcpPort;

struct Conn {
    Handle client_h{Kind::Client, this};
    Handle backend_h{Kind::Backend, this};
    Fd client, backend;
    Direction up;    // client -> box
    Direction down;  // box -> client
    bool client_out = false, backend_out = false;  // EPOLLOUT asked for (once a write to it would block)
    bool dead = false;
};

struct TcpPort {
    Listener* listener;
    Handle h{Kind::TcpListen, this};
    sockaddr_in backend;
};

struct UdpPort;

struct Flow {
    Handle h{Kind::Flow, this};
    Fd backend;
    sockaddr_storage client{};  // IPv4 or IPv6, as the host port is
    socklen_t client_len = 0;
    UdpPort* port = nullptr;
    Clock::time_point last;
    std::string key;
};

struct UdpPort {
    Listener* listener;
    Handle h{Kind::UdpListen, this};
    sockaddr_in backend;
    std::unordered_map<std::string, std::unique_ptr<Flow>> flows;
};

bool out_of_fds(int err) { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

class Loop {
public:
    // The first loop also relays UDP and hears the signals and the box's end;
    // every loop accepts TCP connections from the same listening sockets.
    Loop(std::vector<Listener>& listeners, const ProxyConfig& cfg, SparePipes& spare, int stop_fd, int pidfd, int quit_fd,
         bool first)
        : cfg_(cfg), spare_(spare), stop_h_{Kind::Stop, nullptr}, box_h_{Kind::Box, nullptr}, quit_h_{Kind::Quit, nullptr},
          stop_fd_(stop_fd), pidfd_(pidfd) {
        epoll_ = sys::epoll_create1("wait for every socket at once");
        for (auto& l : listeners) {
            sockaddr_in to = sys::ipv4_sockaddr(0x7f000001, l.spec.box_port);
            if (l.spec.proto == Proto::Tcp) {
                tcp_.push_back(std::make_unique<TcpPort>(TcpPort{&l, {}, to}));
                tcp_.back()->h = {Kind::TcpListen, tcp_.back().get()};
                add(l.fd.get(), k_listen_events, &tcp_.back()->h);
            } else if (first) {
                udp_.push_back(std::make_unique<UdpPort>());
                UdpPort& u = *udp_.back();
                u.listener = &l;
                u.h = {Kind::UdpListen, &u};
                u.backend = to;
                add(l.fd.get(), EPOLLIN, &u.h);
            }
        }
        if (stop_fd_ >= 0) add(stop_fd_, EPOLLIN, &stop_h_);
        if (pidfd_ >= 0) add(pidfd_, EPOLLIN, &box_h_);
        add(quit_fd, EPOLLIN, &quit_h_);
        if (first) explain("for each connection, in the box's namespace",
                "accept4() on the host; socket() + setsockopt(TCP_NODELAY, TCP_CONGESTION reno) + "
                "connect(127.0.0.1:BOX_PORT); then recv() + send() for a message under 4 KiB, "
                "splice(socket -> pipe -> socket) for a stream, with SPLICE_F_MORE while more is coming; "
                "shutdown(SHUT_WR) passes each FIN on");
    }

    std::string run() {
        epoll_event events[256];
        while (stop_reason_.empty()) {
            int n = ::epoll_wait(epoll_.get(), events, 256, timeout_ms());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_errno("wait for sockets", "epoll_wait()");
            }
            for (int i = 0; i < n; ++i) dispatch(*static_cast<Handle*>(events[i].data.ptr), events[i].events);
            reap();
            tick();
        }
        return stop_reason_;
    }

private:
    void add(int fd, unsigned events, Handle* h) {
        epoll_event ev{};
        ev.events = events;
        ev.data.ptr = h;
        if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) throw_errno("watch a socket", "epoll_ctl(EPOLL_CTL_ADD)");
    }

    int timeout_ms() const {
        long ms = -1;
        auto now = Clock::now();
        if (paused_) ms = std::max<long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(resume_at_ - now).count() + 1);
        if (flow_count_ > 0 || !spare_.empty()) ms = ms < 0 ? 1000 : std::min<long>(ms, 1000);
        return int(ms);
    }

    void dispatch(Handle& h, unsigned ev) {
        switch (h.kind) {
        case Kind::TcpListen: accept_all(*static_cast<TcpPort*>(h.obj)); break;
        case Kind::UdpListen: udp_from_clients(*static_cast<UdpPort*>(h.obj)); break;
        case Kind::Flow: udp_from_box(*static_cast<Flow*>(h.obj)); break;
        case Kind::Client:
        case Kind::Backend: on_conn(*static_cast<Conn*>(h.obj), h.kind == Kind::Backend, ev); break;
        case Kind::Stop: {
            signalfd_siginfo si{};
            if (::read(stop_fd_, &si, sizeof si) == ssize_t(sizeof si))
                stop_reason_ = std::string("got ") + (sigabbrev_np(int(si.ssi_signo)) ? "SIG" + std::string(sigabbrev_np(int(si.ssi_signo))) : "a signal");
            break;
        }
        case Kind::Box: stop_reason_ = "the box's pid 1 exited"; break;
        case Kind::Quit: stop_reason_ = "the first relay thread stopped"; break;
        }
    }

    // ---- TCP ---------------------------------------------------------------

    void pause_accepting(int err) {
        if (!paused_) {
            if (!warned_fds_) warn(std::string("out of file descriptors (") + errno_name(err) + "): not accepting for " +
                                   std::to_string(cfg_.emfile_backoff.count()) + " ms at a time until some close");
            warned_fds_ = true;
            for (auto& t : tcp_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, t->listener->fd.get(), nullptr);
        }
        paused_ = true;
        resume_at_ = Clock::now() + cfg_.emfile_backoff;
    }

    void accept_all(TcpPort& port) {
        for (int i = 0; i < 64 && !paused_; ++i) {
            int fd = ::accept4(port.listener->fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                int err = errno;
                if (out_of_fds(err)) {
                    if (spare_.clear()) continue;  // the spare pipes' fds were the last ones
                    pause_accepting(err);
                    return;
                }
                // EAGAIN: no more waiting; ECONNABORTED etc.: that one client's problem.
                if (err == EAGAIN || err == EINTR) return;
                continue;
            }
            start_conn(port, Fd(fd));
        }
    }

    static void nodelay(int fd) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }

    // The backend leg is always the box's own loopback: no queue to protect,
    // no loss to react to. A pacing congestion control (bbr, where it is the
    // default) arms a timer for nearly every segment and measured half as
    // fast on loopback as reno, which sends at once; so this leg uses reno
    // (always built in). The client's leg keeps the host's choice.
    static void no_pacing(int fd) {
        static constexpr char reno[] = "reno";
        ::setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, reno, sizeof reno - 1);
    }

    // Tell the peer the connection broke (RST), rather than that it ended (FIN).
    static void abort_socket(const Fd& fd) {
        if (!fd) return;
        linger lg{1, 0};
        ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }

    void start_conn(TcpPort& port, Fd client) {
        // This thread lives in the box's network namespace: the socket is the box's.
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0 && out_of_fds(errno) && spare_.clear()) fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            int err = errno;
            abort_socket(client);
            if (out_of_fds(err)) pause_accepting(err);
            return;
        }
        auto c = std::make_unique<Conn>();
        c->client = std::move(client);  // TCP_NODELAY already, from the listener
        c->backend = Fd(fd);
        nodelay(fd);
        no_pacing(fd);
        int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&port.backend), sizeof port.backend);
        if (rc < 0 && errno != EINPROGRESS) {
            // Refused at once: nothing listens in the box. This client alone is told.
            if (verbose()) detail("the box refused a connection to " + sys::sockaddr_string(port.backend) + ": " + errno_name(errno));
            abort_socket(c->client);
            return;
        }
        // No pipes yet: a direction gets one only when it streams (see pump).
        Conn* raw = c.get();
        conns_.emplace(raw, std::move(c));
        add(raw->client.get(), k_conn_events, &raw->client_h);
        add(raw->backend.get(), k_conn_events, &raw->backend_h);
        // No wait for the handshake: on the box's loopback it has usually
        // finished when connect() returns. If not, the send to the box says
        // EAGAIN and the backend's EPOLLOUT edge comes once it is connected;
        // a refusal comes back as that send's error (ECONNREFUSED).
        pump_both(*raw);
    }

    // A pipe for a direction that needs one; out of fds, accepting pauses.
    bool make_pipe(Direction& d) {
        if (spare_.take(d)) return true;
        int p[2];
        if (::pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) {
            int err = errno;
            if (out_of_fds(err)) pause_accepting(err);
            errno = err;
            return false;
        }
        d.pipe_r = Fd(p[0]);
        d.pipe_w = Fd(p[1]);
        int size = ::fcntl(p[1], F_GETPIPE_SZ);
        d.capacity = size > 0 ? std::size_t(size) : 65536;
        return true;
    }

    void on_conn(Conn& c, bool backend_side, unsigned ev) {
        if (c.dead) return;
        if (ev & EPOLLERR) {
            // A reset or a refusal: pass on what can still go, then pass the reset on.
            pump_both(c);
            if (!c.dead) kill(c, true);
            return;
        }
        // Only the directions this event concerns: readable (or the peer's
        // FIN) moves bytes away from this side, writable moves bytes to it.
        // A writable edge with nothing waiting for this side means nothing:
        // a direction's pump ends with its pipe empty only once its reader
        // said EAGAIN, and new bytes bring their own readable edge.
        const Direction& to_here = backend_side ? c.up : c.down;
        bool ok = true;
        if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) ok = pump(c, !backend_side);
        if (ok && ((ev & EPOLLHUP) || ((ev & EPOLLOUT) && to_here.in_pipe > 0))) ok = pump(c, backend_side);
        finish(c, ok);
    }

    void pump_both(Conn& c) {
        finish(c, pump(c, true) && pump(c, false));
    }

    void finish(Conn& c, bool ok) {
        if (!ok) kill(c, true);
        else if (c.up.shut && c.down.shut) kill(c, false);
    }

    // A read (recv or splice) that brought no bytes: the sender's FIN, which
    // is progress, or nothing yet (true); or a broken connection (false).
    static bool no_data(ssize_t n, Direction& d, bool& progress, bool& more) {
        more = false;
        if (n == 0) {
            d.eof = true;
            progress = true;
            return true;
        }
        return errno == EAGAIN || errno == EINTR;
    }

    // Move what can move without blocking. False when the connection broke.
    // Each call either makes progress or stops at EAGAIN, and every EAGAIN
    // leaves an edge-triggered event armed (a blocked write asks for EPOLLOUT
    // first: want_writable), so nothing is ever stranded. A
    // read that fills the pipe means more is probably waiting: the splice out
    // then says SPLICE_F_MORE (MSG_MORE), so TCP sends full segments instead
    // of a 64 KiB chunk as a full segment plus a runt; a setsockopt
    // (TCP_NODELAY) flushes the runt when the reads stop.
    bool pump(Conn& c, bool up) {
        constexpr unsigned flags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
        Direction& d = up ? c.up : c.down;
        const Direction& other = up ? c.down : c.up;
        int from = up ? c.client.get() : c.backend.get();
        int to = up ? c.backend.get() : c.client.get();
        bool more = false, blocked = false;
        for (;;) {
            bool progress = false;
            if (!d.eof && d.in_pipe == 0 && !d.streaming) {
                // Small messages are copied: recv() + send() through a stack
                // buffer cost less than two splices and need no pipe. A read
                // that fills the buffer means a stream: it gets a pipe.
                ssize_t n = ::recv(from, small_, sizeof small_, 0);
                if (n > 0) {
                    progress = true;
                    more = std::size_t(n) == sizeof small_;
                    if (more && (d.pipe_r || make_pipe(d))) d.streaming = true;
                    ssize_t sent = ::send(to, small_, std::size_t(n), MSG_NOSIGNAL | (more ? MSG_MORE : 0));
                    if (sent < 0 && errno != EAGAIN && errno != EINTR) return false;
                    std::size_t left = std::size_t(n) - std::size_t(std::max<ssize_t>(sent, 0));
                    if (sent > 0) d.corked = more;
                    if (left > 0) {
                        // The rest waits in the pipe. Its write cannot be short:
                        // at most PIPE_BUF bytes into an empty pipe.
                        if (!d.pipe_r && !make_pipe(d)) return false;
                        if (::write(d.pipe_w.get(), small_ + (std::size_t(n) - left), left) != ssize_t(left)) return false;
                        d.in_pipe = left;
                        blocked = true;
                        break;  // the writable edge brings us back
                    }
                } else if (!no_data(n, d, progress, more)) {
                    return false;
                }
            } else if (!d.eof && d.in_pipe < d.capacity) {
                std::size_t want = d.capacity - d.in_pipe;
                ssize_t n = ::splice(from, nullptr, d.pipe_w.get(), nullptr, want, flags);
                if (n > 0) {
                    d.in_pipe += std::size_t(n);
                    progress = true;
                    more = std::size_t(n) == want;
                    // A busy stream gets the bigger buffer; a short request never pays for it.
                    if (d.in_pipe * 2 >= d.capacity && d.capacity < cfg_.pipe_size) {
                        int size = ::fcntl(d.pipe_w.get(), F_SETPIPE_SZ, int(cfg_.pipe_size));
                        if (size > 0) d.capacity = std::size_t(size);
                    }
                } else if (!no_data(n, d, progress, more)) {
                    return false;
                }
            }
            if (d.in_pipe > 0) {
                ssize_t n = ::splice(d.pipe_r.get(), nullptr, to, nullptr, d.in_pipe, flags | (more ? SPLICE_F_MORE : 0));
                if (n > 0) {
                    d.in_pipe -= std::size_t(n);
                    progress = true;
                    d.corked = more;
                } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                    return false;
                } else if (n < 0 && errno == EAGAIN) {
                    blocked = true;
                }
            }
            if (d.eof && d.in_pipe == 0 && !d.shut) {
                // Half-close: this side is done sending; the other may go on.
                // (If the other is done too, close() sends the FIN instead.)
                if (!other.shut) ::shutdown(to, SHUT_WR);
                d.shut = true;
                d.corked = false;  // the FIN pushed everything out
            }
            if (!progress) break;
        }
        if (d.corked) {
            nodelay(to);  // setting TCP_NODELAY pushes what MSG_MORE held back
            d.corked = false;
        }
        if (blocked && d.in_pipe > 0) want_writable(c, up);
        return true;
    }

    // A socket is watched for writability only once a write to it has
    // blocked: a short connection, whose few bytes always fit, then gets no
    // wake-up for the writable edges every socket has when it is added, when
    // the box's side connects, and when its sent bytes are acknowledged. Once
    // asked for, it stays (edge-triggered: one wake-up per edge).
    void want_writable(Conn& c, bool backend_side) {
        bool& armed = backend_side ? c.backend_out : c.client_out;
        if (armed) return;
        armed = true;
        epoll_event ev{};
        ev.events = k_conn_events | EPOLLOUT;
        ev.data.ptr = backend_side ? &c.backend_h : &c.client_h;
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, (backend_side ? c.backend : c.client).get(), &ev);
    }

    void kill(Conn& c, bool reset) {
        if (c.dead) return;
        c.dead = true;
        if (reset) {
            abort_socket(c.client);
            abort_socket(c.backend);
        }
        // Closing removes the fds from epoll; the object goes after this batch
        // of events, which may still point at it.
        c.client.reset();
        c.backend.reset();
        for (Direction* d : {&c.up, &c.down}) {
            if (d->pipe_r && d->in_pipe == 0) spare_.give(*d);
            *d = {};
        }
        dead_.push_back(&c);
    }

    void reap() {
        for (Conn* c : dead_) conns_.erase(c);
        dead_.clear();
        dead_flows_.clear();
    }

    void tick() {
        auto now = Clock::now();
        if (paused_ && now >= resume_at_) {
            paused_ = false;
            for (auto& t : tcp_) add(t->listener->fd.get(), k_listen_events, &t->h);
        }
        // Spare pipes are for bursts of connections; an idle netfwd holds none.
        if (!conns_.empty()) last_busy_ = now;
        else if (now - last_busy_ > std::chrono::seconds(1) && !spare_.empty()) spare_.clear();
        if (flow_count_ > 0 && now >= next_sweep_) {
            next_sweep_ = now + std::chrono::seconds(1);
            for (auto& u : udp_) {
                std::vector<Flow*> idle;
                for (auto& [key, f] : u->flows)
                    if (now - f->last > cfg_.udp_timeout) idle.push_back(f.get());
                for (Flow* f : idle) drop_flow(*f);
            }
            reap();
        }
    }

    // ---- UDP ---------------------------------------------------------------

    // A client is its address and port: the bytes that name them.
    static std::string flow_key(const sockaddr_storage& a, socklen_t len) {
        if (a.ss_family == AF_INET6) {
            auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
            return std::string(reinterpret_cast<const char*>(&v6.sin6_addr), 16) +
                   std::string(reinterpret_cast<const char*>(&v6.sin6_port), 2);
        }
        if (a.ss_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
            auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
            return std::string(reinterpret_cast<const char*>(&v4.sin_addr), 4) +
                   std::string(reinterpret_cast<const char*>(&v4.sin_port), 2);
        }
        return std::string(reinterpret_cast<const char*>(&a), std::size_t(len));
    }

    // The flow leaves its port's table now; the object lives until the end
    // of this batch of events, which may still point at it.
    void drop_flow(Flow& f) {
        f.backend.reset();
        --flow_count_;
        auto it = f.port->flows.find(f.key);
        dead_flows_.push_back(std::move(it->second));
        f.port->flows.erase(it);
    }

    Flow* flow_for(UdpPort& u, const sockaddr_storage& client, socklen_t client_len) {
        auto key = flow_key(client, client_len);
        if (auto it = u.flows.find(key); it != u.flows.end()) return it->second.get();
        if (u.flows.size() >= cfg_.udp_max_flows) {
            Flow* oldest = nullptr;
            for (auto& [k, f] : u.flows)
                if (!oldest || f->last < oldest->last) oldest = f.get();
            if (oldest) drop_flow(*oldest);
        }
        int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return nullptr;
        auto f = std::make_unique<Flow>();
        f->backend = Fd(fd);
        f->client = client;
        f->client_len = client_len;
        f->port = &u;
        f->key = key;
        f->last = Clock::now();
        // connect() fixes the peer: only the box's service can answer on this flow.
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&u.backend), sizeof u.backend) < 0) return nullptr;
        f->port = &u;
        Flow* raw = f.get();
        add(fd, EPOLLIN, &raw->h);
        u.flows[key] = std::move(f);
        ++flow_count_;
        if (flow_count_ == 1) next_sweep_ = Clock::now() + std::chrono::seconds(1);
        return raw;
    }

    void udp_from_clients(UdpPort& u) {
        for (int i = 0; i < 64; ++i) {
            sockaddr_storage client{};
            socklen_t len = sizeof client;
            ssize_t n = ::recvfrom(u.listener->fd.get(), buf_, sizeof buf_, 0, reinterpret_cast<sockaddr*>(&client), &len);
            if (n < 0) return;  // EAGAIN, or an ICMP error for an old reply: nothing to do
            Flow* f = flow_for(u, client, len);
            if (!f) continue;
            f->last = Clock::now();
            ::send(f->backend.get(), buf_, size_t(n), 0);  // a lost datagram is UDP's normal
        }
    }

    void udp_from_box(Flow& f) {
        if (!f.backend) return;
        for (int i = 0; i < 64; ++i) {
            ssize_t n = ::recv(f.backend.get(), buf_, sizeof buf_, 0);
            if (n < 0) {
                if (errno == EAGAIN) return;
                continue;  // ECONNREFUSED: nothing listened when we last sent
            }
            f.last = Clock::now();
            ::sendto(f.port->listener->fd.get(), buf_, size_t(n), 0, reinterpret_cast<const sockaddr*>(&f.client),
                     f.client_len);
        }
    }

    // EPOLLEXCLUSIVE: a new connection wakes one loop, not all of them.
    static constexpr unsigned k_listen_events = EPOLLIN | EPOLLEXCLUSIVE;
    // A connection's sockets: readable and the peer's FIN, edge-triggered;
    // EPOLLOUT is added only when needed (want_writable).
    static constexpr unsigned k_conn_events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    const ProxyConfig& cfg_;
    SparePipes& spare_;
    Fd epoll_;
    Handle stop_h_, box_h_, quit_h_;
    int stop_fd_, pidfd_;
    std::vector<std::unique_ptr<TcpPort>> tcp_;
    std::vector<std::unique_ptr<UdpPort>> udp_;
    std::unordered_map<Conn*, std::unique_ptr<Conn>> conns_;
    std::vector<Conn*> dead_;
    std::vector<std::unique_ptr<Flow>> dead_flows_;
    std::size_t flow_count_ = 0;
    bool paused_ = false, warned_fds_ = false;
    Clock::time_point resume_at_, next_sweep_, last_busy_;
    std::string stop_reason_;
    char buf_[65536];
    char small_[PIPE_BUF];  // one small message in flight (PIPE_BUF: a pipe always takes it whole)
};

} // namespace

std::string run_proxy(std::vector<Listener>& listeners, const ProxyConfig& cfg, int stop_fd, int pidfd,
                      const std::function<void()>& ready) {
    // Readable once written: tells every other loop to stop.
    Fd quit(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!quit) throw_errno("make the stop flag for the relay threads", "eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)");
    SparePipes spare;
    auto first = std::make_unique<Loop>(listeners, cfg, spare, stop_fd, pidfd, quit.get(), true);
    unsigned threads = std::max(1U, cfg.threads);
    std::vector<std::unique_ptr<Loop>> others;
    for (unsigned i = 1; i < threads; ++i)
        others.push_back(std::make_unique<Loop>(listeners, cfg, spare, -1, -1, quit.get(), false));
    if (threads > 1)
        explain("relay on every CPU: threads made now start in the box's namespace, as this one is now",
                "clone(CLONE_THREAD|...) x " + std::to_string(threads - 1));
    std::vector<std::thread> workers;
    for (auto& loop : others)
        workers.emplace_back([l = loop.get()] {
            try {
                l->run();
            } catch (const std::exception& e) {
                warn(std::string("a relay thread stopped: ") + e.what());
            }
        });
    auto stop_all = [&] {
        std::uint64_t one = 1;
        if (::write(quit.get(), &one, sizeof one) < 0) {}
        for (auto& t : workers) t.join();
    };
    std::string why;
    try {
        ready();
        why = first->run();
    } catch (...) {
        stop_all();
        throw;
    }
    stop_all();
    return why;
}

} // namespace bk::netfwd
