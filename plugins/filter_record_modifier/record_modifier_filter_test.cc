// SPDX-License-Identifier: Apache-2.0
// Cases of fluent-plugin-record-modifier's test/test_filter_record_modifier.rb and README,
// restated; one through a real sluice process.
#include "plugins/filter_record_modifier/record_modifier_filter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "support/test_support.h"

namespace sluice::plugins::filter_record_modifier {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

std::vector<std::string> run(const std::string& config, const std::vector<std::string>& records,
                             std::string_view tag = "test.tag") {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "record_modifier", config);
  Batch b = batchOf(records, tag, 1795309323LL * kNanosPerSecond + 700000000);
  filter->process(b);
  return jsonRecords(b);
}

std::string configError(const std::string& config) {
  PluginFactory f;
  auto r = f.make(PluginKind::Filter, "record_modifier", config);
  EXPECT_FALSE(r.isOk()) << config;
  return r.isOk() ? "" : r.status().message();
}

// test_format: the CONFIG of the plugin's tests (its gen_host "#{Socket.gethostname}" is in
// the process test below: the config reader evaluates it, not the filter).
TEST(RecordModifierTest, RecordFieldsAndRemoveKeys) {
  const std::string host = "oreore-mac.local";
  auto out = run("remove_keys hoge\n<record>\n gen_host " + host + "\n foo bar\n included_tag ${tag}\n"
                 " tag_wrap -${tag_parts[0]}-${tag_parts[1]}-\n</record>",
                 {R"({"a":1})", R"({"a":2,"hoge":"x"})"});
  std::string mapped = std::string(R"("gen_host":")") + host + R"(","foo":"bar","included_tag":"test.tag","tag_wrap":"-test-tag-"})";
  EXPECT_EQ(out, (std::vector<std::string>{R"({"a":1,)" + mapped, R"({"a":2,)" + mapped}));
}

TEST(RecordModifierTest, RemoveOneAndMultipleKeys) {
  EXPECT_EQ(run("remove_keys k1", {R"({"k1":"v","k2":"v"})"}), (std::vector<std::string>{R"({"k2":"v"})"}));
  EXPECT_EQ(run("remove_keys k1, k2, k3", {R"({"k1":"v","k2":"v","k4":"v"})"}), (std::vector<std::string>{R"({"k4":"v"})"}));
  // record_accessor syntax (v2.2): nested keys.
  EXPECT_EQ(run("remove_keys $.a.b", {R"({"a":{"b":1,"c":2}})"}), (std::vector<std::string>{R"({"a":{"c":2}})"}));
}

TEST(RecordModifierTest, WhitelistKeysKeepOnlyThose) {
  const std::vector<std::string> in = {R"({"k1":"v","k2":"v","k4":"v","k5":"v"})"};
  const std::vector<std::string> want = {R"({"k1":"v","k2":"v"})"};
  EXPECT_EQ(run("whitelist_keys k1, k2, k3", in), want);
  EXPECT_EQ(run("allowlist_keys k1, k2, k3", in), want);
}

// README "replace_keys_value": {"key1":"hoge","key2":"hoge","key3":"bar"} → horse, horse, bar.
TEST(RecordModifierTest, ReplaceSections) {
  EXPECT_EQ(run("<replace>\n key key1\n expression /^(?<start>.+).{2}(?<end>.+)$/\n replace \\k<start>ors\\k<end>\n</replace>\n"
                "<replace>\n key key2\n expression /^(.{1}).{2}(.{1})$/\n replace \\1ors\\2\n</replace>",
                {R"({"key1":"hoge","key2":"hoge","key3":"bar","key4":1})"}),
            (std::vector<std::string>{R"({"key1":"horse","key2":"horse","key3":"bar","key4":1})"}));
  // gsub: every match; a field that does not match, or is absent, is left alone.
  EXPECT_EQ(run("<replace>\n key m\n expression /o/\n replace 0\n</replace>\n<replace>\n key none\n expression /x/\n replace y\n</replace>",
                {R"({"m":"foo boo"})", R"({"m":"abc"})"}),
            (std::vector<std::string>{R"({"m":"f00 b00"})", R"({"m":"abc"})"}));
}

// record[k] = expand(..., record, ...): each field sees the ones set before it; a value that
// is the whole template keeps its type; a missing one is nil.
TEST(RecordModifierTest, RubyValueSemantics) {
  EXPECT_EQ(run("<record>\n a ${record[\"x\"]}\n b <${record['a']}>\n n ${record[\"count\"]}\n m ${record.dig(\"k\", \"m\")}\n"
                " nested ${record['k']}\n text k=${record['k']} c=${record[\"count\"]} f=${record['f']}\n"
                " missing ${record['nope']}\n missing_text <${record['nope']}>\n first ${record['l'][0]}\n"
                " t ${time}\n tt t=${time}\n p ${tag_parts[-1]}\n q ${tag_parts[5]}\n</record>",
                {R"({"x":"X","count":3,"f":1.5,"k":{"m":"hi"},"l":[7,8]})"}),
            (std::vector<std::string>{
                R"({"x":"X","count":3,"f":1.5,"k":{"m":"hi"},"l":[7,8],"a":"X","b":"<X>","n":3,"m":"hi",)"
                R"("nested":{"m":"hi"},"text":"k={\"m\"=>\"hi\"} c=3 f=1.5","missing":null,"missing_text":"<>","first":7,)"
                R"("t":1795309323,"tt":"t=1795309323","p":"tag","q":null})"}));
}

TEST(RecordModifierTest, CharEncoding) {
  // utf-8 alone names the encoding: the bytes stay as they are.
  EXPECT_EQ(run("char_encoding utf-8", {R"({"k":"v","a":["v","ビ"],"h":{"l":"ビ"}})"}),
            (std::vector<std::string>{R"({"k":"v","a":["v","ビ"],"h":{"l":"ビ"}})"}));
  // utf-8:cp932 converts every string, nested ones too (ビ is 0x83 0x72 in cp932).
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "record_modifier", "char_encoding utf-8:cp932");
  Batch b = batchOf({R"({"k":"v","a":["v","ビ"],"h":{"l":"ビ"},"n":1})"});
  filter->process(b);
  const Value& r = b.events()[0].record;
  EXPECT_EQ(r.find("k")->asString(), "v");
  EXPECT_EQ(r.find("a")->items()[1].asString(), "\x83\x72");
  EXPECT_EQ(r.find("h")->find("l")->asString(), "\x83\x72");
  EXPECT_EQ(r.find("n")->asInt(), 1);
  // Invalid input and characters the target lacks are replaced, as Ruby's encode(invalid: :replace, undef: :replace).
  auto latin = f.mustMake<Filter>(PluginKind::Filter, "record_modifier", "char_encoding utf-8:iso-8859-1");
  Batch b2 = batchOf({R"({"s":"é€x"})"});
  latin->process(b2);
  EXPECT_EQ(b2.events()[0].record.find("s")->asString(), "\xE9?x");
}

