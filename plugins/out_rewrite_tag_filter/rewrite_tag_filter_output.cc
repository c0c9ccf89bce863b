// SPDX-License-Identifier: Apache-2.0
#include "plugins/out_rewrite_tag_filter/rewrite_tag_filter_output.h"

#include <netdb.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace sluice::plugins::out_rewrite_tag_filter {
namespace {

const std::array<Param<RewriteConfig>, 6> kParams = {{
    {"capitalize_regex_backreference", &RewriteConfig::capitalize_regex_backreference, "false",
     "Capitalize each $N (first letter up, the rest down)."},
    {"remove_tag_prefix", &RewriteConfig::remove_tag_prefix, nullptr,
     "Remove this prefix (and the dot after it) from the tag that ${tag} and ${tag_parts[N]} give."},
    {"remove_tag_regexp", &RewriteConfig::remove_tag_regexp, nullptr,
     "Remove the first match of this regexp from the tag that ${tag} and ${tag_parts[N]} give.", {}, kRegexp},
    {"hostname_command", &RewriteConfig::hostname_command, "hostname",
     "What ${hostname} gives: `hostname`, `hostname -s` (short) or `hostname -f` (canonical); sluice runs no "
     "command."},
    {"emit_mode", enumMember<&RewriteConfig::emit_mode, kEmitModes>(), "batch",
     "batch: events re-emitted grouped by new tag (in order of first appearance); record: in their order."},
    {"@label", &RewriteConfig::label, nullptr, "Re-emit into this <label> instead of the section's own router."},
}};

const std::array<Param<RuleConfig>, 5> kRuleParams = {{
    {"key", &RuleConfig::key, nullptr, "Field whose value is tested (record_accessor syntax such as $.a.b allowed).",
     {}, kRequired},
    {"pattern", &RuleConfig::pattern, nullptr, "Regexp (Ruby syntax, /…/ or bare), unanchored.", {}, kRequired | kRegexp},
    {"tag", &RuleConfig::tag, nullptr, "The new tag, with $N, ${tag}, ${tag_parts[N]} and ${hostname} placeholders.",
     {}, kRequired},
    {"label", &RuleConfig::label, nullptr, "Re-emit events this rule rewrites into this <label>."},
    {"invert", &RuleConfig::invert, "false", "Rewrite when the pattern does not match (a missing field included)."},
}};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// `hostname -s` / `hostname -f` without running them.
Result<std::string> hostnameFor(std::string_view command, const std::string& hostname) {
  std::string cmd(command);
  while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
  if (cmd == "hostname") return hostname;
  if (cmd == "hostname -s" || cmd == "hostname --short") return hostname.substr(0, hostname.find('.'));
  if (cmd == "hostname -f" || cmd == "hostname --fqdn" || cmd == "hostname --long") {
    struct addrinfo hints;
    std::memset(&hints, 0, sizeof hints);
    hints.ai_flags = AI_CANONNAME;
    struct addrinfo* info = nullptr;
    std::string out = hostname;
    if (::getaddrinfo(hostname.c_str(), nullptr, &hints, &info) == 0 && info != nullptr) {
      if (info->ai_canonname != nullptr) out = info->ai_canonname;
      ::freeaddrinfo(info);
    }
    return out;
  }
  return Status::invalidConfig("hostname_command '" + cmd +
                               "': sluice runs no commands; use hostname, hostname -s or hostname -f");
}

}  // namespace

