// SPDX-License-Identifier: Apache-2.0
// Issue 21 item 1: the Ruby that real configs embed in "#{...}". One case per expression
// collected from ../shared/fixtures/fluentd-configs, the Fluentd Kubernetes DaemonSet configs
// (fluent/fluentd-kubernetes-daemonset, kubernetes.conf and fluent.conf of the elasticsearch
// images), Fluentd's config-file documentation, and one per construct the issue lists; each
// evaluates as Ruby would, only what Ruby would evaluate, or fails naming the construct.
// Nothing is executed.

#include <gtest/gtest.h>

#include <map>

#include "config/parser.h"
#include "config/ruby_eval.h"

namespace sluice::config {
namespace {

using Env = std::map<std::string, std::string>;

EvalEnvironment environment(const Env& vars) {
  EvalEnvironment e;
  e.hostname = "node-7";
  e.worker_id = "0";
  auto copy = std::make_shared<Env>(vars);
  e.env = [copy](std::string_view name) -> std::optional<std::string> {
    auto it = copy->find(std::string(name));
    if (it == copy->end()) return std::nullopt;
    return it->second;
  };
  return e;
}

struct Case {
  const char* code;
  Env env;
  // What "#{code}" gives: text, or "<nil>", "<use_nil>", "<use_default>"; or, after "!", part
  // of the error message.
  const char* expected;
};

void PrintTo(const Case& c, std::ostream* os) { *os << "#{" << c.code << "}"; }

std::string show(const Result<EvalValue>& r) {
  if (!r) return "!" + r.status().message();
  switch (r->kind) {
    case EvalValue::Kind::Nil: return "<nil>";
    case EvalValue::Kind::UseNil: return "<use_nil>";
    case EvalValue::Kind::UseDefault: return "<use_default>";
    default: return r->text;
  }
}

class RubyEvalTest : public ::testing::TestWithParam<Case> {};

TEST_P(RubyEvalTest, EvaluatesAsRubyDoes) {
  const Case& c = GetParam();
  std::string got = show(evalEmbedded(c.code, environment(c.env)));
  if (c.expected[0] == '!') {
    ASSERT_EQ(got[0], '!') << "#{" << c.code << "} gave " << got;
    EXPECT_NE(got.find(c.expected + 1), std::string::npos) << got;
    EXPECT_NE(got.find(c.code), std::string::npos) << "the message names the expression: " << got;
  } else {
    EXPECT_EQ(got, c.expected) << "#{" << c.code << "}";
  }
}

// The DaemonSet's kubernetes_url (issue 21), verbatim.
constexpr const char* kKubeUrl =
    "ENV['FLUENT_FILTER_KUBERNETES_URL'] || (host = ENV.fetch('KUBERNETES_SERVICE_HOST'); port = "
    "ENV.fetch('KUBERNETES_SERVICE_PORT'); host = (IPAddr.new(host).ipv6? ? '[' + host + ']' : host rescue host); "
    "'https://' + host + ':' + port + '/api')";
// Its older form (DaemonSet images before the IPv6 change, and many copies of them).
constexpr const char* kKubeUrlOld =
    "ENV['FLUENT_FILTER_KUBERNETES_URL'] || 'https://' + ENV.fetch('KUBERNETES_SERVICE_HOST') + ':' + "
    "ENV.fetch('KUBERNETES_SERVICE_PORT') + '/api'";

const Env kService4 = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
const Env kService6 = {{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"}, {"KUBERNETES_SERVICE_PORT", "443"}};
const Env kServiceName = {{"KUBERNETES_SERVICE_HOST", "kubernetes.default.svc"}, {"KUBERNETES_SERVICE_PORT", "6443"}};

const Case kCases[] = {
    // kubernetes_url: the URL given wins and nothing else is evaluated (the service variables
    // are unset here: fetching them would raise).
    {kKubeUrl, {{"FLUENT_FILTER_KUBERNETES_URL", "https://api.example:8443/api"}}, "https://api.example:8443/api"},
    {kKubeUrl, kService4, "https://10.96.0.1:443/api"},
    {kKubeUrl, kService6, "https://[fd00:10:96::1]:443/api"},
    {kKubeUrl, kServiceName, "https://kubernetes.default.svc:6443/api"},  // IPAddr.new raises: rescue host
    {kKubeUrl, {}, "!KUBERNETES_SERVICE_HOST is not set"},
    {kKubeUrlOld, kService4, "https://10.96.0.1:443/api"},
    {kKubeUrlOld, {{"FLUENT_FILTER_KUBERNETES_URL", "http://x"}}, "http://x"},
    // The DaemonSet's other parameters (kubernetes.conf, fluent.conf).
    {"ENV['KUBERNETES_VERIFY_SSL'] || true", {}, "true"},
    {"ENV['KUBERNETES_VERIFY_SSL'] || true", {{"KUBERNETES_VERIFY_SSL", "false"}}, "false"},
    {"ENV['KUBERNETES_CA_FILE']", {}, "<nil>"},
    {"ENV['FLUENT_ELASTICSEARCH_USER'] || use_default", {}, "<use_default>"},
    {"ENV['FLUENT_ELASTICSEARCH_USER'] || use_default", {{"FLUENT_ELASTICSEARCH_USER", "elastic"}}, "elastic"},
    {"ENV['FLUENT_ELASTICSEARCH_TARGET_INDEX_KEY'] || use_nil", {}, "<use_nil>"},
    {"ENV['FLUENT_CONTAINER_TAIL_PARSER_TYPE'] || 'json'", {{"FLUENT_CONTAINER_TAIL_PARSER_TYPE", "cri"}}, "cri"},
    {"ENV['FLUENT_CONTAINER_TAIL_PARSER_TIME_FORMAT'] || '%Y-%m-%dT%H:%M:%S.%NZ'", {}, "%Y-%m-%dT%H:%M:%S.%NZ"},
    {"ENV['FLUENTD_SYSTEMD_CONF'] || 'systemd'", {{"FLUENTD_SYSTEMD_CONF", "disable"}}, "disable"},
    {"ENV['K8S_NODE_NAME']", {{"K8S_NODE_NAME", "node-7"}}, "node-7"},
    // ../shared/fixtures/fluentd-configs.
    {"ENV['FLUENT_ELASTICSEARCH_BUFFER_CHUNK_LIMIT_SIZE'] || '8MB'", {}, "8MB"},
    {"ENV['FLUENT_ELASTICSEARCH_SCHEME'] || 'http'", {{"FLUENT_ELASTICSEARCH_SCHEME", "https"}}, "https"},
    {"ENV['LOKI_URL']", {{"LOKI_URL", "http://loki:3100"}}, "http://loki:3100"},
    {"test", {}, "!'test' (neither a local variable"},  // v1_literal_example.conf's Kernel#test
    // Fluentd's documentation (config-file syntax).
    {"Socket.gethostname", {}, "node-7"},
    {"hostname", {}, "node-7"},
    {"worker_id", {}, "0"},
    {"ENV[\"FOO_BAR\"]", {{"FOO_BAR", "x"}}, "x"},
    // Each construct of the issue.
    {"a = 'x'; b = a + 'y'; b + a", {}, "xyx"},
    {"\"https://#{ENV['HOST']}:#{ENV['PORT'] || 9200}/\"", {{"HOST", "es"}}, "https://es:9200/"},
    {"\"#{\"#{'in' + 'ner'}\"}!\"", {}, "inner!"},
    {"ENV.key?('X') ? ENV['X'] : 'none'", {}, "none"},
    {"ENV.key?('X') ? ENV['X'] : 'none'", {{"X", ""}}, ""},
    {"ENV['A'] && ENV['B']", {{"A", "1"}, {"B", "2"}}, "2"},
    {"ENV['A'] && ENV.fetch('UNSET')", {}, "<nil>"},  // short-circuit: the fetch is not evaluated
    {"ENV['A'] || ENV.fetch('UNSET')", {{"A", "set"}}, "set"},
    {"true ? 'yes' : ENV.fetch('UNSET')", {}, "yes"},
    {"!ENV['X'].nil? && !ENV['X'].strip.empty?", {{"X", "  "}}, "false"},
    {"!ENV['X'].nil? && !ENV['X'].strip.empty?", {{"X", " v "}}, "true"},
    {"ENV['LEVEL'].to_s.downcase == 'debug' ? 'debug' : 'info'", {{"LEVEL", "DEBUG"}}, "debug"},
    {"ENV['LEVEL'].to_s.downcase == 'debug' ? 'debug' : 'info'", {}, "info"},
    {"ENV['MODE'] != 'off'", {{"MODE", "off"}}, "false"},
    {"ENV['WORKERS'].to_i + 1", {{"WORKERS", " 3x"}}, "4"},
    {"ENV['WORKERS'].to_i + 1", {}, "1"},
    {"Integer(ENV['PORT']) rescue 24224", {{"PORT", "0x50"}}, "80"},
    {"Integer(ENV['PORT']) rescue 24224", {{"PORT", "80a"}}, "24224"},
    {"Integer(ENV['PORT']) rescue 24224", {}, "24224"},  // Integer(nil): TypeError, rescued
    {"Integer(ENV['PORT'])", {{"PORT", "eighty"}}, "!raised ArgumentError (invalid value for Integer(): \"eighty\")"},
    {"Integer('0_7') + Integer(' -1_0 ')", {}, "-3"},
    {"IPAddr.new(ENV['POD_IP']).ipv4? ? 'v4' : 'v6'", {{"POD_IP", "10.1.2.3"}}, "v4"},
    {"IPAddr.new(ENV['POD_IP']).ipv6?", {{"POD_IP", "[::1]"}}, "true"},
    {"IPAddr.new('10.1.2.3/8').to_s", {}, "10.0.0.0"},
    {"IPAddr.new('not an address').ipv6?", {}, "!raised IPAddr::InvalidAddressError"},
    {":info.to_s + 'warn'.to_sym.to_s", {}, "infowarn"},
    {"ENV['X'].nil?", {}, "true"},
    {"ENV['X'].empty?", {}, "!NoMethodError (undefined method 'empty?' for nil)"},
    {"ENV['X'].strip rescue 'none'", {}, "none"},
    {"'a' + 1", {}, "!TypeError (no implicit conversion of Integer into String)"},
    {"1+1", {}, "2"},
    {"'Straße'.upcase", {}, "!.upcase of text that is not ASCII"},
    {"use_default rescue 'x'", {}, "<use_default>"},  // SetDefault is not a StandardError
    {"File.join(ENV['DIR'] || '/var/log', 'sluice', worker_id)", {}, "/var/log/sluice/0"},
    {"x = x; x.nil?", {}, "true"},  // a variable exists from its assignment on, nil in its own value
    // What is not Ruby the subset evaluates: an error naming the construct, nothing run.
    {"system('id')", {}, "!call to system()"},
    {"`id`", {}, "!'`'"},
    {"File.read('/etc/shadow')", {}, "!File other than File.join"},
    {"ENV['X'].send(:exit)", {}, "!method .send"},
    {"ENV['X'].to_i(16)", {}, "!arguments to .to_i"},
    {"1.5", {}, "!floating-point literal"},
    {"[1, 2]", {}, "!'['"},
    {"ENV['A'] if true", {}, "!unexpected 'if true'"},
    {"'a' =~ /a/", {}, "!comparison operator"},
    {"undefined_name", {}, "!'undefined_name' (neither a local variable"},
    {"99999999999999999999", {}, "!beyond 64 bits"},
};

INSTANTIATE_TEST_SUITE_P(Collected, RubyEvalTest, ::testing::ValuesIn(kCases));

// Depth limits hold for every way of nesting; flat chains are not nesting.
TEST(RubyEvalLimitsTest, NestingHasALimitChainsDoNot) {
  EvalEnvironment env = environment({});
  for (const std::string& deep : {std::string(20000, '!') + "true", std::string(20000, '(') + "1" + std::string(20000, ')'),
                                  "true ? " + std::string(5000, '(') + "1" + std::string(5000, ')') + " : 2",
                                  "'a'" + [] { std::string s; for (int i = 0; i < 40; ++i) s += ".to_s"; return s; }(),
                                  [] { std::string s; for (int i = 0; i < 2000; ++i) s += "\"#{"; s += "1"; for (int i = 0; i < 2000; ++i) s += "}\""; return s; }(),
                                  [] { std::string s; for (int i = 0; i < 2000; ++i) s += "a = "; return s + "1"; }(),
                                  [] { std::string s = "1"; for (int i = 0; i < 2000; ++i) s = "1 ? " + s + " : 0"; return s; }()}) {
    auto r = evalEmbedded(deep, env);
    ASSERT_FALSE(r.isOk()) << deep.substr(0, 40);
    EXPECT_NE(r.status().message().find("nested deeper than 32 levels"), std::string::npos) << r.status().message();
  }
  std::string sum = "'x'";
  std::string ors = "nil";
  for (int i = 0; i < 20000; ++i) {
    sum += " + 'x'";
    ors += " || nil";
  }
  auto r = evalEmbedded(sum, env);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->text, std::string(20001, 'x'));
  r = evalEmbedded(ors + " || 'last'", env);
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->text, "last");
}

// The DaemonSet's line, in a config file: the value reaches the parameter.
TEST(RubyEvalConfigTest, DaemonSetKubernetesUrlReachesItsParameter) {
  std::string text = std::string("<filter kubernetes.**>\n  @type kubernetes_metadata\n  kubernetes_url \"#{") + kKubeUrl +
                     "}\"\n  verify_ssl \"#{ENV['KUBERNETES_VERIFY_SSL'] || true}\"\n</filter>\n";
  auto r = parseConfigText(text, "kubernetes.conf", ".", environment(kService6));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  auto filters = r->children("filter");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0]->find("kubernetes_url")->value, "https://[fd00:10:96::1]:443/api");
  EXPECT_EQ(filters[0]->find("verify_ssl")->value, "true");
}

