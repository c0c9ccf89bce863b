// SPDX-License-Identifier: Apache-2.0
#include "plugins/filter_redact/redact_filter.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <array>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::plugins::filter_redact {
namespace {

using C = RedactConfig;
const std::array<Param<C>, 9> kParams = {{
    {"keys", &C::keys, "password,token,secret,key,authorization,cookie,session",
     "Fields whose name matches are redacted wherever they are (objects and arrays), case-insensitively."},
    {"key_match", enumMember<&C::key_match, kKeyMatches>(), "exact", "exact: the whole name; contains: any name holding one of keys (db_password, X-Api-Token)."},
    {"builtin", &C::builtin, "", "Built-in value patterns: email, credit_card (Luhn-checked), jwt, bearer_token, aws_access_key, private_key, ipv4, url_credentials."},
    {"replacement", &C::replacement, "[REDACTED]", "What replaces a secret (mode replace). Quote it in a config file: a value starting with `[` is read as a JSON array."},
    {"mode", enumMember<&C::mode, kRedactModes>(), "replace", "replace: the replacement text; hash: `hmac:` and 16 hex digits of HMAC-SHA256 with a secret key, equal for equal values; remove: drop the field (a secret inside a longer string is replaced)."},
    {"hash_key_file", &C::hash_key_file, nullptr, "File holding the HMAC key (mode hash).", {}, kSecret},
    {"hash_key_env", &C::hash_key_env, nullptr, "Environment variable holding the HMAC key (mode hash)."},
    {"fields", &C::fields, "", "Scan only these fields (record_accessor syntax) for patterns; default every string value."},
    {"max_scan_bytes", &C::max_scan_bytes, "64k", "Scan at most this many bytes of a value; the rest is passed as it is."},
}};

const std::array<Param<PatternConfig>, 3> kPatternParams = {{
    {"name", &PatternConfig::name, nullptr, "Name of the pattern (a metrics label).", {}, kRequired},
    {"regexp", &PatternConfig::regexp, nullptr, "Regexp (Ruby syntax, run by RE2); a group named secret limits what is replaced.", {}, kRequired | kRegexp},
    {"replacement", &PatternConfig::replacement, nullptr, "Replacement for this pattern (default: the filter's)."},
}};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view lower_b) {
  if (a.size() != lower_b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower_b[i]) return false;
  }
  return true;
}

// A bit for a field name from its length and its first and last letters, case folded: names
// that differ in case share it. REQUIRES: !name.empty().
uint64_t keyFilterBit(std::string_view name) {
  unsigned h = static_cast<unsigned>(name.size()) * 7u + static_cast<unsigned char>(lower(name.front())) * 3u +
               static_cast<unsigned char>(lower(name.back()));
  return uint64_t{1} << (h & 63);
}

bool icontains(std::string_view hay, std::string_view lower_needle) {
  if (lower_needle.size() > hay.size()) return false;
  for (size_t i = 0; i + lower_needle.size() <= hay.size(); ++i) {
    size_t k = 0;
    while (k < lower_needle.size() && lower(hay[i + k]) == lower_needle[k]) ++k;
    if (k == lower_needle.size()) return true;
  }
  return false;
}

}  // namespace

struct RedactFilter::Counts {
  std::vector<uint64_t> patterns;
  std::vector<uint64_t> keys;
  std::vector<int> matched;      // RE2::Set output, reused
  std::string scratch;           // rewritten value, reused
  std::string joined;            // a record's strings, for the one-pass prefilter
};



