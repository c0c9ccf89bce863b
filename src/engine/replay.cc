// SPDX-License-Identifier: Apache-2.0
#include "engine/replay.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "core/json.h"
#include "engine/engine.h"

namespace sluice::engine {

int replayDeadLetters(Pipeline& pipeline, const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    std::fprintf(stderr, "sluice replay: cannot open %s\n", dir.c_str());
    return kExitConfigError;
  }
  std::vector<std::string> files;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.ends_with(".jsonl")) files.push_back(dir + "/" + name);
  }
  ::closedir(d);
  std::map<std::string, Output*> outputs;
  uint64_t delivered = 0, left = 0;
  for (const std::string& path : files) {
    std::ifstream in(path);
    std::string line;
    std::vector<std::string> keep;
    // Group the file's lines by output and tag, in order, and send each group as one chunk.
    struct Group {
      std::string output, tag;
      FormattedEvents events;
      std::vector<std::string> lines;
    };
    std::vector<Group> groups;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      Arena arena;
      auto v = parseJson(line, arena);
      const Value* out = v ? v->find("output") : nullptr;
      const Value* ev = v ? v->find("event") : nullptr;
      const Value* tag = v ? v->find("tag") : nullptr;
      if (!out || !out->isString() || !ev || !ev->isString()) {
        std::fprintf(stderr, "sluice replay: %s: skipping a line that is not a dead letter\n", path.c_str());
        keep.push_back(line);
        continue;
      }
      std::string o(out->asString()), t(tag && tag->isString() ? tag->asString() : "");
      if (groups.empty() || groups.back().output != o || groups.back().tag != t) groups.push_back(Group{o, t, {}, {}});
      groups.back().events.bytes.append(ev->asString());
      groups.back().events.endEvent();
      groups.back().lines.push_back(line);
    }
    for (Group& g : groups) {
      auto it = outputs.find(g.output);
      if (it == outputs.end()) {
        auto o = pipeline.startOutputForReplay(g.output);
        if (!o) {
          std::fprintf(stderr, "sluice replay: %s\n", o.status().message().c_str());
          it = outputs.emplace(g.output, nullptr).first;
        } else {
          it = outputs.emplace(g.output, *o).first;
        }
      }
      WriteResult r = WriteResult::fail("output unavailable");
      ChunkKey key{g.tag, 0, {}};
      if (it->second != nullptr) r = it->second->write(ChunkView(g.events.bytes, g.events.ends, &key));
      if (r.kind == WriteResult::Kind::Ok) {
        delivered += g.lines.size();
        continue;
      }
      std::vector<bool> failed(g.lines.size(), r.kind != WriteResult::Kind::Partial);
      for (size_t i : r.retry_events) failed[i] = true;
      for (const auto& f : r.failed_events) failed[f.first] = true;
      for (size_t i = 0; i < g.lines.size(); ++i) {
        if (failed[i]) {
          keep.push_back(g.lines[i]);
        } else {
          ++delivered;
        }
      }
      std::fprintf(stderr, "sluice replay: %s: %s\n", g.output.c_str(), r.reason.c_str());
    }
    left += keep.size();
    if (keep.empty()) {
      ::unlink(path.c_str());
    } else {
      std::ofstream outf(path + ".tmp", std::ios::trunc);
      for (const auto& l : keep) outf << l << "\n";
      outf.close();
      std::rename((path + ".tmp").c_str(), path.c_str());
    }
  }
  for (auto& [id, o] : outputs) {
    if (o) o->stop();
  }
  std::printf("replayed %llu events; %llu left in %s\n", static_cast<unsigned long long>(delivered),
              static_cast<unsigned long long>(left), dir.c_str());
  return left == 0 ? kExitOk : kExitRuntimeError;
}

}  // namespace sluice::engine