// Fluentd 1.18 (fluent/fluentd#4580) evaluates "#{...}" inside the strings of JSON array and
// hash values, keys included; the result is JSON-escaped. Single quotes keep the text.
TEST(RubyEvalConfigTest, JsonArrayAndHashStringsAreEvaluated) {
  std::string text =
      "<source>\n  @type sample\n"
      "  hosts [\"#{ENV['ES_HOST'] || 'localhost'}:9200\", \"b\"]\n"
      "  quoted [\"#{ENV['QUOTE']}\"]\n"
      "  unset [\"#{ENV['UNSET']}\", 1]\n"
      "  labels {\"#{ENV['K'] || 'k'}\": \"v-#{1 + 1}\", \"n\": 2}\n"
      "  multi [\"a\",  # a comment\n    \"#{ENV['K']}\"]\n"
      "  kept '[\"#{ENV[\\'K\\']}\"]'\n"
      "</source>\n";
  auto r = parseConfigText(text, "arrays.conf", ".",
                           environment({{"ES_HOST", "es.local"}, {"QUOTE", "a\"b\\c\n"}, {"K", "key"}}));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  const Element* source = r->children("source")[0];
  EXPECT_EQ(source->find("hosts")->value, R"(["es.local:9200","b"])");
  EXPECT_EQ(source->find("quoted")->value, R"(["a\"b\\c\n"])");
  EXPECT_EQ(source->find("unset")->value, R"(["",1])");
  EXPECT_EQ(source->find("labels")->value, R"({"key":"v-2","n":2})");
  EXPECT_EQ(source->find("multi")->value, R"(["a","key"])");
  EXPECT_EQ(source->find("kept")->value, R"(["#{ENV['K']}"])");
}

TEST(RubyEvalConfigTest, JsonStringRubyErrorsNameTheConstruct) {
  auto r = parseConfigText("k [\"#{system('id')}\"]\n", "bad.conf", ".", environment({}));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("system"), std::string::npos) << r.status().message();
  r = parseConfigText("k [\"#{use_nil}\"]\n", "bad.conf", ".", environment({}));
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("use_nil"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace sluice::config