Result<std::unique_ptr<RedactFilter>> RedactFilter::create(const RedactConfig& config, PluginContext& ctx) {
  std::vector<RedactPattern> patterns;
  RE2::Options options;
  options.set_log_errors(false);
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  auto addPattern = [&](std::string name, std::string re2_syntax, std::string replacement,
                        bool (*validate)(std::string_view), const config::Location& where) -> Status {
    RedactPattern p;
    p.name = std::move(name);
    p.re = std::make_unique<RE2>(re2_syntax, options);
    if (!p.re->ok()) {
      return Status::invalidConfig(where.str() + ": pattern '" + p.name + "': " + p.re->error());
    }
    std::string error;
    if (set->Add(re2_syntax, &error) < 0) {
      return Status::invalidConfig(where.str() + ": pattern '" + p.name + "': " + error);
    }
    auto groups = p.re->NamedCapturingGroups();
    if (auto it = groups.find("secret"); it != groups.end()) p.secret_group = it->second;
    p.replacement = std::move(replacement);
    p.validate = validate;
    patterns.push_back(std::move(p));
    return Status::ok();
  };
  for (const std::string& name : config.builtin) {
    const BuiltinPattern* b = findBuiltin(name);
    if (b == nullptr) {
      return Status::invalidConfig("unknown builtin pattern '" + name + "' (known: " + builtinNames() + ")");
    }
    Status s = addPattern(name, std::string(b->regexp), config.replacement, b->validate, ctx.element().where);
    if (!s) return s;
  }
  for (const config::Element* section : ctx.element().children("pattern")) {
    PatternConfig pc;
    Status s = ctx.bind(std::span<const Param<PatternConfig>>(kPatternParams), *section, pc);
    if (!s) return s;
    auto translated = translateRubyRegex(pc.regexp);
    if (!translated) return translated.status().withPrefix(section->where.str() + ": ");
    s = addPattern(pc.name, *translated, pc.replacement.value_or(config.replacement), nullptr, section->where);
    if (!s) return s;
  }
  if (!patterns.empty() && !set->Compile()) {
    return Status::invalidConfig("the redact patterns are too large to compile together");
  }
  std::vector<FieldPath> fields;
  for (const std::string& f : config.fields) {
    auto path = FieldPath::parse(f);
    if (!path) return path.takeStatus();
    fields.push_back(std::move(*path));
  }
  std::string hash_key;
  if (config.mode == RedactMode::Hash) {
    if (config.hash_key_file) {
      std::ifstream in(*config.hash_key_file, std::ios::binary);
      if (!in) return Status::invalidConfig("cannot read hash_key_file " + *config.hash_key_file);
      std::ostringstream ss;
      ss << in.rdbuf();
      hash_key = ss.str();
      while (!hash_key.empty() && (hash_key.back() == '\n' || hash_key.back() == '\r')) hash_key.pop_back();
    } else if (config.hash_key_env) {
      const char* v = std::getenv(config.hash_key_env->c_str());
      if (v == nullptr || !*v) return Status::invalidConfig("hash_key_env " + *config.hash_key_env + " is not set");
      hash_key = v;
    }
    if (hash_key.size() < 16) {
      return Status::invalidConfig("mode hash needs a key of at least 16 bytes (hash_key_file or hash_key_env)");
    }
  }
  uint32_t mask = 0;
  for (const std::string& name : config.builtin) mask |= findBuiltin(name)->bit;
  bool has_set = !patterns.empty();
  bool only_builtins = ctx.element().children("pattern").empty();
  auto filter = std::unique_ptr<RedactFilter>(new RedactFilter(config, std::move(patterns),
                                                               has_set ? std::move(set) : nullptr,
                                                               std::move(fields), std::move(hash_key), ctx));
  filter->builtin_mask_ = mask;
  filter->only_builtins_ = only_builtins;
  return filter;
}

RedactFilter::RedactFilter(const RedactConfig& config, std::vector<RedactPattern> patterns,
                           std::unique_ptr<RE2::Set> set, std::vector<FieldPath> fields, std::string hash_key,
                           PluginContext& ctx)
    : keys_([&] {
        std::vector<std::string> k;
        for (const std::string& key : config.keys) {
          std::string l;
          for (char c : key) l += lower(c);
          if (!l.empty()) k.push_back(l);
        }
        return k;
      }()),
      contains_(config.key_match == KeyMatch::Contains),
      mode_(config.mode),
      replacement_(config.replacement),
      patterns_(std::move(patterns)),
      set_(std::move(set)),
      fields_(std::move(fields)),
      max_scan_(config.max_scan_bytes.bytes),
      hash_key_(std::move(hash_key)) {
  for (size_t k = 0; k < keys_.size(); ++k) {
    keys_by_length_[std::min<size_t>(keys_[k].size(), 64)] |= 1ULL << std::min<size_t>(k, 63);
    key_filter_ |= keyFilterBit(keys_[k]);
  }
  for (const RedactPattern& p : patterns_) {
    pattern_counters_.push_back(&ctx.metrics().pluginCounter("redactions_total", "Secrets redacted.", {{"pattern", p.name}}));
  }
  for (const std::string& k : keys_) {
    key_counters_.push_back(&ctx.metrics().pluginCounter("redactions_total", "Secrets redacted.", {{"key", k}}));
  }
  template_checks_ = &ctx.metrics().pluginCounter(
      "template_checks_total", "Shared metadata (kubernetes_metadata's JSON templates) searched: once per template.");
}

// The text that replaces one secret: the replacement, or its keyed hash.
std::string_view RedactFilter::secretReplacement(std::string_view secret, std::string_view replacement,
                                                 Arena& arena) const {
  if (mode_ != Mode::Hash) return replacement;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), hash_key_.data(), static_cast<int>(hash_key_.size()),
       reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  char out[5 + 16];
  std::memcpy(out, "hmac:", 5);
  for (int i = 0; i < 8; ++i) {
    out[5 + 2 * i] = kHex[mac[i] >> 4];
    out[6 + 2 * i] = kHex[mac[i] & 15];
  }
  return arena.copy(std::string_view(out, sizeof(out)));
}

