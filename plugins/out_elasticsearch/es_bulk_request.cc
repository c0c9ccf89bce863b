// SPDX-License-Identifier: Apache-2.0
// The Elasticsearch output's write() (on the buffer's flush threads, several at once, each with
// its own Request): one chunk's trip to the cluster as _bulk requests of at most the threshold,
// and the sorting of the answers into one WriteResult — whole-request answers (413 and 400 split
// the request, 429/5xx/transport errors resend or retry, a 400 naming _type re-learns the
// version), per-item verdicts (bulk_answer.h), dotted-key repairs, host failover.
#include "plugins/out_elasticsearch/es_output.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <span>
#include <thread>
#include <unordered_map>

#include "codec/codec.h"
#include "plugins/out_elasticsearch/bulk_answer.h"
#include "plugins/out_elasticsearch/es_internal.h"
#include "plugins/out_elasticsearch/es_nodes.h"

namespace sluice::plugins::out_elasticsearch {

void appendWithoutType(std::string_view event, std::string& out) {
  constexpr std::string_view kType = "\"_type\":\"";
  const std::string_view action = event.substr(0, event.find('\n'));
  const size_t at = action.find(kType);
  const size_t close = at == std::string_view::npos ? at : action.find('"', at + kType.size());
  if (close == std::string_view::npos) {
    out.append(event);
    return;
  }
  size_t from = at, to = close + 1;
  if (from > 0 && action[from - 1] == ',') {
    --from;  // ,"_type":"x"
  } else if (to < action.size() && action[to] == ',') {
    ++to;  // "_type":"x",
  }
  out.append(event.substr(0, from));
  out.append(event.substr(to));
}

namespace {

// What becomes of each event of a write. Pending: to send; Again: rejected for now (429, 5xx),
// sent again in this write; Repaired: a mapping conflict, sent again with its keys de-dotted;
// Retry: back to the buffer.
enum class Fate : uint8_t { Pending, Done, Failed, Again, Repaired, Retry };

using Ids = std::span<const uint32_t>;

}  // namespace

struct EsOutput::WriteScratch {
  net::HttpResponse resp;      // a non-200 answer's body
  BulkAnswerStream stream;     // a 200 answer
  BulkAnswerReader answer;
  std::vector<BulkItem> verdicts;
  simdjson::dom::parser dom;         // idFits()
  simdjson::dom::parser repair_dom;  // repair(): items() holds answer's views meanwhile
  std::vector<Fate> fate;
  std::vector<uint32_t> pending;

  // After a write: parsers and item vectors far larger than recent answers needed (a rare huge
  // answer with errors) are let go.
  void trim() {
    const size_t high = stream.keptHighWater();
    answer.trim(high);
    if (verdicts.capacity() * sizeof(BulkItem) > 2 * high + (256 << 10)) std::vector<BulkItem>().swap(verdicts);
  }
};

void EsOutput::WriteScratchDelete::operator()(WriteScratch* scratch) const { delete scratch; }

EsOutput::WriteScratchPtr EsOutput::takeScratch() {
  {
    std::lock_guard lock(scratch_mu_);
    if (!scratch_.empty()) {
      WriteScratchPtr s = std::move(scratch_.back());
      scratch_.pop_back();
      return s;
    }
  }
  return WriteScratchPtr(new WriteScratch);
}

void EsOutput::giveScratch(WriteScratchPtr scratch) {
  scratch->trim();
  std::lock_guard lock(scratch_mu_);
  scratch_.push_back(std::move(scratch));
}

// One chunk's trip to the cluster. Events go in requests of at most the threshold; a request
// refused as a whole is split (413: too large; 400: one bad document sinks the request, so the
// halves are sent apart until the culprit is alone); items rejected for a while (429, 5xx) are
// sent again together after a short pause, a few times, before the rest goes back to the
// buffer; items refused for a mapping conflict from dotted keys are sent again with the dots in
// their keys replaced. Each event's outcome ends up in a WriteResult.
class EsOutput::Request {
 public:
  Request(EsOutput& out, const ChunkView& chunk, WriteScratch& scratch)
      : out_(out),
        chunk_(chunk),
        resp_(scratch.resp),
        stream_(scratch.stream),
        answer_(scratch.answer),
        verdicts_(scratch.verdicts),
        dom_(scratch.dom),
        repair_dom_(scratch.repair_dom),
        fate_(scratch.fate),
        pending_(scratch.pending) {}