TEST(RecordModifierTest, TopLevelFieldsAreTheDeprecatedForm) {
  EXPECT_EQ(run("foo bar\nt ${tag}", {R"({"a":1})"}), (std::vector<std::string>{R"({"a":1,"foo":"bar","t":"test.tag"})"}));
}

TEST(RecordModifierTest, ConfigErrors) {
  EXPECT_NE(configError("prepare_value require 'foo'; @foo = Foo.new\n<record>\n key ${@foo.method1}\n</record>").find("sluice runs no Ruby"),
            std::string::npos);
  EXPECT_NE(configError("remove_keys a\nwhitelist_keys b").find("exclusive"), std::string::npos);
  EXPECT_NE(configError("<record>\n h ${hostname}\n</record>").find("Socket.gethostname"), std::string::npos);
  EXPECT_NE(configError("<record>\n h __HOSTNAME__\n</record>").find("Socket.gethostname"), std::string::npos);
  EXPECT_NE(configError("include_tag_key true").find("'tag ${tag}'"), std::string::npos);
  // The README's Ruby expression: refused, naming it.
  std::string m = configError("<record>\n new_field foo:${record['key1'] + record['dict']['key']}\n</record>");
  EXPECT_NE(m.find("${record['key1'] + record['dict']['key']}"), std::string::npos) << m;
  EXPECT_NE(m.find("new_field"), std::string::npos) << m;
  EXPECT_NE(configError("<record>\n x ${foo}\n</record>").find("Ruby code"), std::string::npos);
  EXPECT_NE(configError("char_encoding nosuch-enc").find("nosuch-enc"), std::string::npos);
  EXPECT_NE(configError("<replace>\n key a\n expression /(a)/\n replace \\k<nope>\n</replace>").find("nope"), std::string::npos);
}

// Through a real process: stdin -> record_modifier -> stdout.
TEST(RecordModifierTest, InAPipeline) {
  testing::TempDir dir;
  testing::writeFile(dir.file("c.conf"),
                     "<source>\n @type stdin\n tag app.web\n <parse>\n  @type json\n </parse>\n</source>\n"
                     "<filter app.**>\n @type record_modifier\n whitelist_keys message, service, gen_host\n"
                     " <record>\n  service ${tag_parts[1]}\n  gen_host \"#{Socket.gethostname}\"\n </record>\n</filter>\n"
                     "<match app.**>\n @type stdout\n <format>\n  @type json\n </format>\n</match>\n");
  auto r = testing::runSluice({"-c", dir.file("c.conf"), "--strict"}, "{\"message\":\"hi\",\"noise\":1}\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  char host[256] = {0};
  ASSERT_EQ(gethostname(host, sizeof host - 1), 0);
  EXPECT_EQ(r.out, std::string("{\"message\":\"hi\",\"service\":\"web\",\"gen_host\":\"") + host + "\"}\n");
}

}  // namespace
}  // namespace sluice::plugins::filter_record_modifier
