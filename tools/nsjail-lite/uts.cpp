// The UTS namespace: the box's own hostname (and NIS domain name), so
// `hostname web` inside changes nothing outside. See uts_namespaces(7).
#include "nsjail_lite.hpp"
#include "sys.hpp"

namespace bk::nsjail_lite {

void setup_uts(const Options& o) {
    if (!o.uts || o.hostname.empty()) return;
    sys::sethostname("give the box its own hostname", o.hostname);
}

} // namespace bk::nsjail_lite