Result<std::vector<RewriteTagFilterOutput::Piece>> RewriteTagFilterOutput::parseTemplate(std::string_view t) {
  std::vector<Piece> out;
  auto text = [&](std::string_view s) {
    if (s.empty()) return;
    if (!out.empty() && out.back().kind == Piece::Kind::Text) {
      out.back().text += s;
    } else {
      out.push_back(Piece{Piece::Kind::Text, std::string(s), 0});
    }
  };
  auto partIndex = [](std::string_view inside) -> int {  // "[3]" -> 3, else -1; ranges -2
    if (inside.size() < 3 || inside.front() != '[' || inside.back() != ']') return -1;
    std::string_view n = inside.substr(1, inside.size() - 2);
    if (n.find("..") != std::string_view::npos) return -2;
    if (n.empty() || n.size() > 6 || !std::all_of(n.begin(), n.end(), isDigit)) return -1;
    return std::stoi(std::string(n));
  };
  size_t i = 0;
  while (i < t.size()) {
    if (t[i] == '$' && i + 1 < t.size() && isDigit(t[i + 1])) {
      size_t j = i + 1;
      while (j < t.size() && isDigit(t[j]) && j - i < 7) ++j;
      out.push_back(Piece{Piece::Kind::Capture, std::string(t.substr(i, j - i)), std::stoi(std::string(t.substr(i + 1, j - i - 1)))});
      i = j;
      continue;
    }
    if (t.substr(i, 2) == "${") {
      size_t close = t.find('}', i);
      if (close != std::string_view::npos) {
        std::string_view name = t.substr(i + 2, close - i - 2);
        size_t bracket = name.find('[');
        std::string_view base = name.substr(0, bracket);
        std::string_view idx = bracket == std::string_view::npos ? std::string_view() : name.substr(bracket);
        bool word = !base.empty() && std::all_of(base.begin(), base.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
        if (word) {
          std::string whole(t.substr(i, close - i + 1));
          if (base == "tag_parts" && partIndex(idx) == -2) {
            return Status::invalidConfig("${tag_parts[n]} and __TAG_PARTS[n]__ placeholder does not support range specify: " + whole);
          }
          if (idx.empty() && base == "tag") {
            out.push_back(Piece{Piece::Kind::Tag, whole, 0});
          } else if (idx.empty() && base == "hostname") {
            out.push_back(Piece{Piece::Kind::Hostname, whole, 0});
          } else if (base == "tag_parts" && partIndex(idx) >= 0) {
            out.push_back(Piece{Piece::Kind::TagPart, whole, partIndex(idx)});
          } else if (idx.empty() || partIndex(idx) >= 0) {
            out.push_back(Piece{Piece::Kind::Unknown, whole, 0});
          } else {
            text(t.substr(i, 1));
            ++i;
            continue;
          }
          i = close + 1;
          continue;
        }
      }
    }
    if (t.substr(i, 12) == "__TAG_PARTS[") {
      size_t close = t.find("]__", i);
      if (close != std::string_view::npos) {
        int idx = partIndex(t.substr(i + 11, close - i - 10));
        std::string whole(t.substr(i, close + 3 - i));
        if (idx == -2) {
          return Status::invalidConfig("${tag_parts[n]} and __TAG_PARTS[n]__ placeholder does not support range specify: " + whole);
        }
        if (idx >= 0) {
          out.push_back(Piece{Piece::Kind::TagPart, whole, idx});
          i = close + 3;
          continue;
        }
      }
    }
    if (t.substr(i, 2) == "__") {
      // Ruby's /__[A-Z_]+__/: the longest run of A-Z and _ that ends in "__".
      size_t k = i + 2;
      while (k < t.size() && ((t[k] >= 'A' && t[k] <= 'Z') || t[k] == '_')) ++k;
      size_t end = k;
      while (end >= i + 5 && t.substr(end - 2, 2) != "__") --end;
      if (end >= i + 5) {
        std::string whole(t.substr(i, end - i));
        Piece::Kind kind = whole == "__TAG__" ? Piece::Kind::Tag
                           : whole == "__HOSTNAME__" ? Piece::Kind::Hostname
                                                      : Piece::Kind::Unknown;
        out.push_back(Piece{kind, whole, 0});
        i = end;
        continue;
      }
    }
    text(t.substr(i, 1));
    ++i;
  }
  return out;
}

Result<std::unique_ptr<RewriteTagFilterOutput>> RewriteTagFilterOutput::create(const RewriteConfig& config,
                                                                               PluginContext& ctx) {
  if (config.remove_tag_prefix && config.remove_tag_regexp) {
    return Status::invalidConfig("remove_tag_prefix and remove_tag_regexp are exclusive");
  }
  for (const config::Param& p : ctx.element().params) {
    if (p.key.rfind("rewriterule", 0) == 0) {
      return Status::invalidConfig(p.where.str() + ": \"rewriterule<num>\" support has been dropped. Use <rule> section instead.");
    }
  }
  EventSink* router = nullptr;
  if (config.label) {
    auto sink = ctx.labelSink(*config.label);
    if (!sink) return sink.takeStatus();
    router = *sink;
  }
  std::vector<Rule> rules;
  std::vector<std::string> seen;  // key + invert + pattern: duplicates are an error
  for (const config::Element& e : ctx.element().elements) {
    if (e.name != "rule") continue;
    RuleConfig rc;
    Status s = ctx.bind(std::span<const Param<RuleConfig>>(kRuleParams), e, rc);
    if (!s) return s;
    auto key = FieldPath::parse(rc.key);
    if (!key) return key.status().withPrefix(e.where.str() + ": ");
    auto re = compileRubyRegex(rc.pattern);
    if (!re) return re.status().withPrefix(e.where.str() + ": ");
    auto pieces = parseTemplate(rc.tag);
    if (!pieces) return pieces.status().withPrefix(e.where.str() + ": ");
    for (const Piece& p : *pieces) {
      if (p.kind == Piece::Kind::Unknown) {
        ctx.log().warn(e.where.str() + ": unknown placeholder " + p.text + " in tag " + rc.tag + "; it is replaced by nothing");
      }
    }
    std::string id = rc.key + (rc.invert ? "!" : "") + rc.pattern;
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
      return Status::invalidConfig(e.where.str() + ": duplicated rewriterules found (key " + rc.key + ", pattern " + rc.pattern + ")");
    }
    seen.push_back(id);
    EventSink* sink = router;
    if (rc.label && !rc.label->empty()) {
      auto l = ctx.labelSink(*rc.label);
      if (!l) return l.takeStatus();
      sink = *l;
    }
    if (sink == nullptr) {
      auto r = ctx.labelSink("");
      if (!r) return r.takeStatus();
      router = sink = *r;
    }
    rules.push_back(Rule{std::move(*key), std::move(*re), rc.invert, std::move(*pieces), sink, rc.label && !rc.label->empty()});
  }
  if (rules.empty()) return Status::invalidConfig("missing rewriterules: add <rule> sections (key, pattern, tag)");
  std::unique_ptr<RE2> remove_tag;
  if (config.remove_tag_prefix) {
    remove_tag = std::make_unique<RE2>("^" + RE2::QuoteMeta(*config.remove_tag_prefix) + "\\.?");
  } else if (config.remove_tag_regexp) {
    auto re = compileRubyRegex(*config.remove_tag_regexp);
    if (!re) return re.takeStatus();
    remove_tag = std::move(*re);
  }
  auto hostname = hostnameFor(config.hostname_command, ctx.hostname());
  if (!hostname) return hostname.takeStatus();
  return std::unique_ptr<RewriteTagFilterOutput>(new RewriteTagFilterOutput(
      std::move(rules), config.capitalize_regex_backreference, std::move(remove_tag), std::move(*hostname),
      config.emit_mode == EmitMode::Batch, ctx));
}

