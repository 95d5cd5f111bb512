// The places boxkit keeps things (DESIGN.md, "Shared places"). BOXKIT_STORE,
// BOXKIT_LAYERS and BOXKIT_RUN override them.
#pragma once
#include <string>

namespace bk::paths {

std::string store();   // the OCI image layout
std::string layers();  // unpacked layers, one directory per diff_id
std::string boxes();   // one JSON state file per named box

// mkdir -p with `mode` for every directory created (store dirs are 0700).
void make_dirs(const std::string& path, unsigned mode = 0700);

} // namespace bk::paths
