// SPDX-License-Identifier: Apache-2.0
#include "monitor/top.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <thread>

#include "core/json.h"
#include "core/arena.h"
#include "net/http_client.h"

namespace sluice {

namespace {

constexpr const char* kDefaultUrl = "http://127.0.0.1:24231";

std::string defaultUrl() {
  const char* env = std::getenv("SLUICE_MONITOR_URL");
  return env && *env ? env : kDefaultUrl;
}

// "--key value" pairs and bare words; false on a flag without its value.
bool parseArgs(const std::vector<std::string>& args, std::map<std::string, std::string>& flags,
               std::vector<std::string>& words, std::string& error) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) == 0) {
      std::string key = a.substr(2), value;
      if (size_t eq = key.find('='); eq != std::string::npos) {
        value = key.substr(eq + 1);
        key = key.substr(0, eq);
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        error = a + " needs a value";
        return false;
      }
      flags[key] = value;
    } else {
      words.push_back(a);
    }
  }
  return true;
}

struct Row {
  std::string kind, type;
  double in = 0, out = 0, errors = 0, retries = 0, fill = -1, lag = -1;
};

// name{labels} value lines of the text exposition, by plugin_id.
std::map<std::string, Row> readRows(const std::string& text) {
  std::map<std::string, Row> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t brace = line.find('{');
    size_t space = line.rfind(' ');
    if (brace == std::string::npos || space == std::string::npos || space < brace) continue;
    std::string name = line.substr(0, brace);
    std::string labels = line.substr(brace, space - brace);
    auto label = [&](const std::string& key) {
      std::string k = key + "=\"";
      size_t at = labels.find(k);
      if (at == std::string::npos) return std::string();
      at += k.size();
      std::string v;
      for (size_t i = at; i < labels.size() && labels[i] != '"'; ++i) {
        if (labels[i] == '\\' && i + 1 < labels.size()) ++i;
        v += labels[i];
      }
      return v;
    };
    std::string id = label("plugin_id");
    if (id.empty() || id == "router") continue;
    double v = std::strtod(line.c_str() + space + 1, nullptr);
    Row& r = rows[id];
    auto kind = [&](const char* k) {
      if (r.kind.empty()) {
        r.kind = k;
        r.type = label("type");
      }
    };
    if (name == "sluice_input_received_records_total") {
      kind("input");
      r.in += v;
      r.out += v;
    } else if (name == "sluice_filter_received_records_total") {
      kind("filter");
      r.in += v;
    } else if (name == "sluice_filter_sent_records_total") {
      kind("filter");
      r.out += v;
    } else if (name == "sluice_output_received_records_total") {
      kind("output");
      r.in += v;
    } else if (name == "sluice_output_sent_records_total") {
      kind("output");
      r.out += v;
    } else if (name == "sluice_input_errors_total" || name == "sluice_output_errors_total") {
      r.errors += v;
    } else if (name == "sluice_output_retries_total") {
      r.retries += v;
    } else if (name == "sluice_buffer_fill_ratio") {
      r.fill = std::max(r.fill, v);
    } else if (name == "sluice_input_tail_lag_bytes") {
      r.lag = std::max(0.0, r.lag) + v;
    }
  }
  for (auto it = rows.begin(); it != rows.end();) it = it->second.kind.empty() ? rows.erase(it) : std::next(it);
  return rows;
}

std::string bytes(double b) {
  char buf[32];
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  std::snprintf(buf, sizeof(buf), u ? "%.1f%s" : "%.0f%s", b, units[u]);
  return buf;
}

bool fetch(net::HttpClient& client, const std::string& url, std::string& body, std::string& error) {
  net::HttpRequest req;
  req.url = url;
  req.timeout_ms = 10'000;
  net::HttpResponse r;
  client.send(req, r);
  if (r.status != 200) {
    error = r.transportFailed() ? r.error : "HTTP " + std::to_string(r.status) + " " + r.body;
    return false;
  }
  body = std::move(r.body);
  return true;
}

}  // namespace

