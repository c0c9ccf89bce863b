// SPDX-License-Identifier: Apache-2.0
#include "kube_metadata.h"

#include <simdjson.h>

namespace sluice::plugins::filter_kubernetes_metadata {
namespace {

namespace dom = simdjson::dom;

std::string str(dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

std::string dedot(std::string_view key, const ParseOptions& o) {
  std::string out(key);
  if (!o.de_dot) return out;
  std::string replaced;
  for (char c : out) {
    if (c == '.') {
      replaced += o.de_dot_separator;
    } else {
      replaced += c;
    }
  }
  return replaced;
}

// String-valued members of an object (labels, annotations); others are skipped.
Pairs stringMap(dom::element parent, std::string_view key, const ParseOptions& o, bool filter_annotations) {
  Pairs out;
  dom::object obj;
  if (parent[key].get_object().get(obj) != simdjson::SUCCESS) return out;
  for (auto [k, v] : obj) {
    std::string_view value;
    if (v.get_string().get(value) != simdjson::SUCCESS) continue;
    if (filter_annotations) {
      bool keep = false;
      for (const auto& re : o.annotation_match) {
        if (RE2::PartialMatch(re2::StringPiece(k.data(), k.size()), *re)) {
          keep = true;
          break;
        }
      }
      if (!keep) continue;
    }
    out.emplace_back(dedot(k, o), std::string(value));
  }
  return out;
}

// Parses `json` with `parser`; `what` names the object in the error.
Result<dom::element> parseDoc(dom::parser& parser, std::string_view json, std::string_view what) {
  dom::element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc); err) {
    return Status::corruption(std::string(what) + " JSON: " + simdjson::error_message(err));
  }
  return doc;
}

Result<PodMeta> podFrom(dom::element pod, const ParseOptions& o) {
  dom::element meta;
  if (pod["metadata"].get(meta) != simdjson::SUCCESS || !meta.is_object()) {
    return Status::corruption("a Pod without metadata");
  }
  PodMeta out;
  out.ns = str(meta, "namespace");
  out.name = str(meta, "name");
  out.uid = str(meta, "uid");
  out.resource_version = str(meta, "resourceVersion");
  if (out.name.empty()) return Status::corruption("a Pod without metadata.name");
  out.labels = stringMap(meta, "labels", o, false);
  out.annotations = stringMap(meta, "annotations", o, true);
  std::string_view exclude;
  if (meta["annotations"][o.exclude_annotation].get_string().get(exclude) == simdjson::SUCCESS) {
    out.exclude = exclude == "true";
  }
  if (o.ownerrefs) {
    dom::array refs;
    if (meta["ownerReferences"].get_array().get(refs) == simdjson::SUCCESS) {
      for (dom::element r : refs) out.ownerrefs.emplace_back(str(r, "kind"), str(r, "name"));
    }
  }
  dom::element spec, status;
  if (pod["spec"].get(spec) == simdjson::SUCCESS) out.host = str(spec, "nodeName");
  if (pod["status"].get(status) == simdjson::SUCCESS) {
    out.ip = str(status, "podIP");
    dom::array statuses;
    if (status["containerStatuses"].get_array().get(statuses) == simdjson::SUCCESS) {
      for (dom::element c : statuses) {
        ContainerMeta cm{str(c, "name"), str(c, "image"), str(c, "imageID"), str(c, "containerID")};
        // "docker://<id>", "containerd://<id>", "cri-o://<id>": the id alone.
        if (size_t sep = cm.container_id.find("://"); sep != std::string::npos) cm.container_id.erase(0, sep + 3);
        out.containers.push_back(std::move(cm));
      }
    }
  }
  return out;
}

}  // namespace

Result<PodMeta> parsePod(std::string_view json, const ParseOptions& options) {
  dom::parser parser;
  auto parsed = parseDoc(parser, json, "Pod");
  if (!parsed) return parsed.status();
  dom::element doc = *parsed;
  return podFrom(doc, options);
}

Result<NamespaceMeta> parseNamespace(std::string_view json, const ParseOptions& options) {
  dom::parser parser;
  auto parsed = parseDoc(parser, json, "Namespace");
  if (!parsed) return parsed.status();
  dom::element doc = *parsed;
  dom::element meta;
  if (doc["metadata"].get(meta) != simdjson::SUCCESS || !meta.is_object()) {
    return Status::corruption("a Namespace without metadata");
  }
  NamespaceMeta out;
  out.name = str(meta, "name");
  out.uid = str(meta, "uid");
  out.labels = stringMap(meta, "labels", options, false);
  out.annotations = stringMap(meta, "annotations", options, true);
  return out;
}

Result<std::vector<PodMeta>> parsePodList(std::string_view json, const ParseOptions& options,
                                          std::string* resource_version) {
  dom::parser parser;
  auto parsed = parseDoc(parser, json, "PodList");
  if (!parsed) return parsed.status();
  dom::element doc = *parsed;
  dom::array items;
  bool has_items = doc["items"].get_array().get(items) == simdjson::SUCCESS;
  std::string_view kind;
  if (!has_items && (doc["kind"].get_string().get(kind) != simdjson::SUCCESS || kind != "PodList")) {
    return Status::corruption("not a PodList");  // an empty list may come as "items": null
  }
  std::vector<PodMeta> out;
  if (resource_version != nullptr) {
    std::string_view rv;
    *resource_version = doc["metadata"]["resourceVersion"].get_string().get(rv) == simdjson::SUCCESS ? std::string(rv) : "";
  }
  if (!has_items) return out;
  for (dom::element item : items) {
    auto pod = podFrom(item, options);
    if (pod) out.push_back(std::move(*pod));
  }
  return out;
}