// Scans one string value; rewrites it when a pattern matches. Returns whether it changed.
bool RedactFilter::scanString(Value& v, Arena& arena, Counts& counts) const {
  std::string_view text = v.asString();
  std::string_view scanned = text.substr(0, std::min(text.size(), max_scan_));
  // The builtins' literal scan first (a fraction of the RE2 search's cost), then RE2::Set,
  // which allocates when asked which patterns matched: ask whether any did first (no
  // allocation), which is the answer for almost every value.
  if (only_builtins_ && !mayMatchBuiltins(scanned, builtin_mask_)) return false;
  const re2::StringPiece piece(scanned.data(), scanned.size());
  if (!set_->Match(piece, nullptr)) return false;
  counts.matched.clear();
  set_->Match(piece, &counts.matched);
  bool changed = false;
  std::string_view current = text;
  for (int index : counts.matched) {
    const RedactPattern& p = patterns_[static_cast<size_t>(index)];
    std::string& out = counts.scratch;
    out.clear();
    size_t pos = 0;
    re2::StringPiece match[8];
    int ngroups = std::min(p.secret_group + 1, 8);
    std::string_view limit = current.substr(0, std::min(current.size(), max_scan_));
    while (pos <= limit.size() &&
           p.re->Match(re2::StringPiece(limit.data(), limit.size()), pos, limit.size(), RE2::UNANCHORED, match, ngroups)) {
      std::string_view whole(match[0].data(), match[0].size());
      size_t start = static_cast<size_t>(whole.data() - limit.data());
      if (whole.empty()) {  // an empty match: step over one byte
        out.append(limit.substr(pos, start + 1 - pos));
        pos = start + 1;
        continue;
      }
      if (p.validate != nullptr && !p.validate(whole)) {
        out.append(limit.substr(pos, start + whole.size() - pos));
        pos = start + whole.size();
        continue;
      }
      std::string_view secret = whole;
      if (p.secret_group > 0 && match[p.secret_group].data() != nullptr) {
        secret = std::string_view(match[p.secret_group].data(), match[p.secret_group].size());
      }
      size_t secret_start = static_cast<size_t>(secret.data() - limit.data());
      out.append(limit.substr(pos, secret_start - pos));
      out.append(secretReplacement(secret, p.replacement, arena));
      out.append(limit.substr(secret_start + secret.size(), start + whole.size() - secret_start - secret.size()));
      pos = start + whole.size();
      ++counts.patterns[static_cast<size_t>(index)];
      changed = true;
    }
    if (out.empty() && pos == 0) continue;
    out.append(current.substr(std::min(pos, current.size())));
    current = arena.copy(out);
  }
  if (changed) v = Value::string(current);
  return changed;
}

// Redacts fields by name and appends every other string value to counts.joined (when
// patterns scan all strings), for the one-pass prefilter.
bool RedactFilter::leavesAlone(const Value& original) const {
  // The record path on a copy: field names, then the one-pass search and, when it finds
  // something, the search value by value (which may find the first was a false alarm).
  Arena arena;
  Value copy = original.copyStructure(arena);
  Counts c;
  c.patterns.assign(patterns_.size(), 0);
  c.keys.assign(keys_.size(), 0);
  walk(copy, arena, c);
  if (mayMatchJoined(c.joined)) scanAll(copy, arena, c);
  for (uint64_t k : c.keys) {
    if (k != 0) return false;
  }
  for (uint64_t p : c.patterns) {
    if (p != 0) return false;
  }
  return true;
}

bool RedactFilter::unchangedAndClean(const Value& v) const {
  const JsonTemplate* t = v.unchangedTemplate();
  if (t == nullptr) return false;
  // A copy of metadata shared by many records (kubernetes_metadata): checked once per
  // template and filter. This filter's verdicts live in its own small cache, keyed by the
  // template's id: `id << 1 | something-to-redact` (copies with something go the whole path).
  std::atomic<uint64_t>& slot = verdicts_[t->id % verdicts_.size()];
  uint64_t verdict = slot.load(std::memory_order_relaxed);
  if (verdict == t->id << 1) return true;
  if (verdict == (t->id << 1 | 1)) return false;
  bool alone = leavesAlone(*t->original);
  template_checks_->add(1);
  slot.store(t->id << 1 | (alone ? 0 : 1), std::memory_order_relaxed);
  return alone;
}

