// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/plugin_api.h"
#include "net/http_client.h"
#include "net/net_options.h"

namespace sluice::plugins::out_loki {

// The enums of the table (Fluentd's spellings), bound at config time (enumMember).
enum class LineFormat { KeyValue, Json };
inline constexpr Choice<LineFormat> kLineFormats[] = {{"json", LineFormat::Json}, {"key_value", LineFormat::KeyValue}};
enum class Encoding { Protobuf, Json };
inline constexpr Choice<Encoding> kEncodings[] = {{"protobuf", Encoding::Protobuf}, {"json", Encoding::Json}};
enum class BodyCompression { None, Gzip };
inline constexpr Choice<BodyCompression> kBodyCompressions[] = {{"none", BodyCompression::None}, {"gzip", BodyCompression::Gzip}};

// The TLS options come from the shared group (net/net_options.h), spelled as Fluentd's loki
// plugin does: ca_cert, cert, key; its insecure_tls (the inverse of tls_verify) stays its own.
struct LokiConfig : net::TlsConfig {
  std::string url;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> bearer_token_file;
  std::optional<std::string> tenant;
  StringMap extra_labels;
  StringList remove_keys;
  LineFormat line_format = LineFormat::KeyValue;
  bool extract_kubernetes_labels = false;
  bool drop_single_key = false;
  bool insecure_tls = false;
  StringMap custom_headers;
  Encoding encoding = Encoding::Protobuf;
  BodyCompression compress = BodyCompression::None;
  int64_t max_label_values = 0;
  int64_t max_label_names = 0;
  ByteSize max_request_size;
  int64_t max_request_entries = 0;
  Duration request_timeout;
};

// One event as format() writes it into a chunk, and write() reads it back:
// `<time ns> <labels> <structured metadata> <line>`. The labels are Loki's label-set text
// ({a="1", b="2"}, sorted by name): the protobuf push carries that text as it is, and Loki's
// refusals name streams by it. The structured metadata is `{}` when there is none, else its
// pairs with their values' lengths, `[name=LEN:value name=LEN:value]`, so that write() takes
// name and value as views of the chunk without unescaping (chunks written before held label
// text there, which is still read). Readable in the dead letters.
struct LokiEntry {
  int64_t time_ns = 0;
  std::string_view labels;
  std::string_view metadata;
  std::string_view line;
};
// Splits a formatted event; false when it is not one.
bool parseEntry(std::string_view event, LokiEntry& out);
// The name/value pairs of an entry's structured metadata (LokiEntry::metadata), as views of it;
// those of a chunk written before the length-prefixed form are parsed into `owned` and viewed
// there. False when it is neither form.
bool metadataPairs(std::string_view metadata, std::vector<std::pair<std::string_view, std::string_view>>& out,
                   std::vector<std::pair<std::string, std::string>>& owned);

// What a Loki 400 body says was refused, one claim per message: the stream's label text as Loki
// prints it, and which of its entries (all of them; the one with a timestamp; `count` entries
// with a line length). Reads every form the push path writes (see parseRefusals in the .cc).
struct LokiRefusal {
  enum class Kind { Stream, Time, Length };
  Kind kind = Kind::Stream;
  std::string labels;
  int64_t time_ns = 0;
  size_t length = 0;
  size_t count = 1;
  std::string message;
};
std::vector<LokiRefusal> parseRefusals(std::string_view body);

// Sends events to Loki's push API: streams grouped by label set, entries sorted by time within
// each stream, as snappy-compressed protobuf (Loki's native encoding) or JSON (optionally
// gzip), in pushes of at most max_request_size bytes and max_request_entries entries (a push
// over Loki's ingestion burst is refused with 429 however often it is retried). 429/5xx retry;
// entries a 400 names (too far behind, too old, too long, too many labels, ...) go to
// <secondary> or the dead letters with Loki's message, and the entries it does not name are
// pushed again (Loki drops exact duplicates), since Loki's answer may name only some of them.
// Threading: format() on the inputs' threads, one batch at a time (format_mu_ guards its scratch
// space and the label guard); write() on the buffer's flush threads, several at once, each taking
// an HTTP client from clients_.
class LokiOutput final : public Output {
 public:
  static Result<std::unique_ptr<LokiOutput>> create(const LokiConfig& config, PluginContext& ctx);
  ~LokiOutput() override;

  void format(const Batch& batch, FormattedEvents& out) override;
  WriteResult write(const ChunkView& chunk) override;

 private:
  struct Source {  // a <label> or <structured_metadata> entry: name and record field
    std::string name;
    FieldPath path;
  };
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  template <class V>
  using StringMapOf = std::unordered_map<std::string, V, TransparentHash, std::equal_to<>>;
  struct Guard {  // distinct values seen per label name
    std::unordered_set<std::string, TransparentHash, std::equal_to<>> values;
    bool dropped = false;
  };
  struct Pair {  // spans of scratch_
    uint32_t name_off, name_len, value_off, value_len;
    bool operator==(const Pair&) const = default;
  };

  LokiOutput(const LokiConfig& config, PluginContext& ctx);
  // One event into `events` (the line's pod metadata as a splice where it takes them).
  void formatOne(const Event& event, FormattedEvents& events);
  // Writes the label set of pairs_ (guards, first of a name, max_label_names, sorted) to `out`;
  // returns the labels dropped past max_label_names. REQUIRES: format_mu_
  size_t labelSetText(std::string& out);
  bool admitLabel(std::string_view name, std::string_view value);  // REQUIRES: format_mu_
  void appendLine(const Value& record, FormattedEvents& events);
  std::string authHeader();

  const LokiConfig cfg_;
  const SourceLogger log_;
  std::vector<Source> labels_;
  std::vector<Source> metadata_;
  std::vector<std::string> removed_top_keys_;  // remove_keys and top-level label/metadata fields
  std::vector<std::pair<std::string, std::string>> extra_labels_;
  bool dynamic_tenant_ = false;
  std::string push_url_;

  std::mutex format_mu_;
  StringMapOf<Guard> guards_;  // guarded by format_mu_
  std::string scratch_;        // label names and values of one event, guarded by format_mu_
  std::string sanitized_;      // guarded by format_mu_
  std::vector<Pair> pairs_;    // guarded by format_mu_
  // The label set of the last event formatted (its pairs as gathered, before the guards, and
  // the text written): the events of a batch come from one stream mostly, so the next one's
  // pairs are compared with these and the text is copied (measured: the guard's look-ups,
  // sort and escaping were ~5% of the Loki pipeline). Guarded by format_mu_; stale once a
  // label is dropped (guard_drops_ moves on).
  std::string last_scratch_;
  std::vector<Pair> last_pairs_;
  std::string last_text_;
  size_t last_over_ = 0;
  uint64_t last_drops_ = UINT64_MAX;
  uint64_t guard_drops_ = 0;  // labels dropped by the guard so far, guarded by format_mu_

  net::HttpClientPool clients_;

  std::unique_ptr<net::TokenFile> token_file_;

  Counter* requests_;
  Counter* entries_sent_;
  Counter* labels_dropped_;
  Counter* label_names_dropped_;
  std::atomic<bool> label_names_warned_{false};
  std::vector<uint32_t> kept_;  // indexes into pairs_ within max_label_names, guarded by format_mu_
  std::vector<char> admitted_;  // per pair of pairs_: the guard let it pass, guarded by format_mu_
  Counter* resent_;
  PluginMetrics metrics_;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::out_loki