Result<WatchEvent> parseWatchEvent(std::string_view line, const ParseOptions& options) {
  dom::parser parser;
  auto parsed = parseDoc(parser, line, "watch event");
  if (!parsed) return parsed.status();
  dom::element doc = *parsed;
  WatchEvent out;
  out.type = str(doc, "type");
  dom::element object;
  if (out.type.empty() || doc["object"].get(object) != simdjson::SUCCESS) {
    return Status::corruption("a watch event without type or object");
  }
  if (out.type == "ERROR") {
    int64_t code = 0;
    if (object["code"].get_int64().get(code) == simdjson::SUCCESS) out.error_code = static_cast<int>(code);
    out.error_message = str(object, "message");
    return out;
  }
  if (out.type == "BOOKMARK") {
    dom::element meta;
    if (object["metadata"].get(meta) == simdjson::SUCCESS) out.pod.resource_version = str(meta, "resourceVersion");
    return out;
  }
  auto pod = podFrom(object, options);
  if (!pod) return pod.status();
  out.pod = std::move(*pod);
  return out;
}

namespace {

// Builds an object in an arena, member by member.
class ObjectBuilder {
 public:
  explicit ObjectBuilder(Arena& arena) : arena_(arena) {}
  void add(std::string_view key, std::string_view value) {
    v_.setMember(arena_.copy(key), Value::string(arena_.copy(value)), arena_);
  }
  void add(std::string_view key, Value value) { v_.setMember(arena_.copy(key), value, arena_); }
  void addPairs(std::string_view key, const Pairs& pairs) {
    if (pairs.empty()) return;
    ObjectBuilder sub(arena_);
    for (const auto& [k, v] : pairs) sub.add(k, v);
    add(key, sub.value());
  }
  Value value() const { return v_; }

 private:
  Arena& arena_;
  Value v_ = Value::emptyObject();
};

}  // namespace

std::shared_ptr<Contribution> buildContribution(const TagNames& tag, const PodMeta* pod, Found pod_state,
                                                const NamespaceMeta* ns, Found ns_state,
                                                const BuildOptions& o) {
  auto c = std::make_shared<Contribution>();
  Arena& arena = c->arena;
  ObjectBuilder k(arena);
  std::string_view docker_id = tag.docker_id;
  k.add("container_name", tag.container);
  k.add("namespace_name", tag.ns);
  k.add("pod_name", tag.pod);
  if (pod != nullptr) {
    c->exclude = pod->exclude;
    const ContainerMeta* container = nullptr;
    for (const ContainerMeta& cm : pod->containers) {
      if (cm.name == tag.container) container = &cm;
    }
    if (container != nullptr && !o.skip_container_metadata) {
      k.add("container_image", container->image);
      if (!container->image_id.empty()) k.add("container_image_id", container->image_id);
      if (!container->container_id.empty()) docker_id = container->container_id;
    }
    k.add("pod_id", pod->uid);
    if (!pod->ip.empty()) k.add("pod_ip", pod->ip);
    if (!pod->host.empty()) k.add("host", pod->host);
    if (!pod->ownerrefs.empty()) {
      Value refs;
      for (const auto& [kind, name] : pod->ownerrefs) {
        ObjectBuilder ref(arena);
        ref.add("kind", kind);
        ref.add("name", name);
        refs.appendItem(ref.value(), arena);
      }
      k.add("ownerrefs", refs);
    }
    if (!o.skip_pod_labels) k.addPairs("labels", pod->labels);
    k.addPairs("annotations", pod->annotations);
    if (!o.skip_master_url && !o.master_url.empty()) k.add("master_url", o.master_url);
  }
  if (ns != nullptr && !o.skip_namespace_metadata) {
    k.add("namespace_id", ns->uid);
    if (!o.skip_namespace_labels) k.addPairs("namespace_labels", ns->labels);
    k.addPairs("namespace_annotations", ns->annotations);
  } else if (pod_state == Found::Missing && (ns_state == Found::Missing || o.skip_namespace_metadata) &&
             o.allow_orphans) {
    // Neither the pod nor its namespace exists (any more): Fluentd's orphan convention.
    k.add("namespace_name", o.orphaned_namespace_name);
    k.add("orphaned_namespace", tag.ns);
    k.add("namespace_id", o.orphaned_namespace_id);
  }
  if (!docker_id.empty()) {
    ObjectBuilder d(arena);
    d.add("container_id", docker_id);
    c->docker = d.value();
  }
  c->kubernetes = k.value();
  auto serialise = [&](const Value& v, JsonTemplate& t) {
    std::string json = toJson(v);
    t.original = &v;
    t.json = arena.copy(json);
  };
  if (!c->docker.isNull()) serialise(c->docker, c->docker_json);
  serialise(c->kubernetes, c->kubernetes_json);
  return c;
}

}  // namespace sluice::plugins::filter_kubernetes_metadata