int runTop(const std::vector<std::string>& args, bool tty) {
  std::map<std::string, std::string> flags;
  std::vector<std::string> words;
  std::string error;
  if (!parseArgs(args, flags, words, error) || !words.empty()) {
    std::fprintf(stderr, "sluice top: %s\nUsage: sluice top [--url %s] [--interval SECONDS] [--iterations N]\n",
                 error.empty() ? ("unexpected argument '" + words.front() + "'").c_str() : error.c_str(), kDefaultUrl);
    return 2;
  }
  const std::string url = (flags.count("url") ? flags["url"] : defaultUrl()) + "/metrics";
  const double interval = flags.count("interval") ? std::max(0.1, std::atof(flags["interval"].c_str())) : 2.0;
  const long iterations = flags.count("iterations") ? std::atol(flags["iterations"].c_str()) : 0;
  net::HttpClient client;
  std::string body;
  if (!fetch(client, url, body, error)) {
    std::fprintf(stderr, "sluice top: cannot read %s: %s\n", url.c_str(), error.c_str());
    return 1;
  }
  auto before = readRows(body);
  auto at = std::chrono::steady_clock::now();
  for (long n = 0; iterations == 0 || n < iterations; ++n) {
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    if (!fetch(client, url, body, error)) {
      std::fprintf(stderr, "sluice top: cannot read %s: %s\n", url.c_str(), error.c_str());
      return 1;
    }
    auto now = std::chrono::steady_clock::now();
    double secs = std::chrono::duration<double>(now - at).count();
    auto rows = readRows(body);
    std::string out = tty ? "\x1b[H\x1b[2J" : "";
    char line[256];
    std::snprintf(line, sizeof(line), "%-24s %-7s %-16s %10s %10s %8s %8s %7s %10s\n", "PLUGIN_ID", "KIND", "TYPE",
                  "IN/s", "OUT/s", "ERRORS", "RETRIES", "BUFFER", "LAG");
    out += line;
    for (const auto& [id, r] : rows) {
      const Row& old = before.count(id) ? before[id] : r;
      std::string fill = r.fill < 0 ? "-" : std::to_string(int(r.fill * 100 + 0.5)) + "%";
      std::string lag = r.lag < 0 ? "-" : bytes(r.lag);
      std::snprintf(line, sizeof(line), "%-24s %-7s %-16s %10.1f %10.1f %8.0f %8.0f %7s %10s\n", id.c_str(),
                    r.kind.c_str(), r.type.c_str(), std::max(0.0, r.in - old.in) / secs,
                    std::max(0.0, r.out - old.out) / secs, r.errors, r.retries, fill.c_str(), lag.c_str());
      out += line;
    }
    if (!tty) out += "\n";
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
    before = std::move(rows);
    at = now;
  }
  return 0;
}

namespace {

std::string urlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// One tapped line in the pretty view: `time tag: record`.
std::string pretty(std::string_view line) {
  Arena arena;
  auto v = parseJson(line, arena);
  if (!v || !v->isObject()) return std::string(line);
  std::string out;
  const Value* time = v->find("time");
  const Value* tag = v->find("tag");
  const Value* record = v->find("record");
  if (time && time->isString()) out += std::string(time->asString()) + " ";
  if (tag && tag->isString()) out += std::string(tag->asString()) + ": ";
  if (record) appendJson(out, *record);
  return out + "\n";
}

}  // namespace

int runTap(const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  std::vector<std::string> words;
  std::string error;
  const char* usage =
      "Usage: sluice tap TAG_PATTERN | --after PLUGIN_ID [--url URL] [--rate EVENTS_PER_S] [--limit N] "
      "[--format json|pretty]\n";
  if (!parseArgs(args, flags, words, error) || words.size() > 1 || (words.empty() && !flags.count("after")) ||
      (!words.empty() && flags.count("after"))) {
    std::fprintf(stderr, "sluice tap: %s\n%s",
                 error.empty() ? "name one point: a tag pattern, or --after PLUGIN_ID" : error.c_str(), usage);
    return 2;
  }
  std::string format = flags.count("format") ? flags["format"] : "json";
  if (format != "json" && format != "pretty") {
    std::fprintf(stderr, "sluice tap: --format is json or pretty\n%s", usage);
    return 2;
  }
  std::string url = (flags.count("url") ? flags["url"] : defaultUrl()) + "/api/tap?";
  url += words.empty() ? "after=" + urlEncode(flags["after"]) : "tag=" + urlEncode(words[0]);
  url += "&rate=" + urlEncode(flags.count("rate") ? flags["rate"] : "10");
  if (flags.count("limit")) url += "&limit=" + urlEncode(flags["limit"]);
  net::HttpClient client;
  net::HttpRequest req;
  req.url = url;
  req.timeout_ms = 0;
  std::string partial, errtext;
  long status = 0;
  req.on_body = [&](std::string_view data) {
    partial.append(data);
    size_t start = 0;
    for (size_t nl = partial.find('\n'); nl != std::string::npos; nl = partial.find('\n', start)) {
      std::string_view line(partial.data() + start, nl - start + 1);
      if (line.empty() || line[0] != '{') {
        errtext.append(line);  // an error's text, not a tapped event
      } else if (format == "pretty") {
        std::string p = pretty(line.substr(0, line.size() - 1));
        std::fwrite(p.data(), 1, p.size(), stdout);
      } else {
        std::fwrite(line.data(), 1, line.size(), stdout);
      }
      start = nl + 1;
    }
    partial.erase(0, start);
    std::fflush(stdout);
    return true;
  };
  net::HttpResponse r;
  client.send(req, r);
  status = r.status;
  if (status != 200) {
    std::fprintf(stderr, "sluice tap: %s: %s%s\n", url.c_str(),
                 r.transportFailed() ? r.error.c_str() : ("HTTP " + std::to_string(status) + " ").c_str(),
                 r.transportFailed() ? "" : (errtext + partial + r.body).c_str());
    return 1;
  }
  return 0;
}

void printStats(const MetricsRegistry& metrics) {
  std::string out = "sluice stats:\n";
  std::istringstream in(metrics.renderPrometheus());
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line.find("_bucket{") != std::string::npos) continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos || std::strtod(line.c_str() + space + 1, nullptr) == 0) continue;
    if (line.rfind("sluice_build_info", 0) == 0) continue;
    out += "  " + line + "\n";
  }
  std::fputs(out.c_str(), stderr);
}

}  // namespace sluice