void RedactFilter::walk(Value& v, Arena& arena, Counts& counts) const {
  const bool collect = set_ && fields_.empty();
  if (unchangedAndClean(v)) return;
  if (v.isObject()) {
    auto members = v.members();
    for (size_t i = 0; i < members.size(); ++i) {
      Member& m = members[i];
      size_t hit = keys_.size();
      if (contains_) {
        for (size_t k = 0; k < keys_.size(); ++k) {
          if (icontains(m.key, keys_[k])) {
            hit = k;
            break;
          }
        }
      } else if (!m.key.empty() && (key_filter_ & keyFilterBit(m.key))) {
        // Exact mode: only the keys of the name's length are compared, and only for names
        // whose length and first and last letters are those of a key.
        for (uint64_t cand = keys_by_length_[std::min<size_t>(m.key.size(), 64)]; cand; cand &= cand - 1) {
          size_t first = static_cast<size_t>(__builtin_ctzll(cand));
          size_t last = first == 63 ? keys_.size() : first + 1;  // bit 63 stands for the rest
          for (size_t k = first; k < last; ++k) {
            if (iequals(m.key, keys_[k])) {
              hit = k;
              break;
            }
          }
          if (hit < keys_.size()) break;
        }
      }
      if (hit < keys_.size()) {
        ++counts.keys[hit];
        if (mode_ == Mode::Remove) {
          v.removeMember(m.key);
          members = v.members();
          --i;
          continue;
        }
        std::string_view secret;
        std::string json;
        if (m.value.isString()) {
          secret = m.value.asString();
        } else {
          json = toJson(m.value);
          secret = json;
        }
        m.value = Value::string(secretReplacement(secret, replacement_, arena));
        continue;
      }
      if (m.value.isString()) {
        if (collect) {
          counts.joined.append(m.value.asString());
          counts.joined += '\n';
        }
      } else if (m.value.isObject() || m.value.isArray()) {  // other scalars hold nothing to redact
        walk(m.value, arena, counts);
      }
    }
  } else if (v.isArray()) {
    for (Value& item : v.items()) {
      if (item.isString()) {
        if (collect) {
          counts.joined.append(item.asString());
          counts.joined += '\n';
        }
      } else if (item.isObject() || item.isArray()) {
        walk(item, arena, counts);
      }
    }
  }
}

// With builtins only, their literal scan of the record's joined strings decides alone: when it
// says "maybe", the values are scanned one by one, each by the literal scan first, so RE2 sees
// only the few values that may hold a secret (measured on issue 20's workload: RE2::Set over
// the joined text of each such record was ~5% of the redact benchmark, more than the values'
// own searches). A pattern of the user's has no literal scan: RE2::Set over the joined text.
bool RedactFilter::mayMatchJoined(const std::string& joined) const {
  if (!set_ || !fields_.empty()) return false;
  if (only_builtins_) return mayMatchBuiltins(joined, builtin_mask_);
  return set_->Match(re2::StringPiece(joined.data(), joined.size()), nullptr);
}

// Scans every string value for patterns (after process() found that something may match),
// except in unchanged copies of shared metadata found clean (measured on issue 20's workload
// with the builtins: searching the pod metadata's ~60 strings value by value in each record
// with a secret was ~10% of the pipeline's CPU).
void RedactFilter::scanAll(Value& v, Arena& arena, Counts& counts) const {
  if (v.isString()) {
    scanString(v, arena, counts);
  } else if (unchangedAndClean(v)) {
    return;
  } else if (v.isObject()) {
    for (Member& m : v.members()) scanAll(m.value, arena, counts);
  } else if (v.isArray()) {
    for (Value& item : v.items()) scanAll(item, arena, counts);
  }
}

void RedactFilter::process(Batch& batch) {
  // Per-thread scratch: reused across batches, so a warm filter allocates nothing per record.
  thread_local Counts counts;
  counts.patterns.assign(patterns_.size(), 0);
  counts.keys.assign(keys_.size(), 0);
  for (Event& e : batch.events()) {
    // Field names first, gathering the other strings; then one pass over all of a record's
    // strings: a literal prefilter (builtins only), then one RE2::Set search. A record without
    // any match (nearly all of them) costs one scan, not one per value. A match in the joined
    // text may be a false alarm (a private key spanning two values); scanning each value
    // then decides.
    counts.joined.clear();
    walk(e.record, batch.arena(), counts);
    if (mayMatchJoined(counts.joined)) scanAll(e.record, batch.arena(), counts);
    if (!fields_.empty() && set_) {
      for (const FieldPath& f : fields_) {
        Value* v = f.find(e.record);
        if (v != nullptr && v->isString()) scanString(*v, batch.arena(), counts);
      }
    }
  }
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (counts.patterns[i]) pattern_counters_[i]->add(counts.patterns[i]);
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (counts.keys[i]) key_counters_[i]->add(counts.keys[i]);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<RedactFilter>(
      PluginKind::Filter, "redact",
      "Redacts secrets by field name and by value pattern (RE2, one pass per value).", kParams,
      {{"pattern", "A value pattern of your own.", describeParams(std::span<const Param<PatternConfig>>(kPatternParams))}});
  return kDescriptor;
}

}  // namespace sluice::plugins::filter_redact
