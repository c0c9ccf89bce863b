// SPDX-License-Identifier: Apache-2.0
// Element-level cases ported from Fluentd's test/config/test_config_parser.rb, plus sluice's
// own error cases (every error names file:line).

#include <gtest/gtest.h>

#include "config/parser.h"
#include "support/test_support.h"

namespace sluice::config {
namespace {

using testing::TempDir;
using testing::writeFile;

Result<Element> parse(std::string_view text) {
  return parseConfigText(text, "test.conf", ".", EvalEnvironment{});
}

std::string value(const Element& e, std::string_view key) {
  const Param* p = e.find(key);
  return p ? p->value : "<absent>";
}

TEST(ConfigParserTest, ParsesAttributes) {
  auto r = parse("\n  k1 v1\n  k2 v2\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(value(*r, "k1"), "v1");
  EXPECT_EQ(value(*r, "k2"), "v2");
}

TEST(ConfigParserTest, AllowsAttributeWithoutValue) {
  auto r = parse("\n  k1\n  k2 v2\n");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(value(*r, "k1"), "");
  EXPECT_EQ(value(*r, "k2"), "v2");
}

TEST(ConfigParserTest, AttributeKeyIsAlwaysString) {
  auto r = parse("1 1");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(value(*r, "1"), "1");
}

TEST(ConfigParserTest, ValuesWithSymbols) {
  for (const char* v : {"_.%$!,", "/=~-~@`:?", "()*{}.[]"}) {
    auto r = parse(std::string("k ") + v);
    ASSERT_TRUE(r.isOk()) << v;
    EXPECT_EQ(value(*r, "k"), v);
  }
}

TEST(ConfigParserTest, SpacingAroundAndInsideValues) {
  EXPECT_EQ(value(*parse("  k1     a    "), "k1"), "a");
  EXPECT_EQ(value(*parse("k1 a  b  c"), "k1"), "a  b  c");
}

TEST(ConfigParserTest, UnquotedCommentsAndBackslashes) {
  EXPECT_EQ(value(*parse("  k1 #not_comment"), "k1"), "#not_comment");
  EXPECT_EQ(value(*parse("  k1 a#not_comment"), "k1"), "a#not_comment");
  EXPECT_EQ(value(*parse("  k1 a #comment"), "k1"), "a");
  EXPECT_EQ(value(*parse("  k1 \\\\"), "k1"), "\\\\");
  EXPECT_EQ(value(*parse("  k1 \\"), "k1"), "\\");
  EXPECT_EQ(value(*parse("  k1 \\["), "k1"), "\\[");
  EXPECT_EQ(value(*parse("  k1 \\n"), "k1"), "\\n");
}

TEST(ConfigParserTest, DoubleQuotedStrings) {
  EXPECT_EQ(value(*parse("  k1 \"a#comment\""), "k1"), "a#comment");
  EXPECT_FALSE(parse("  k1 \"a\" 1").isOk());
  EXPECT_EQ(value(*parse("  k1 \"\\\\\""), "k1"), "\\");
  EXPECT_FALSE(parse("  k1 \"\\\"").isOk());
  EXPECT_EQ(value(*parse("  k1 \"\\\"\""), "k1"), "\"");
  EXPECT_FALSE(parse("  k1 \"\"\"").isOk());
  EXPECT_EQ(value(*parse("  k1 \"\\[\""), "k1"), "[");
  EXPECT_EQ(value(*parse("  k1 \"\\n\""), "k1"), "\n");
}

TEST(ConfigParserTest, SingleQuotedStrings) {
  EXPECT_EQ(value(*parse("  k1 'a#comment'"), "k1"), "a#comment");
  EXPECT_FALSE(parse("  k1 'a' 1").isOk());
  EXPECT_EQ(value(*parse("  k1 '\\\\'"), "k1"), "\\");
  EXPECT_FALSE(parse("  k1 '\\'").isOk());
  EXPECT_EQ(value(*parse("  k1 '\\''"), "k1"), "'");
  EXPECT_FALSE(parse("  k1 '''").isOk());
  EXPECT_EQ(value(*parse("  k1 '\\['"), "k1"), "\\[");
  EXPECT_EQ(value(*parse("  k1 '\\n'"), "k1"), "\\n");
}

TEST(ConfigParserTest, RejectsUnknownAtParametersInDirectives) {
  for (const char* text : {"<match>\n  @k v\n</match>\n", "<source>\n  @k v\n</source>\n",
                           "<filter>\n  @k v\n</filter>\n", "  @k v "}) {
    EXPECT_FALSE(parse(text).isOk()) << text;
  }
  EXPECT_TRUE(parse("<match>\n  <record>\n    @k v\n  </record>\n</match>\n").isOk());
}

TEST(ConfigParserTest, ParsesElements) {
  auto r = parse("\n<test var>\n  key 1\n  <nested1>\n  </nested1>\n  <nested2>\n  </nested2>\n</test>\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  ASSERT_EQ(r->elements.size(), 1u);
  const Element& t = r->elements[0];
  EXPECT_EQ(t.name, "test");
  EXPECT_EQ(t.arg, "var");
  EXPECT_EQ(value(t, "key"), "1");
  ASSERT_EQ(t.elements.size(), 2u);
  EXPECT_EQ(t.elements[0].name, "nested1");
  EXPECT_EQ(t.elements[1].name, "nested2");
}

TEST(ConfigParserTest, MultilineJsonValue) {
  auto r = parse("<test var>\n  key [\"a\",\n\"b\", \"c\",\n\"d\"]\n</test>\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(value(r->elements[0], "key"), "[\"a\",\"b\",\"c\",\"d\"]");
}

TEST(ConfigParserTest, ElementArguments) {
  EXPECT_EQ(parse("<test >\n</test>\n")->elements[0].arg, "");
  EXPECT_EQ(parse("<test    a    >\n</test>\n")->elements[0].arg, "a");
  EXPECT_EQ(parse("<test    a.** b.** >\n</test>\n")->elements[0].arg, "a.** b.**");
  for (const char* arg : {"**", "*.*", "1", "_.%$!", "/", "()*{}.[]"}) {
    auto r = parse(std::string("<test ") + arg + ">\n</test>\n");
    ASSERT_TRUE(r.isOk()) << arg;
    EXPECT_EQ(r->elements[0].arg, arg);
  }
}

TEST(ConfigParserTest, ElementErrors) {
  EXPECT_FALSE(parse("<test #a>\n</test>\n").isOk());
  EXPECT_FALSE(parse("<test></test>\n").isOk());
  EXPECT_FALSE(parse("<test>\n</test><test>\n</test>\n").isOk());
}

TEST(ConfigParserTest, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* where;
    const char* what;
  };
  const Case cases[] = {
      {"<source>\n  @type stdin\n", "test.conf:1", "not closed"},
      {"<source>\n  k v\n</match>\n", "test.conf:3", "unmatched end tag"},
      {"a 1\nb \"unterminated\n", "test.conf:2", "unterminated double-quoted"},
      {"a 1\n\nb 'x\n", "test.conf:3", "unterminated single-quoted"},
      {"x [1,\n2\n", "test.conf:1", "incomplete JSON array"},
      {"x \"#{ENV.fetch('NOPE_UNSET_VAR')}\"\n", "test.conf:1", "NOPE_UNSET_VAR"},
      {"\n\n<match a\n</match>\n", "test.conf:3", "expected '>'"},
  };
  for (const Case& c : cases) {
    auto r = parse(c.text);
    ASSERT_FALSE(r.isOk()) << c.text;
    EXPECT_NE(r.status().message().find(c.where), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(c.what), std::string::npos) << r.status().message();
  }
}

TEST(ConfigParserTest, LastDuplicateKeyWins) {
  EXPECT_EQ(value(*parse("k 1\nk 2\n"), "k"), "2");
}

TEST(ConfigParserTest, IncludesLikeFluentd) {
  TempDir dir;
  const std::string d = dir.path();
  ASSERT_EQ(system(("mkdir -p " + d + "/dir " + d + "/config.d").c_str()), 0);
  writeFile(d + "/config_test_1.conf",
            "k1 root_config\ninclude dir/config_test_2.conf  #\n@include " + d +
                "/config_test_4.conf\ninclude file://" + d + "/config_test_5.conf\n@include config.d/*.conf\n");
  writeFile(d + "/dir/config_test_2.conf", "k2 relative_path_include\n@include ../config_test_3.conf\n");
  writeFile(d + "/config_test_3.conf", "k3 relative_include_in_included_file\n");
  writeFile(d + "/config_test_4.conf", "k4 absolute_path_include\n");
  writeFile(d + "/config_test_5.conf", "k5 uri_include\n");
  writeFile(d + "/config.d/config_test_6.conf", "k6 wildcard_include_1\n<elem1 name>\n  include normal_parameter\n</elem1>\n");
  writeFile(d + "/config.d/config_test_7.conf", "k7 wildcard_include_2\n");
  writeFile(d + "/config.d/config_test_8.conf", "<elem2 name>\n  @include ../dir/config_test_9.conf\n</elem2>\n");
  writeFile(d + "/dir/config_test_9.conf", "k9 embeded\n<elem3 name>\n  nested nested_value\n  include hoge\n</elem3>\n");
  writeFile(d + "/config.d/00_config_test_8.conf", "k8 wildcard_include_3\n<elem4 name>\n  include normal_parameter\n</elem4>\n");

  auto r = parseConfigFile(d + "/config_test_1.conf", EvalEnvironment{});
  ASSERT_TRUE(r.isOk()) << r.status().message();
  std::vector<std::string> keys;
  for (const Param& p : r->params) keys.push_back(p.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"k1", "k2", "k3", "k4", "k5", "k8", "k6", "k7"}));
  EXPECT_EQ(value(*r, "k3"), "relative_include_in_included_file");
  const Element* elem1 = r->children("elem1").at(0);
  EXPECT_EQ(elem1->arg, "name");
  EXPECT_EQ(value(*elem1, "include"), "normal_parameter");
  const Element* elem2 = r->children("elem2").at(0);
  EXPECT_EQ(value(*elem2, "k9"), "embeded");
  EXPECT_EQ(elem2->find("include"), nullptr);
  const Element* elem3 = elem2->children("elem3").at(0);
  EXPECT_EQ(value(*elem3, "nested"), "nested_value");
  EXPECT_EQ(value(*elem3, "include"), "hoge");
  // Locations follow the included file.
  EXPECT_NE(elem3->where.str().find("config_test_9.conf:2"), std::string::npos) << elem3->where.str();
}

TEST(ConfigParserTest, IncludeCycleIsAnError) {
  TempDir dir;
  writeFile(dir.file("a.conf"), "@include b.conf\n");
  writeFile(dir.file("b.conf"), "x 1\n@include a.conf\n");
  auto r = parseConfigFile(dir.file("a.conf"), EvalEnvironment{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("include cycle"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("b.conf:2"), std::string::npos) << r.status().message();
}

TEST(ConfigParserTest, MissingIncludeIsAnErrorButEmptyGlobIsNot) {
  TempDir dir;
  writeFile(dir.file("a.conf"), "@include nope.conf\n");
  auto r = parseConfigFile(dir.file("a.conf"), EvalEnvironment{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("a.conf:1"), std::string::npos);
  writeFile(dir.file("b.conf"), "@include conf.d/*.conf\nk v\n");
  EXPECT_TRUE(parseConfigFile(dir.file("b.conf"), EvalEnvironment{}).isOk());
}

TEST(ConfigParserTest, ToStringRoundTrips) {
  const char* original = "a\\\\\\n\\r\\f\\b'\"z";
  auto conf = parse(std::string("k1 ") + original);
  ASSERT_TRUE(conf.isOk());
  EXPECT_EQ(value(*conf, "k1"), original);
  auto again = parse(conf->toString());
  ASSERT_TRUE(again.isOk()) << again.status().message() << "\n" << conf->toString();
  EXPECT_EQ(value(again->elements.at(0), "k1"), original);
}

TEST(ConfigParserTest, UseDefaultAndUseNilAreMarked) {
  auto r = parse("a \"#{ENV['UNSET_X'] || use_default}\"\nb \"#{use_nil}\"\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->find("a")->special, Param::Special::UseDefault);
  EXPECT_EQ(r->find("b")->special, Param::Special::Nil);
}

}  // namespace
}  // namespace sluice::config

namespace sluice::config {
namespace {

// Issue 15 item 4: `@include /etc/shadow` printed every line back in warnings.
TEST(HostileConfigTest, IncludeOfANonConfigFileNeverEchoesIt) {
  TempDir dir;
  writeFile(dir.file("shadow"),
            "root:$6$Qv5s1Xz9$SECRETHASHaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:19000:0:99999:7:::\n"
            "daemon:*:19000:0:99999:7:::\n");
  writeFile(dir.file("main.conf"), "<source>\n @type stdin\n</source>\n@include " + dir.file("shadow") + "\n");
  auto r = parseConfigFile(dir.file("main.conf"), EvalEnvironment{});
  ASSERT_FALSE(r.isOk());
  const std::string& m = r.status().message();
  EXPECT_NE(m.find(dir.file("shadow") + ":1: this line is not a parameter"), std::string::npos) << m;
  EXPECT_EQ(m.find("SECRETHASH"), std::string::npos) << m;
  EXPECT_EQ(m.find("root"), std::string::npos) << m;
  // A PEM block: its base64 lines are longer than any parameter name.
  writeFile(dir.file("key.pem"), "MIIEowIBAAKCAQEAw9Yq3Vb0aW5ZkT1gQmXxR2c3LzV8nKq0pWm7JdHs1tYyAaBbCcDd\n");
  writeFile(dir.file("k.conf"), "@include key.pem\n");
  r = parseConfigFile(dir.file("k.conf"), EvalEnvironment{});
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message().find("MIIE"), std::string::npos) << r.status().message();
  // Ordinary names, keys without values and quoted keys are still parameters.
  EXPECT_TRUE(parse("k-1 x\n$.a.b c\n@type x\nretry_forever\n\"any: thing\" v\n").isOk());
}

// Issue 15 item 10: 20,000 nested sections were a SIGSEGV.
TEST(HostileConfigTest, DeepNestingIsAClearError) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "<s>\n";
  for (int i = 0; i < 20000; ++i) text += "</s>\n";
  auto r = parse(text);
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("test.conf:65: sections nested deeper than 64 levels"), std::string::npos)
      << r.status().message();
  std::string ok;
  for (int i = 0; i < 64; ++i) ok += "<s>\n";
  for (int i = 0; i < 64; ++i) ok += "</s>\n";
  EXPECT_TRUE(parse(ok).isOk());
  // A deep JSON value and a deep embedded expression are errors too.
  r = parse("k " + std::string(5000, '[') + std::string(5000, ']') + "\n");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("nested deeper than 1024"), std::string::npos) << r.status().message();
  r = parse("k \"#{" + std::string(20000, '(') + "'x'" + std::string(20000, ')') + "}\"\n");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("nested deeper than 32"), std::string::npos) << r.status().message();
  EXPECT_TRUE(parse("k \"#{((('x')))}\"\n").isOk());
}

TEST(HostileConfigTest, IncludeChainsHaveALimit) {
  TempDir dir;
  for (int i = 0; i < 40; ++i) {
    writeFile(dir.file(std::to_string(i) + ".conf"), "k" + std::to_string(i) + " v\n@include " + std::to_string(i + 1) + ".conf\n");
  }
  writeFile(dir.file("40.conf"), "end v\n");
  auto r = parseConfigFile(dir.file("0.conf"), EvalEnvironment{});
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("@include nested deeper than 32 files"), std::string::npos) << r.status().message();
}

// Issue 15 item 13: a UTF-8 BOM at the start of a config gave "unmatched end tag".
TEST(HostileConfigTest, Utf8BomAtTheStartIsIgnored) {
  auto r = parse("\xEF\xBB\xBF<source>\n @type stdin\n</source>\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->elements.at(0).name, "source");
  r = parse("\xEF\xBB\xBFk v\n");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(value(*r, "k"), "v");
}

}  // namespace
}  // namespace sluice::config
