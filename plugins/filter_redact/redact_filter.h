// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <array>
#include <atomic>
#include <memory>

#include "core/plugin_api.h"

namespace sluice::plugins::filter_redact {

// key_match and mode, bound at config time (enumMember).
enum class KeyMatch { Exact, Contains };
inline constexpr Choice<KeyMatch> kKeyMatches[] = {{"exact", KeyMatch::Exact}, {"contains", KeyMatch::Contains}};
enum class RedactMode { Replace, Hash, Remove };
inline constexpr Choice<RedactMode> kRedactModes[] = {
    {"replace", RedactMode::Replace}, {"hash", RedactMode::Hash}, {"remove", RedactMode::Remove}};

struct RedactConfig {
  StringList keys;
  KeyMatch key_match = KeyMatch::Exact;
  StringList builtin;
  std::string replacement;
  RedactMode mode = RedactMode::Replace;
  std::optional<std::string> hash_key_file;
  std::optional<std::string> hash_key_env;
  StringList fields;
  ByteSize max_scan_bytes;
};

struct PatternConfig {
  std::string name;
  std::string regexp;
  std::optional<std::string> replacement;
};

// A value pattern: what it matches, what replaces a match, and an optional check of the
// matched text (the Luhn sum for card numbers). With a capture group named `secret`, only
// that part of the match is replaced ("Bearer <secret>" keeps "Bearer ").
struct RedactPattern {
  std::string name;
  std::unique_ptr<RE2> re;
  std::string replacement;
  bool (*validate)(std::string_view match) = nullptr;
  int secret_group = 0;  // 0: the whole match
};

// Removes secrets from records before they leave the node: fields whose name is in `keys`
// (at any depth, case-insensitively) and, in every string value (or those of `fields`),
// whatever a pattern matches. All patterns are searched in one RE2::Set pass per value; only
// the ones that matched then rewrite it. Linear time on any input. Immutable; thread-safe.
class RedactFilter final : public Filter {
 public:
  static Result<std::unique_ptr<RedactFilter>> create(const RedactConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;
  bool redactsTaps() const override { return true; }

 private:
  using Mode = RedactMode;
  struct Counts;

  RedactFilter(const RedactConfig& config, std::vector<RedactPattern> patterns, std::unique_ptr<RE2::Set> set,
               std::vector<FieldPath> fields, std::string hash_key, PluginContext& ctx);
  void walk(Value& v, Arena& arena, Counts& counts) const;
  // Whether `v` is an unchanged copy of shared metadata (JsonTemplate) in which this filter
  // finds nothing; decided once per template.
  bool unchangedAndClean(const Value& v) const;
  // Whether this filter would leave `original` as it is (no key, no pattern hit).
  bool leavesAlone(const Value& original) const;
  // Whether a record whose strings joined are `joined` needs its values scanned one by one.
  bool mayMatchJoined(const std::string& joined) const;
  void scanAll(Value& v, Arena& arena, Counts& counts) const;
  bool scanString(Value& v, Arena& arena, Counts& counts) const;
  std::string_view secretReplacement(std::string_view secret, std::string_view replacement, Arena& arena) const;

  const std::vector<std::string> keys_;  // lower case
  std::array<uint64_t, 65> keys_by_length_{};  // exact mode: bit k set when keys_[k] has that
                                               // length (64: longer); keys beyond 64 use the last bit
  uint64_t key_filter_ = 0;  // exact mode: keyFilterBit() of every key (a name whose bit is
                             // unset is none of them)
  const bool contains_;
  const Mode mode_;
  const std::string replacement_;
  const std::vector<RedactPattern> patterns_;
  const std::unique_ptr<RE2::Set> set_;
  const std::vector<FieldPath> fields_;
  uint32_t builtin_mask_ = 0;       // prefilter bits of the enabled builtins
  bool only_builtins_ = true;       // no <pattern> of the user's (those have no prefilter)
  const size_t max_scan_;
  const std::string hash_key_;
  std::vector<Counter*> pattern_counters_;
  std::vector<Counter*> key_counters_;
  Counter* template_checks_ = nullptr;
  // Verdicts on shared metadata (JsonTemplate), by template id; lock-free, any input thread.
  mutable std::array<std::atomic<uint64_t>, 256> verdicts_{};
};

// The built-in pattern sets by name (email, credit_card, jwt, bearer_token, aws_access_key,
// private_key, ipv4, url_credentials); nullptr for an unknown name.
struct BuiltinPattern {
  std::string_view name;
  std::string_view regexp;  // RE2 syntax
  bool (*validate)(std::string_view match);
  uint32_t bit;             // its bit in mayMatchBuiltins()
};
// A one-pass literal prefilter for the builtins enabled in `mask`: false means no enabled
// builtin can match `text` (never a false "no"); true means the regexps must decide.
bool mayMatchBuiltins(std::string_view text, uint32_t mask);
const BuiltinPattern* findBuiltin(std::string_view name);
std::string builtinNames();
bool luhnValid(std::string_view text);

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_redact
