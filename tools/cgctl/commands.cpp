// The commands that manage named groups: create, set, exec, rm, ls, gc.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "backend.hpp"
#include "cgctl.hpp"
#include "error.hpp"
#include "exec.hpp"
#include "explain.hpp"
#include "json.hpp"
#include "stats.hpp"

namespace bk::cgctl {

namespace {

void require_group(const Backend& b, const std::string& name) {
    if (!b.exists(name))
        throw Error("find the group " + name, "", ENOENT,
                    "no such group under " + b.parent_path() + "; see 'cgctl ls', or make it with 'cgctl create " + name + "'");
}

} // namespace

int create(const Options& o) {
    check_name(o.name);
    auto b = open_backend();
    b->create(o.name, o.limits);
    detail("made " + b->path(o.name));
    return 0;
}

int set(const Options& o) {
    check_name(o.name);
    if (o.limits.empty()) throw Error("set nothing", "", 0, "give a limit: e.g. cgctl set " + o.name + " --memory 128Mi");
    auto b = open_backend();
    require_group(*b, o.name);
    b->apply(o.name, o.limits);
    return 0;
}

int exec(const Options& o) {
    check_name(o.name);
    if (o.command.empty()) throw Error("run nothing", "", 0, "give the command after --: cgctl exec " + o.name + " -- /bin/sh");
    auto b = open_backend();
    if (!b->exists(o.name)) b->create(o.name, o.limits);
    else if (!o.limits.empty()) b->apply(o.name, o.limits);
    // A chain-loader: join, then become the command. The group stays (it is
    // named); `cgctl rm` removes it.
    b->attach(o.name, ::getpid());
    exec_command(o.command);
}

int rm(const Options& o) {
    check_name(o.name);
    auto b = open_backend();
    require_group(*b, o.name);
    auto members = b->members(o.name);
    if (!members.empty() && !o.force)
        throw Error("remove the group " + o.name, "rmdir(" + quote(b->path(o.name)) + ")", EBUSY,
                    "it still holds " + std::to_string(members.size()) + " process" + (members.size() == 1 ? "" : "es") +
                        " (pid " + std::to_string(members.front()) + "...); stop them, or 'cgctl rm --force " + o.name +
                        "' kills them first");
    kill_members(*b, o.name);
    remove_when_empty(*b, o.name);
    return 0;
}

int gc(const Options& o) {
    auto b = open_backend();
    for (const auto& name : b->groups()) {
        if (!is_abandoned(*b, name)) continue;
        kill_members(*b, name);
        remove_when_empty(*b, name);
        if (!o.json) std::fprintf(stderr, "%s: removed the leftover group %s\n", tool_name().c_str(), name.c_str());
    }
    return 0;
}

int ls(const Options& o) {
    auto b = open_backend();
    json doc = json::array();
    std::vector<std::string> lines;
    for (const auto& name : b->groups()) {
        Usage u = b->usage(name);
        json g = usage_json(u);
        g["name"] = name;
        g["path"] = b->path(name);
        g["transient"] = b->fs().get_xattr(b->path(name), "user.boxkit.owner").has_value();
        g["abandoned"] = is_abandoned(*b, name);
        doc.push_back(g);
        lines.push_back(list_line(name, u));
    }
    if (o.json) {
        print_json(doc);
        return 0;
    }
    std::cout << list_header() << "\n";
    for (const auto& l : lines) std::cout << l << "\n";
    return 0;
}

} // namespace bk::cgctl
