// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/element.h"
#include "config/types.h"
#include "core/batch.h"
#include "core/status.h"
#include "monitor/log.h"
#include "monitor/metrics.h"

namespace sluice {

enum class PluginKind { Input, Parser, Filter, Output };
std::string_view pluginKindName(PluginKind kind);  // "input", "parser", "filter", "output"
std::string_view pluginKindShortName(PluginKind kind);  // "in", "parser", "filter", "out"

// ---- parameter tables ------------------------------------------------------------------------

enum class ParamType { String, Integer, Float, Size, Time, Bool, Enum, Array, Hash, Regexp };
std::string_view paramTypeName(ParamType type);

// Param flags.
inline constexpr uint32_t kRequired = 1u << 0;  // no default; must be set
inline constexpr uint32_t kSecret = 1u << 1;    // never logged or printed
inline constexpr uint32_t kIgnored = 1u << 2;   // accepted for Fluentd compatibility, no effect
inline constexpr uint32_t kRegexp = 1u << 3;    // a string holding a Ruby-dialect regexp

// One parameter of a plugin: name, the Config member it fills (its type decides how the value
// is parsed), the default written as a user would write it (nullptr: none — the member keeps
// its initial value, or the parameter is required with kRequired), and the description that
// `sluice --describe` and the README show. Enum choices are "a|b|c".
template <class C>
struct Param {
  using Member = std::variant<std::monostate, std::string C::*, std::optional<std::string> C::*,
                              int64_t C::*, double C::*, bool C::*, ByteSize C::*, Duration C::*,
                              StringList C::*, StringMap C::*>;
  std::string_view name;
  Member member;
  const char* default_value;
  std::string_view description;
  std::string_view choices = {};
  uint32_t flags = 0;
  std::string_view alias = {};