RewriteTagFilterOutput::RewriteTagFilterOutput(std::vector<Rule> rules, bool capitalize, std::unique_ptr<RE2> remove_tag,
                                               std::string hostname, bool batch_mode, PluginContext& ctx)
    : rules_(std::move(rules)),
      capitalize_(capitalize),
      remove_tag_(std::move(remove_tag)),
      hostname_(std::move(hostname)),
      batch_mode_(batch_mode),
      log_(ctx.log()),
      looped_(ctx.metrics().counter("discarded_records_total", "Events dropped: a loop of tag rewrites.",
                                    {{"intentional", "false"}})) {}

const RewriteTagFilterOutput::Rule* RewriteTagFilterOutput::rewrite(std::string_view base_tag, const Value& record,
                                                                    std::string& out, std::string& scratch) const {
  re2::StringPiece m[10];
  for (const Rule& rule : rules_) {
    const Value* v = rule.key.find(record);
    std::string_view text;
    if (v != nullptr && v->isString()) {
      text = v->asString();
    } else if (v != nullptr && !v->isNull()) {
      scratch.clear();
      appendJson(scratch, *v);  // Ruby's to_s of 1000000 or true
      text = scratch;
    }
    if (text.empty() && !rule.invert) continue;  // a missing field never matches
    const int groups = std::min(rule.re->NumberOfCapturingGroups(), 9);
    const bool matched = rule.re->Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED, m,
                                        groups + 1);
    if (matched == rule.invert) continue;
    out.clear();
    for (const Piece& p : rule.tag) {
      switch (p.kind) {
        case Piece::Kind::Text: out += p.text; break;
        case Piece::Kind::Capture:
          if (rule.invert) {
            out += p.text;  // Fluentd substitutes captures only for matching rules
          } else if (p.index >= 1 && p.index <= groups && m[p.index].data() != nullptr) {
            size_t at = out.size();
            out.append(m[p.index].data(), m[p.index].size());
            if (capitalize_) {
              for (size_t i = at; i < out.size(); ++i) {
                char c = out[i];
                out[i] = i == at ? (c >= 'a' && c <= 'z' ? char(c - 32) : c) : (c >= 'A' && c <= 'Z' ? char(c + 32) : c);
              }
            }
          }
          break;
        case Piece::Kind::Tag: out += base_tag; break;
        case Piece::Kind::Hostname: out += hostname_; break;
        case Piece::Kind::TagPart: {
          std::string_view rest = base_tag;
          for (int i = 0; i < p.index && !rest.empty(); ++i) {
            size_t dot = rest.find('.');
            rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
          }
          out += rest.substr(0, rest.find('.'));
          break;
        }
        case Piece::Kind::Unknown: break;
      }
    }
    return &rule;
  }
  return nullptr;
}

