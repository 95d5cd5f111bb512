// Proxy mode: a userspace forwarder, what docker-proxy and rootlesskit do.
// The listening sockets are made first, in the host's network namespace;
// then this thread moves into the box's namespace, so every backend socket it
// makes from then on is the box's. A socket belongs for life to the namespace
// it was created in, so one process holds both ends. The box needs no veth,
// no address and no firewall rule: its loopback is enough.
//
// The relay is one epoll loop. A short message (under 4 KiB: a request, a
// reply) is copied with recv() + send() through a small buffer; a stream
// moves socket -> pipe -> socket with splice(2), so its bytes stay in the
// kernel. The pipe, made only when a direction needs one, is that
// direction's whole buffer, which bounds the memory a connection can hold. Each side's FIN is
// passed on alone (shutdown(SHUT_WR)), so half-closed protocols work. UDP has
// no connections: each client address gets a flow (its own backend socket)
// that ends after an idle timeout. See splice(2), epoll(7), tcp(7), udp(7).
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "fd.hpp"
#include "spec.hpp"

namespace bk::netfwd {

struct Listener {
    PortSpec spec;
    Fd fd;
};

struct ProxyConfig {
    std::size_t pipe_size = 1 << 18;                    // each direction's buffer, at most (a pipe starts at 64 KiB
                                                        // and grows to this only while that direction is busy)
    std::chrono::seconds udp_timeout{30};               // a UDP flow ends after this long idle
    std::size_t udp_max_flows = 4096;                   // per port; the oldest goes first
    std::chrono::milliseconds emfile_backoff{100};      // stop accepting this long when out of fds
    unsigned threads = 1;                               // relay loops (one measured as fast as two here)
};

// Bind every port on the host (before moving into the box).
std::vector<Listener> open_listeners(const std::vector<PortSpec>& ports);

// One epoll loop per thread (--threads), all accepting from the same
// listening sockets; UDP stays on the first. Relay until `stop_fd` (a signalfd) or `pidfd` (the box's pid 1; -1 when
// none) is readable. Call it after setns into the box's namespace; it calls
// `ready` once set up. Returns why it stopped, for -v.
std::string run_proxy(std::vector<Listener>& listeners, const ProxyConfig& cfg, int stop_fd, int pidfd,
                      const std::function<void()>& ready);

} // namespace bk::netfwd
