#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "json.hpp"
#include "tempdir.hpp"

TEST_CASE("print_json writes one document and a newline to stdout", "[json]") {
    bk::TempDir t{"boxkit-json"};
    std::string file = t.path() + "/out";
    std::streambuf* saved = std::cout.rdbuf();
    std::ofstream out(file);
    std::cout.rdbuf(out.rdbuf());
    bk::print_json({{"name", "box"}, {"pid", 42}});
    std::cout.rdbuf(saved);
    out.close();
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto s = text.str();
    REQUIRE(!s.empty());
    CHECK(s.back() == '\n');
    auto doc = bk::json::parse(s);
    CHECK(doc["name"] == "box");
    CHECK(doc["pid"] == 42);
}