  WriteResult run() {
    std::string path = "/_bulk";
    if (out_.dynamic_index_) {
      static const ChunkKey kNoKey;
      const std::string index =
          lower(expandPlaceholders(out_.cfg_.index_name, chunk_.key ? *chunk_.key : kNoKey, out_.cfg_.utc_index));
      // Elasticsearch would refuse the name (every item, invalid_index_name_exception); "." and
      // ".." would not even reach it as a name (the client resolves them away in the URL path).
      // Nothing is sent: the events fail for good, with ES's reason.
      if (std::string why = invalidIndexName(index); !why.empty()) {
        std::string reason = "index name '" + printable(index) + "' (index_name " + out_.cfg_.index_name +
                             ") refused: Elasticsearch does not accept it: " + why;
        out_.log_.error(reason + "; the chunk's events go to <secondary> or the dead letters");
        return WriteResult::fail(std::move(reason));
      }
      path = "/" + net::percentEncode(index) + "/_bulk";
    }
    if (out_.cfg_.pipeline) path += "?pipeline=" + net::percentEncode(*out_.cfg_.pipeline);
    path_ = std::move(path);
    client_ = out_.clients_.take();
    const size_t n = chunk_.events();
    fate_.assign(n, Fate::Pending);
    bisect_budget_ = 16;
    for (size_t k = n; k > 1; k /= 2) bisect_budget_ += 4;
    std::vector<uint32_t>& pending = pending_;
    pending.clear();
    for (size_t i = 0; i < n; ++i) {
      if (out_.cfg_.id_key && !idFits(i)) continue;
      pending.push_back(static_cast<uint32_t>(i));
    }
    int quick = 0, paused = 0;  // resend rounds of each kind so far
    for (int round = 0; !pending.empty(); ++round) {
      fresh_ = round == 0;
      round_sent_ = round_rejected_ = 0;
      round_failed_whole_ = false;
      // Requests of at most the threshold, in chunk order.
      size_t start = 0;
      uint64_t bytes = 0;
      for (size_t k = 0; k <= pending.size(); ++k) {
        const uint64_t size = k < pending.size() ? eventSize(pending[k]) : 0;
        if (k == pending.size() || (k > start && out_.threshold_ > 0 && bytes + size > static_cast<uint64_t>(out_.threshold_))) {
          const Ids group = Ids(pending).subspan(start, k - start);
          if (stopped_) {
            for (uint32_t i : group) fate_[i] = Fate::Retry;
          } else {
            send(group);
          }
          start = k;
          bytes = 0;
        }
        bytes += size;
      }
      pending.clear();
      // What this round's answers say: the cluster took most of it (a few items rejected here
      // and there, one busy shard) and the rejected go again at once; or it looks overloaded
      // (a request failed whole, or a third or more of the items were rejected) and they go
      // again after a pause.
      const bool rejected = std::find(fate_.begin(), fate_.end(), Fate::Again) != fate_.end();
      const bool overloaded = round_failed_whole_ || round_rejected_ * 3 >= round_sent_;
      const bool again = rejected && (overloaded ? paused < kPausedRounds : quick < kQuickRounds);
      for (size_t i = 0; i < n; ++i) {
        if (fate_[i] != Fate::Again && fate_[i] != Fate::Repaired) continue;
        if (stopped_ || (fate_[i] == Fate::Again && !again)) {
          fate_[i] = Fate::Retry;
        } else {
          fate_[i] = Fate::Pending;
          pending.push_back(static_cast<uint32_t>(i));
        }
      }
      if (!pending.empty() && rejected) {
        out_.item_resends_->add(1);
        if (overloaded) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10 << paused++));
        } else {
          ++quick;
        }
      }
    }
    // A failed connection is not kept: the next request makes a new one.
    if (!reset_ && !(out_.cfg_.reconnect_on_error && anyRetry())) out_.clients_.give(std::move(client_));

    WriteResult result;
    for (size_t i = 0; i < n; ++i) {
      if (fate_[i] == Fate::Retry) result.retry_events.push_back(i);
    }
    // In event order, each event once (its last reason).
    std::stable_sort(reasons_.begin(), reasons_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (size_t k = 0; k < reasons_.size(); ++k) {
      if (k + 1 < reasons_.size() && reasons_[k + 1].first == reasons_[k].first) continue;
      result.failed_events.emplace_back(reasons_[k].first, std::move(reasons_[k].second));
    }
    if (result.retry_events.size() == n) {
      WriteResult r = WriteResult::retry(reason_);
      r.retry_after_ns = retry_after_.ns();
      return r;
    }
    if (result.retry_events.empty() && result.failed_events.empty()) return WriteResult::ok();
    result.kind = WriteResult::Kind::Partial;
    result.reason = reason_.empty() && !result.failed_events.empty() ? result.failed_events.front().second : reason_;
    result.retry_after_ns = retry_after_.ns();
    return result;
  }

  bool throttled() const { return throttled_; }

 private:
  // Resends of rejected items within one write: after rounds where the cluster took most of the
  // request, at once (each such round sends under a third of the one before, so no storm of
  // tiny requests); after rounds that look like overload, with pauses of 10, 20, 40 ms.
  static constexpr int kQuickRounds = 5;
  static constexpr int kPausedRounds = 3;

  bool anyRetry() const { return std::find(fate_.begin(), fate_.end(), Fate::Retry) != fate_.end(); }

  std::string_view event(size_t i) const {
    if (auto it = repaired_.find(i); it != repaired_.end()) return it->second;
    return chunk_.event(i);
  }
  uint64_t eventSize(size_t i) const { return event(i).size(); }

  void fail(size_t i, std::string why) {
    fate_[i] = Fate::Failed;
    reasons_.emplace_back(i, std::move(why));
  }

  // Elasticsearch refuses a whole bulk request when one _id is over 512 bytes
  // (action_request_validation_exception, IndexRequest.validate): such an event fails alone.
  bool idFits(size_t i) {
    std::string_view e = chunk_.event(i);
    std::string_view action = e.substr(0, e.find('\n'));
    simdjson::dom::object doc;
    std::string_view id;
    if (dom_.parse(action.data(), action.size()).get_object().get(doc) != simdjson::SUCCESS) return true;
    for (auto field : doc) {
      if (field.value["_id"].get_string().get(id) == simdjson::SUCCESS && id.size() > 512) {
        fail(i, "_id is " + std::to_string(id.size()) + " bytes, Elasticsearch takes at most 512 (id_key " +
                    *out_.cfg_.id_key + ")");
        return false;
      }
    }
    return true;
  }

  // The body of a request for `ids`: a view of the chunk when they are contiguous and sent as
  // formatted, else a copy (with _type taken out once the cluster refused it).
  std::string_view body(Ids ids, std::string& owned) {
    const bool strip = out_.drop_type_.load(std::memory_order_relaxed);
    bool contiguous = !strip;
    for (size_t k = 0; contiguous && k < ids.size(); ++k) {
      contiguous = repaired_.count(ids[k]) == 0 && (k == 0 || ids[k] == ids[k - 1] + 1);
    }
    if (contiguous) {
      const size_t from = ids.front() == 0 ? 0 : chunk_.ends[ids.front() - 1];
      return chunk_.bytes.substr(from, chunk_.ends[ids.back()] - from);
    }
    owned.clear();
    for (uint32_t i : ids) {
      if (strip) {
        appendWithoutType(event(i), owned);
      } else {
        owned.append(event(i));
      }
    }
    return owned;
  }

  // The whole request failed in a way that often passes (5xx without Retry-After, a reset
  // connection): its events are sent again within this write, like rejected items.
  void againAll(Ids ids, std::string reason) {
    for (uint32_t i : ids) fate_[i] = Fate::Again;
    reason_ = std::move(reason);
    round_failed_whole_ = true;
  }

  void retryAll(Ids ids, std::string reason, int64_t retry_after_ns = -1) {
    for (uint32_t i : ids) fate_[i] = Fate::Retry;
    reason_ = std::move(reason);
    retry_after_.note(retry_after_ns);
    stopped_ = true;  // the rest of the chunk waits for the retry too
  }

  // Sends `ids` in one request (split on 413 and on a whole-request 400).
  void send(Ids ids) {
    std::string owned;
    std::string_view raw = body(ids, owned);
    std::string compressed;
    net::HttpRequest req;
    req.method = "POST";
    req.headers.push_back("Content-Type: application/x-ndjson");
    if (out_.gzip_level_ >= 0) {
      auto z = codec::compress(codec::Compression::Gzip, raw, out_.gzip_level_);
      if (!z) {
        retryAll(ids, "gzip failed: " + z.status().message());
        return;
      }
      compressed = std::move(*z);
      req.body = compressed;
      req.headers.push_back("Content-Encoding: gzip");
    } else {
      req.body = raw;
    }
    req.timeout_ms = static_cast<int64_t>(out_.cfg_.request_timeout.seconds * 1000);
    req.connect_timeout_ms = req.timeout_ms;
    req.on_200_body = [this](std::string_view piece) { stream_.feed(piece); };
    if (!sendToAHost(req)) {
      // A connection reset or refused is sent again in this write (as rejected items are); a
      // timeout goes back to the buffer's backoff at once (the server is slow, not flaky).
      std::string why = "no answer from Elasticsearch: " + resp_.error;
      // libcurl says "Operation timed out after …" (its error buffer) or "Timeout was reached".
      const bool timed_out = resp_.error.find("timed out") != std::string::npos ||
                             resp_.error.find("Timeout") != std::string::npos;
      if (!timed_out) {
        againAll(ids, std::move(why));
      } else {
        // Too slow to answer is overloaded too: fewer requests at once until it answers in time.
        out_.throttled_->add(1);
        throttled_ = true;
        retryAll(ids, std::move(why));
      }
      return;
    }
    const long status = resp_.status;
    if (status == 200) {
      items(ids);
      return;
    }
    out_.request_errors_->add(1);
    auto halves = [&] {
      const Ids a = ids.first(ids.size() / 2), b = ids.subspan(ids.size() / 2);
      send(a);
      if (stopped_) {
        for (uint32_t i : b) fate_[i] = Fate::Retry;
      } else {
        send(b);
      }
    };
    if (status == 413) {
      if (ids.size() > 1) return halves();
      fail(ids[0], "request entity too large (413): the document alone exceeds http.max_content_length");
      return;
    }
    std::string what = "bulk request answered " + std::to_string(status) + " " + errorReason(resp_.body);
    if (status == 429) {
      out_.throttled_->add(1);
      throttled_ = true;
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 401) {
      out_.log_.error("Elasticsearch refused the credentials (401): check user/password or api_key");
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 403) {
      out_.log_.error("Elasticsearch denied the bulk request (403): the user needs the create_doc (or index) privilege on the index");
      retryAll(ids, what, resp_.retry_after_ns);
    } else if (status == 400) {
      // Refused as a whole: nothing of it was stored. An action line this cluster does not take
      // (_type since Elasticsearch 8): learn the version again and send it without. Else one
      // bad document sank it: send the halves apart until the culprit is alone.
      if (what.find("[_type]") != std::string::npos && !out_.drop_type_.load() && out_.redetectVersion()) {
        send(ids);
        return;
      }
      if (ids.size() == 1) {
        fail(ids[0], what);
        return;
      }
      if (bisect_budget_ <= 0) {
        for (uint32_t i : ids) fail(i, what);
        return;
      }
      --bisect_budget_;
      out_.bisections_->add(1);
      halves();
    } else if (status >= 500) {
      // The cluster cannot take requests for now (503 unavailable, 502/504 from a proxy in
      // front of it): overload as much as a 429, so the in-flight limit comes down too.
      out_.throttled_->add(1);
      throttled_ = true;
      if (resp_.retry_after_ns < 0) {
        againAll(ids, what);  // a passing 5xx: sent again after 10, 20, 40 ms, then the buffer's backoff
      } else {
        retryAll(ids, what, resp_.retry_after_ns);
      }
    } else {
      retryAll(ids, what, resp_.retry_after_ns);
    }
  }

  // Tries the hosts round-robin from the next one; a host whose connection fails is rested.
  bool sendToAHost(net::HttpRequest& req, bool may_rediscover = true) {
    const auto hosts_now = out_.currentHosts();  // discovery may swap the list meanwhile
    const auto& hosts = *hosts_now;
    const size_t n = hosts.size();
    const size_t first = out_.next_host_.fetch_add(1, std::memory_order_relaxed) % n;
    const int64_t now = nowNs();
    std::vector<size_t> order;
    for (size_t k = 0; k < n; ++k) {
      size_t i = (first + k) % n;
      if (hosts[i]->rested_until_ns.load(std::memory_order_relaxed) <= now) order.push_back(i);
    }
    if (order.empty()) {  // all rested: the one back soonest
      size_t best = 0;
      for (size_t i = 1; i < n; ++i) {
        if (hosts[i]->rested_until_ns.load() < hosts[best]->rested_until_ns.load()) best = i;
      }
      order.push_back(best);
    }
    for (size_t k = 0; k < order.size(); ++k) {
      EsHost& host = *hosts[order[k]];
      std::string url = host.base_url + path_;
      req.url = url;
      if (!host.auth_header.empty()) {
        req.headers.push_back(host.auth_header);
      }
      out_.requests_->add(1);
      if (out_.nodes_) out_.nodes_->countRequest();
      stream_.reset();
      client_->send(req, resp_);
      if (!host.auth_header.empty()) req.headers.pop_back();
      if (!resp_.transportFailed()) return true;
      host.rested_until_ns.store(nowNs() + out_.cfg_.host_rest_interval.nanos(), std::memory_order_relaxed);
      out_.request_errors_->add(1);
      reset_ = true;
      client_ = out_.clients_.fresh();
      if (k + 1 < order.size()) {
        out_.failovers_->add(1);
        out_.log_.warn("Elasticsearch node failed (" + resp_.error + "); trying the next one");
      }
    }
    // reload_on_failure: every node failed; once more on the nodes a new discovery found.
    if (may_rediscover && out_.nodes_ && out_.nodes_->allFailed()) return sendToAHost(req, false);
    return false;
  }

  // The event with every dot in its source's keys replaced by '_' (the action line as it is);
  // false when no key has a dot (nothing to repair).
  bool repair(size_t i) {
    std::string_view e = chunk_.event(i);
    const size_t nl = e.find('\n');
    std::string_view source = e.substr(nl + 1);
    while (!source.empty() && source.back() == '\n') source.remove_suffix(1);
    simdjson::dom::element doc;
    // Its own parser: answer_ holds the answer whose items are being read, dom_ may be in idFits().
    if (repair_dom_.parse(source.data(), source.size()).get(doc) != simdjson::SUCCESS) return false;
    std::string out(e.substr(0, nl + 1));
    bool changed = false;
    writeDeDotted(doc, out, changed);
    out += '\n';
    if (!changed) return false;
    repaired_[i] = std::move(out);
    return true;
  }

  static void writeDeDotted(simdjson::dom::element v, std::string& out, bool& changed) {
    simdjson::dom::object object;
    simdjson::dom::array array;
    if (v.get_object().get(object) == simdjson::SUCCESS) {
      out += '{';
      bool first = true;
      for (auto [key, value] : object) {
        if (!first) out += ',';
        first = false;
        if (key.find('.') != std::string_view::npos) {
          std::string k(key);
          std::replace(k.begin(), k.end(), '.', '_');
          appendJsonString(out, k);
          changed = true;
        } else {
          appendJsonString(out, key);
        }
        out += ':';
        writeDeDotted(value, out, changed);
      }
      out += '}';
    } else if (v.get_array().get(array) == simdjson::SUCCESS) {
      out += '[';
      bool first = true;
      for (simdjson::dom::element item : array) {
        if (!first) out += ',';
        first = false;
        writeDeDotted(item, out, changed);
      }
      out += ']';
    } else {
      out += simdjson::minify(v);
    }
  }

  // Sorts the per-item results of a 200 answer for `ids`.
  void items(Ids ids) {
    // The answer streamed past BulkAnswerStream: errors:false is settled there, the rest read
    // whole.
    using Shape = BulkAnswerReader::Shape;
    const StringList& unrecoverable = out_.cfg_.unrecoverable_error_types;
    Shape shape = Shape::NotBulk;
    switch (stream_.finish()) {
      case BulkAnswerStream::Outcome::AllDone:
        shape = Shape::AllDone;
        break;
      case BulkAnswerStream::Outcome::NotBulk:
        break;
      case BulkAnswerStream::Outcome::Kept:
        shape = answer_.read(stream_.body(), ids.size(), unrecoverable, verdicts_);
        break;
      case BulkAnswerStream::Outcome::KeptErrors:
        shape = answer_.readItems(stream_.body(), ids.size(), unrecoverable, verdicts_);
        break;
    }
    if (shape == Shape::AllDone) {
      for (uint32_t i : ids) fate_[i] = Fate::Done;
      return;
    }
    if (shape == Shape::NotBulk) {
      out_.request_errors_->add(1);
      retryAll(ids, "Elasticsearch answered 200 with a body that is not a bulk response for " +
                        std::to_string(ids.size()) + " items: " + std::string(stream_.body().substr(0, 200)));
      reset_ = true;
      return;
    }
    size_t rejected = 0;
    for (size_t k = 0; k < ids.size(); ++k) {
      const uint32_t event = ids[k];
      const BulkItem& item = verdicts_[k];
      using V = BulkItem::Verdict;
      if (item.verdict == V::Done || item.verdict == V::Duplicate) {
        if (item.verdict == V::Duplicate) out_.duplicates_->add(1);
        fate_[event] = Fate::Done;
        continue;
      }
      if (item.verdict == V::Malformed) {
        fate_[event] = Fate::Again;
        continue;
      }
      const int64_t status = item.status;
      out_.metrics_.pluginCounter("item_errors_total", "Bulk items answered with an error, by ES's error type.",
                                  {{"reason", std::string(item.type)}}).add(1);
      if (item.verdict == V::Again) {
        if (status != 0) ++rejected;
        fate_[event] = Fate::Again;
        if (reason_.empty()) reason_ = "bulk items answered " + std::to_string(status) + " " + std::string(item.type);
        continue;
      }
      std::string why = std::to_string(status) + " " + std::string(item.type) +
                        (item.reason.empty() ? "" : ": " + std::string(item.reason));
      if (item.verdict == V::Conflict && repaired_.count(event) == 0 && repair(event)) {
        out_.repaired_->add(1);
        if (!out_.repair_warned_.exchange(true)) {
          out_.log_.warn("Document refused for a mapping conflict from dotted keys (" + why +
                         "); sending it again with dots in its keys replaced by '_' (counted in repaired_total)");
        }
        fate_[event] = Fate::Repaired;
        continue;
      }
      if (repaired_.count(event) != 0) why += " (also after replacing the dots in its keys)";
      if (out_.cfg_.log_es_400_reason) out_.log_.warn("Document rejected: " + why);
      fail(event, std::move(why));
    }
    round_sent_ += ids.size();
    round_rejected_ += rejected;
    // A cluster that rejects (429, 5xx) a third or more of a fresh request is overloaded: the
    // in-flight limit comes down. A few rejected items are sent again in this write and do not
    // lower it; nor do resends, which hold only items rejected before (no fair sample).
    if (fresh_ && rejected > 0 && rejected * 3 >= ids.size()) {
      throttled_ = true;
      out_.throttled_->add(1);
    }
  }

  EsOutput& out_;
  const ChunkView& chunk_;
  std::string path_;
  std::unique_ptr<net::HttpClient> client_;
  // From the write's scratch (WriteScratch).
  net::HttpResponse& resp_;
  BulkAnswerStream& stream_;
  BulkAnswerReader& answer_;
  std::vector<BulkItem>& verdicts_;
  simdjson::dom::parser& dom_;
  simdjson::dom::parser& repair_dom_;
  std::vector<Fate>& fate_;
  std::vector<uint32_t>& pending_;
  std::vector<std::pair<size_t, std::string>> reasons_;  // of the failed events
  std::unordered_map<size_t, std::string> repaired_;  // event -> its action line and de-dotted source
  std::string reason_;
  net::RetryAfter retry_after_;  // the longest any answer asked for
  int bisect_budget_ = 0;
  bool stopped_ = false;
  bool reset_ = false;
  bool throttled_ = false;
  bool fresh_ = true;                // this round sends the chunk's items for the first time
  size_t round_sent_ = 0;            // items this round's answered requests carried
  size_t round_rejected_ = 0;        // of those, rejected for now (429, 5xx)
  bool round_failed_whole_ = false;  // a request of this round failed whole (5xx, cut)
};

WriteResult EsOutput::write(const ChunkView& chunk) {
  if (chunk.events() == 0) return WriteResult::ok();
  const uint64_t epoch = acquireSlot();
  WriteScratchPtr scratch = takeScratch();
  Request request(*this, chunk, *scratch);
  WriteResult r = request.run();
  giveScratch(std::move(scratch));
  releaseSlot(request.throttled(), epoch);
  return r;
}

}  // namespace sluice::plugins::out_elasticsearch
