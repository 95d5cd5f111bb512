// The network namespace: a new one has only a loopback device, and that is
// down. We bring it up, so 127.0.0.1 works inside; anything more (a veth to
// the host, a published port) is netfwd's job. See network_namespaces(7),
// netdevice(7).
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "error.hpp"
#include "explain.hpp"
#include "fd.hpp"
#include "nsjail_lite.hpp"

namespace bk::nsjail_lite {

void setup_net(const Options& o) {
    if (!o.net) return;
    const char* why = "bring up loopback, the one interface a new network namespace has";
    int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) throw_errno(why, "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)");
    Fd sock(s);
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    std::string call = "ioctl(" + std::to_string(s) + ", SIOCSIFFLAGS, {ifr_name=\"lo\", ifr_flags=IFF_UP|IFF_LOOPBACK|IFF_RUNNING})";
    explain(why, call);
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) < 0) throw_errno(why, call);
}

} // namespace bk::nsjail_lite
