#include "state.hpp"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "error.hpp"
#include "paths.hpp"

namespace bk::netfwd {

std::string state_dir() {
    std::string boxes = paths::boxes();
    auto slash = boxes.find_last_of('/');
    std::string parent = slash == std::string::npos || slash == 0 ? "." : boxes.substr(0, slash);
    return parent + "/netfwd";
}

void write_record(const std::string& name, const json& doc) {
    std::string dir = state_dir();
    paths::make_dirs(dir, 0700);
    std::string path = dir + "/" + name + ".json";
    std::string tmp = path + ".tmp" + std::to_string(::getpid());
    {
        std::ofstream f(tmp);
        f << doc.dump(2) << "\n";
        if (!f.flush()) throw Error("write the record " + tmp, "write()", errno);
    }
    if (std::rename(tmp.c_str(), path.c_str()) < 0) throw_errno("save the record " + path, "rename()");
}

void remove_record(const std::string& name) { ::unlink((state_dir() + "/" + name + ".json").c_str()); }

bool read_record(const std::string& name, json& doc) {
    std::ifstream f(state_dir() + "/" + name + ".json");
    if (!f) return false;
    doc = json::parse(f, nullptr, false);
    return !doc.is_discarded() && doc.is_object();
}

std::vector<json> read_records() {
    std::vector<json> out;
    DIR* d = ::opendir(state_dir().c_str());
    if (!d) return out;
    while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() < 6 || n.substr(n.size() - 5) != ".json") continue;
        json doc;
        if (!read_record(n.substr(0, n.size() - 5), doc)) continue;
        doc["file"] = n.substr(0, n.size() - 5);
        out.push_back(std::move(doc));
    }
    ::closedir(d);
    return out;
}

} // namespace bk::netfwd
