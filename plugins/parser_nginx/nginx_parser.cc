// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_nginx/nginx_parser.h"

#include <array>

namespace sluice::plugins::parser_nginx {
namespace {

// docs.fluentd.org/parser/nginx: the combined format, with an optional trailing
// $http_x_forwarded_for.
constexpr const char* kExpression =
    R"re(/^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)"(?:\s+(?<http_x_forwarded_for>[^ ]+))?)?$/)re";
constexpr const char* kTimeFormat = "%d/%b/%Y:%H:%M:%S %z";

const auto kParams = [] {
  auto params = concatParams(
      parserCommonParams<NginxConfig>("time"),
      std::array<Param<NginxConfig>, 1>{{
          {"expression", &NginxConfig::expression, kExpression, "Regexp with named groups (nginx's combined format)."},
      }});
  for (auto& p : params) {
    if (p.name == "time_format") p.default_value = kTimeFormat;
  }
  return params;
}();

}  // namespace

Result<std::unique_ptr<NginxParser>> NginxParser::create(const NginxConfig& config, PluginContext&) {
  auto re = compileRubyRegex(config.expression);
  if (!re) return re.takeStatus();
  if ((*re)->NamedCapturingGroups().empty()) {
    return Status::invalidConfig("expression " + config.expression + " has no named group (?<name>...)");
  }
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<NginxParser>(new NginxParser(std::move(*re), std::move(*time)));
}

NginxParser::NginxParser(std::unique_ptr<RE2> re, ParserTime time)
    : re_(std::move(re)), time_(std::move(time)), groups_(*re_) {}

void NginxParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  // Sized once per call (the default expression has 11 groups): no allocation per line.
  std::array<re2::StringPiece, 32> fixed;
  std::vector<re2::StringPiece> grown;
  re2::StringPiece* match = fixed.data();
  if (static_cast<size_t>(groups_.matchSize()) > fixed.size()) {
    grown.resize(groups_.matchSize());
    match = grown.data();
  }
  for (size_t i = 0; i < in.lines.size(); ++i) {
    std::string_view line = in.lines[i];
    if (!re_->Match(re2::StringPiece(line.data(), line.size()), 0, line.size(), RE2::UNANCHORED, match,
                    groups_.matchSize())) {
      out[i].error = "not an nginx log line";
      continue;
    }
    out[i].record = groups_.toRecord(match, arena);
    time_.apply(out[i], arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<NginxParser>(
      PluginKind::Parser, "nginx", "nginx access log lines (combined format), as Fluentd's nginx parser.", kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_nginx
