// JSON output: one document on stdout for --json, so jq and scripts can take
// it. Keys we invent are snake_case and stable; OCI documents keep the
// spec's own field names.
#pragma once
#include <nlohmann/json.hpp>

#include <iostream>

namespace bk {

using json = nlohmann::json;

inline void print_json(const json& doc) { std::cout << doc.dump(2) << "\n" << std::flush; }

} // namespace bk
