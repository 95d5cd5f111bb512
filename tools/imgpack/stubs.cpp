#include "imgpack.hpp"
#include "error.hpp"
namespace bk::imgpack {
int run_save(const Options&) { throw Error("save: not yet"); }
int run_load(const Options&) { throw Error("load: not yet"); }
int run_bundle(const Options&) { throw Error("bundle: not yet"); }
}