  ParamType type() const {
    if (!choices.empty()) return ParamType::Enum;
    if (flags & kRegexp) return ParamType::Regexp;
    switch (member.index()) {
      case 3: return ParamType::Integer;
      case 4: return ParamType::Float;
      case 5: return ParamType::Bool;
      case 6: return ParamType::Size;
      case 7: return ParamType::Time;
      case 8: return ParamType::Array;
      case 9: return ParamType::Hash;
      default: return ParamType::String;
    }
  }
};

// A parameter with its Config type erased: what --describe, the README and validation need.
struct ParamInfo {
  std::string_view name;
  ParamType type;
  const char* default_value;
  std::string_view description;
  std::string_view choices;
  uint32_t flags;
  std::string_view alias;
};

template <class C, size_t N, size_t M>
constexpr std::array<Param<C>, N + M> concatParams(const std::array<Param<C>, N>& a,
                                                   const std::array<Param<C>, M>& b) {
  std::array<Param<C>, N + M> out{};
  for (size_t i = 0; i < N; ++i) out[i] = a[i];
  for (size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

template <class C>
std::vector<ParamInfo> describeParams(std::span<const Param<C>> params) {
  std::vector<ParamInfo> out;
  for (const Param<C>& p : params) {
    out.push_back(ParamInfo{p.name, p.type(), p.default_value, p.description, p.choices, p.flags,
                            p.alias});
  }
  return out;
}

// Converts `text` for one typed member. Exposed for the bind code and conformance tests.
template <class C>
Status assignParam(const Param<C>& p, C& out, std::string_view text);

// ---- runtime interfaces ------------------------------------------------------------------------

// Where batches go: the router's entry points, label agents and outputs. emit() returns once
// the batch is accepted (formatted into an output's buffer or written); the caller may then
// reuse the batch. An error means the batch was not accepted.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual Status emit(Batch& batch) = 0;
};

// Lets a thread wait interruptibly and learn that it should stop. Thread-safe.
class StopToken {
 public:
  StopToken();
  ~StopToken();
  StopToken(const StopToken&) = delete;
  StopToken& operator=(const StopToken&) = delete;

  void requestStop();
  bool stopRequested() const;
  // A descriptor that becomes readable on stop (for poll()).
  int fd() const { return fd_; }
  // Sleeps up to `seconds`; returns false if woken by a stop request.
  bool sleepFor(double seconds) const;

 private:
  int fd_;
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Called in start order (outputs, filters, inputs) before any data flows.
  virtual Status start() { return Status::ok(); }
  // Called in stop order (inputs, filters, outputs) after data stopped flowing in.
  virtual void stop() {}
  // Called by `--dry-run` on the main thread: checks that the state the plugin keeps (a
  // pos_file's folder, ...) can be written, as start() would; start() must fail the same way.
  virtual Status checkState() { return Status::ok(); }
};
using PluginPtr = std::unique_ptr<Plugin>;

// Reads events and emits batches. run() is called on a thread of its own and returns when
// `stop` is requested or the input is exhausted (stdin at EOF).
class Input : public Plugin {
 public:
  virtual Status run(EventSink& out, const StopToken& stop) = 0;
};
using InputPtr = std::unique_ptr<Input>;

// The result of parsing one line. `error` is a static string when the line was rejected;
// `held` means the line was taken into the parser's state (a partial CRI line, a Docker
// fragment, a multi-line continuation) and gave no record yet.
struct ParsedRecord {
  Value record;
  int64_t time_ns = 0;
  bool has_time = false;
  bool held = false;
  std::string_view error;
  bool ok() const { return error.empty() && !held; }
};

// What a joining parser keeps between batches of one stream (a tailed file). Owned by the
// caller, one per stream; never shared between threads.
class ParserState {
 public:
  virtual ~ParserState() = default;
  // Sequence number (see LineBatch::first_seq) of the first line the state holds, if any:
  // a reader must not record its position past that line.
  std::optional<uint64_t> held_from;
  // When the oldest held line arrived, for flush intervals.
  int64_t held_since_ns = 0;
};
using ParserStatePtr = std::unique_ptr<ParserState>;

// A batch of lines for a parser. Lines are views valid for the duration of parse().
struct LineBatch {
  std::span<const std::string_view> lines;
  // Every line may be read kJsonPadding bytes past its end (lines in a read buffer).
  bool padded = false;
  // The stream's joining state, or nullptr for line-at-a-time parsing (a filter's field).
  ParserState* state = nullptr;
  // Sequence number of lines[0] within its stream.
  uint64_t first_seq = 0;
};

// Turns raw text into records, a batch of lines at a time. Immutable after create(); parse()
// runs concurrently on several threads (each with its own states). Strings in the results
// point into the lines or `arena`. REQUIRES: out.size() >= in.lines.size().
class Parser : public Plugin {
 public:
  virtual void parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const = 0;
  // A new joining state for one stream, or nullptr for parsers that do not join lines.
  virtual ParserStatePtr newState() const { return nullptr; }
  // Emits what `state` holds as a record (flush interval, end of a rotated file). Returns
  // false when nothing was held.
  virtual bool flush(ParserState& state, Arena& arena, ParsedRecord& out) const {
    (void)state; (void)arena; (void)out;
    return false;
  }
};
using ParserPtr = std::unique_ptr<Parser>;

// Transforms a batch in place: may change records, drop events (Batch::eraseIf), or hand
// events to @ERROR (Batch::emitError). Immutable after create(); runs concurrently.
class Filter : public Plugin {
 public:
  virtual void process(Batch& batch) = 0;
};
using FilterPtr = std::unique_ptr<Filter>;

// What Output::write reports; the engine (the buffer) owns retries and accounting.
// Partial: `retry_events` are written again in a new chunk, `failed_events` go to <secondary>
// or the dead letters with their reason; the other events were delivered.
struct WriteResult {
  enum class Kind { Ok, Retry, Fail, Partial };
  Kind kind = Kind::Ok;
  std::string reason;
  std::vector<size_t> retry_events;
  std::vector<std::pair<size_t, std::string>> failed_events;
  int64_t retry_after_ns = 0;  // a server's Retry-After, if it gave one
  static WriteResult ok() { return {}; }
  static WriteResult retry(std::string r) { return {Kind::Retry, std::move(r), {}, {}, 0}; }
  static WriteResult fail(std::string r) { return {Kind::Fail, std::move(r), {}, {}, 0}; }
};

// What chunks are keyed by (<buffer tag, time, $.a.b>): events of one key share a chunk.
struct ChunkKey {
  std::string tag;
  int64_t time_slice = 0;  // start of the timekey slice, seconds
  std::vector<std::pair<std::string, std::string>> vars;  // record fields named as chunk keys
  bool operator==(const ChunkKey&) const = default;
};

// Events formatted by an output: their bytes back to back, and where each one ends.
struct FormattedEvents {
  std::string bytes;
  std::vector<uint32_t> ends;
  void endEvent() { ends.push_back(static_cast<uint32_t>(bytes.size())); }
  void clear() {
    bytes.clear();
    ends.clear();
  }
};

// A sealed chunk as an output writes it: the formatted events and their key.
struct ChunkView {
  ChunkView(std::string_view b = {}) : bytes(b) {}  // NOLINT: a whole payload (tests, replay)
  ChunkView(std::string_view b, std::span<const uint32_t> e, const ChunkKey* k) : bytes(b), ends(e), key(k) {}
  std::string_view bytes;
  std::span<const uint32_t> ends;
  const ChunkKey* key = nullptr;
  size_t events() const { return ends.size(); }
  std::string_view event(size_t i) const {
    uint32_t start = i == 0 ? 0 : ends[i - 1];
    return bytes.substr(start, ends[i] - start);
  }
};

// Fluentd's output split: format() serialises events into the output's wire format (on the
// input's thread, a batch at a time, one event after another); write() sends a chunk of
// formatted events (on a flush thread when buffered). Outputs that route rather than send
// (copy, relabel, null) return themselves from asSink() instead.
class Output : public Plugin {
 public:
  virtual void format(const Batch& batch, FormattedEvents& out) { (void)batch; (void)out; }
  virtual WriteResult write(const ChunkView& chunk) { (void)chunk; return WriteResult::ok(); }
  virtual EventSink* asSink() { return nullptr; }
};
using OutputPtr = std::unique_ptr<Output>;

// ---- context and descriptors -----------------------------------------------------------------

// What the engine gives a plugin at create(): its section, identity, logger, metrics and the
// factories for nested plugins. Only used during create() and start(); plugins keep the
// logger and metric references, which live as long as the engine.
class PluginContext {
 public:
  virtual ~PluginContext() = default;

  virtual const config::Element& element() const = 0;
  virtual const std::string& id() const = 0;
  virtual const SourceLogger& log() const = 0;
  virtual PluginMetrics& metrics() = 0;
  virtual const std::string& hostname() const = 0;

  // Builds the parser of a <parse> section.
  virtual Result<ParserPtr> createParser(const config::Element& section) = 0;
  // Builds an output (wrapped for delivery) from a <store> section: for copy.
  virtual Result<EventSink*> createStore(const config::Element& section) = 0;
  // The entry point of <label NAME>: for relabel. Resolved after the whole config is read.
  virtual Result<EventSink*> labelSink(std::string_view name) = 0;

  // Fills `out` from `section` using `params`; unknown keys are reported later by the engine.
  template <class C>
  Status bind(std::span<const Param<C>> params, const config::Element& section, C& out);
};

struct SectionInfo {
  std::string_view name;
  std::string_view description;
  std::vector<ParamInfo> params;
};

// Everything the engine knows about a plugin type. The core names no plugin: the generated
// plugin list hands these to the registry.
struct PluginDescriptor {
  PluginKind kind;
  std::string_view name;
  std::string_view description;
  std::vector<ParamInfo> params;
  std::vector<SectionInfo> sections;
  std::function<Result<PluginPtr>(PluginContext&)> create;
  std::vector<std::string_view> aliases = {};  // other @type names (Fluentd's dummy = sample)
};

std::span<const PluginDescriptor* const> builtinPlugins();

// Builds a descriptor for plugin class P with config C. P must provide
// `static Result<std::unique_ptr<P>> create(const C&, PluginContext&)`.
template <class P, class C, size_t N>
PluginDescriptor makeDescriptor(PluginKind kind, std::string_view name,
                                std::string_view description,
                                const std::array<Param<C>, N>& params,
                                std::vector<SectionInfo> sections = {}) {
  PluginDescriptor d;
  d.kind = kind;
  d.name = name;
  d.description = description;
  d.params = describeParams(std::span<const Param<C>>(params));
  d.sections = std::move(sections);
  const std::array<Param<C>, N>* table = &params;
  d.create = [table](PluginContext& ctx) -> Result<PluginPtr> {
    C config{};
    Status s = ctx.bind(std::span<const Param<C>>(*table), ctx.element(), config);
    if (!s) return s;
    auto plugin = P::create(config, ctx);
    if (!plugin) return plugin.takeStatus();
    return PluginPtr(std::move(*plugin));
  };
  return d;
}

}  // namespace sluice

#include "config/bind.h"