Status RewriteTagFilterOutput::emit(Batch& batch) {
  // Re-emitting re-enters the router on this thread: each level has its own reused batches.
  struct Level {
    Batch out;                       // the rewritten events, tags in its arena
    Batch part;                      // one sink's share when they go to several
    std::vector<EventSink*> sinks;   // per event of `out`
    std::vector<std::string_view> tags;  // distinct tags, in order of first appearance
    std::vector<uint32_t> order;
  };
  thread_local int depth = 0;
  thread_local std::vector<std::unique_ptr<Level>> levels;
  if (batch.empty()) return Status::ok();
  if (depth >= 32) {
    looped_.add(batch.size());
    log_.error("Tags rewritten 32 times over: the <rule>s loop; " + std::to_string(batch.size()) +
               " events dropped. tag=" + std::string(batch.events()[0].tag));
    return Status::ok();
  }
  if (levels.size() <= size_t(depth)) levels.push_back(std::make_unique<Level>());
  Level& level = *levels[size_t(depth)];
  Batch& out = level.out;
  out.clear();
  out.setAck(batch.ack());
  level.sinks.clear();
  std::string new_tag, scratch, base;
  std::string_view last_tag, last_new, base_tag;
  const char* last_tag_data = nullptr;
  for (const Event& e : batch.events()) {
    if (e.tag.data() != last_tag_data || e.tag != last_tag) {
      last_tag = e.tag;
      last_tag_data = e.tag.data();
      base_tag = e.tag;
      if (remove_tag_) {
        base.assign(e.tag);
        RE2::Replace(&base, *remove_tag_, "");
        base_tag = base;
      }
    }
    const Rule* rule = rewrite(base_tag, e.record, new_tag, scratch);
    // No rule, or its own tag again without a label of the rule's: Fluentd drops the event
    // ("tag has not been rewritten"), which also stops the simplest loop.
    if (rule == nullptr || (new_tag == e.tag && !rule->own_label)) continue;
    if (new_tag != last_new) last_new = out.arena().copy(new_tag);
    out.add(last_new, e.time_ns, e.record, e.origin);
    level.sinks.push_back(rule->sink);
  }
  if (out.empty()) return Status::ok();
  ++depth;
  Status result;
  const bool one_sink = std::all_of(level.sinks.begin(), level.sinks.end(), [&](EventSink* s) { return s == level.sinks[0]; });
  const bool one_tag = std::all_of(out.events().begin(), out.events().end(),
                                   [&](const Event& e) { return e.tag.data() == out.events()[0].tag.data(); });
  if (one_sink && (!batch_mode_ || one_tag)) {
    result = level.sinks[0]->emit(out);  // the router splits mixed tags into runs, in order
  } else {
    // Per sink in order of first appearance; batch mode groups each sink's events by tag in
    // order of first appearance, as Fluentd's emit_stream per (label, tag).
    auto& events = out.events();
    for (size_t i = 0; i < events.size(); ++i) {
      EventSink* sink = level.sinks[i];
      if (sink == nullptr) continue;
      level.tags.clear();
      level.order.clear();
      for (size_t j = i; j < events.size(); ++j) {
        if (level.sinks[j] != sink) continue;
        auto t = std::find(level.tags.begin(), level.tags.end(), events[j].tag);
        if (t == level.tags.end()) t = level.tags.insert(level.tags.end(), events[j].tag);
        level.order.push_back(batch_mode_ ? uint32_t(t - level.tags.begin()) : 0);
      }
      Batch& part = level.part;
      part.clear();
      part.setAck(out.ack());
      for (uint32_t group = 0; group < (batch_mode_ ? level.tags.size() : 1); ++group) {
        size_t k = 0;
        for (size_t j = i; j < events.size(); ++j) {
          if (level.sinks[j] != sink) continue;
          if (level.order[k++] == group) part.events().push_back(events[j]);
        }
      }
      for (size_t j = i; j < events.size(); ++j) {
        if (level.sinks[j] == sink) level.sinks[j] = nullptr;
      }
      Status s = sink->emit(part);
      if (!s && result) result = s;
    }
  }
  --depth;
  out.clear();
  level.part.clear();
  return result;
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RewriteTagFilterOutput>(
      PluginKind::Output, "rewrite_tag_filter",
      "Re-emits each event with a tag chosen by the first matching <rule> (fluent-plugin-rewrite-tag-filter).",
      kParams,
      {{"rule", "A rewrite rule; the first that matches an event decides its new tag.",
        describeParams(std::span<const Param<RuleConfig>>(kRuleParams))}})
      .inPipelineOnly();
  return kDescriptor;
}

}  // namespace sluice::plugins::out_rewrite_tag_filter
