// SPDX-License-Identifier: Apache-2.0
// rewrite_tag_filter in real pipelines (its events re-enter the router), with the cases of
// fluent-plugin-rewrite-tag-filter's test_out_rewrite_tag_filter.rb: the Google domains and user
// agents, capitalize_regex_backreference, remove_tag_prefix, ${tag_parts[N]}, invert, labels,
// unknown placeholders, and the configuration errors.

#include <gtest/gtest.h>

#include "plugins/out_rewrite_tag_filter/rewrite_tag_filter_output.h"
#include "support/alloc_counter.h"
#include "support/capture_output.h"
#include "support/pipeline_fixture.h"
#include "support/test_support.h"

namespace sluice::plugins::out_rewrite_tag_filter {
namespace {

using testing::CaptureStore;

class RewriteTagFilterTest : public testing::PipelineFixture {
 protected:
  void emit(engine::Pipeline& p, std::string_view tag, const std::vector<std::string>& records) {
    Batch b = testing::batchOf(records, tag);
    ASSERT_TRUE(p.inputs()[0]->emit(b).isOk());
  }
  // The tags the capture output saw, in order.
  std::vector<std::string> tags(const std::string& id) {
    std::vector<std::string> out;
    for (const std::string& line : CaptureStore::get().lines(id)) out.push_back(line.substr(0, line.find(' ')));
    return out;
  }
  std::string errorOf(const std::string& text) {
    auto p = build(text);
    return p ? "" : p.status().message();
  }
};

const std::vector<std::string> kAccess = {
    R"({"domain":"www.google.com","path":"/foo/bar?key=value","agent":"Googlebot","response_time":1000000})",
    R"({"domain":"news.google.com","path":"/","agent":"Googlebot-Mobile","response_time":900000})",
    R"({"domain":"map.google.com","path":"/","agent":"Macintosh; Intel Mac OS X 10_7_4","response_time":900000})",
    R"({"domain":"labs.google.com","path":"/","agent":"Mozilla/5.0 Googlebot-FooBar/2.1","response_time":900000})",
    R"({"domain":"tagtest.google.com","path":"/","agent":"Googlebot","response_time":900000})",
    R"({"domain":"noop.example.com","path":"/","agent":"Googlebot","response_time":900000})",
};

const char* kCapture = "<match **>\n @type capture\n @id out\n</match>\n";

std::string rule(const std::string& key, const std::string& pattern, const std::string& tag, const std::string& extra = "") {
  return " <rule>\n  key " + key + "\n  pattern " + pattern + "\n  tag " + tag + "\n" + extra + " </rule>\n";
}

TEST_F(RewriteTagFilterTest, FirstMatchingRuleChoosesTheTag) {
  auto* p = &mustBuild("<match input.access>\n @type rewrite_tag_filter\n emit_mode record\n" +
                     rule("domain", "^www\\.google\\.com$", "site.Google") +
                     rule("domain", "^news\\.google\\.com$", "site.GoogleNews") +
                     rule("agent", ".* Mac OS X .*", "agent.MacOSX") +
                     rule("agent", "(Googlebot|CustomBot)-([a-zA-Z]+)", "agent.$1-$2") +
                     rule("domain", "^(tagtest)\\.google\\.com$", "site.${tag}.$1") + "</match>\n" + kCapture);
  emit(*p, "input.access", kAccess);
  EXPECT_EQ(tags("out"), (std::vector<std::string>{"site.Google", "site.GoogleNews", "agent.MacOSX",
                                                   "agent.Googlebot-FooBar", "site.input.access.tagtest"}));
  // The record is unchanged.
  EXPECT_NE(CaptureStore::get().lines("out")[1].find(R"("domain":"news.google.com")"), std::string::npos);
}

TEST_F(RewriteTagFilterTest, CapitalizeBackreferencesAndCommentsAfterValues) {
  auto* p = &mustBuild("<match input.access>\n @type rewrite_tag_filter\n capitalize_regex_backreference yes\n" +
                     rule("domain", "^www\\.google\\.com$", "site.Google # some comment") +
                     rule("domain", "^(news)\\.(google)\\.com$", "site.$2$1") +
                     rule("agent", "^.* Mac OS X .*$", "agent.MacOSX") +
                     rule("agent", "(Googlebot|CustomBot)-([a-zA-Z]+)", "agent.$1-$2") + "</match>\n" + kCapture);
  emit(*p, "input.access", std::vector<std::string>(kAccess.begin(), kAccess.begin() + 4));
  EXPECT_EQ(tags("out"),
            (std::vector<std::string>{"site.Google", "site.GoogleNews", "agent.MacOSX", "agent.Googlebot-Foobar"}));
}

TEST_F(RewriteTagFilterTest, RemoveTagPrefixAndTagParts) {
  auto* p = &mustBuild("<match input.**>\n @type rewrite_tag_filter\n remove_tag_prefix input\n" +
                     rule("domain", "^www\\.google\\.com$", "${tag}") +
                     rule("domain", "^news", "news.${tag_parts[0]}.__TAG_PARTS[1]__.${tag_parts[5]}end") +
                     rule("domain", "^map", "map.__TAG__.__HOSTNAME__") + "</match>\n" + kCapture);
  emit(*p, "input.access.web", std::vector<std::string>(kAccess.begin(), kAccess.begin() + 3));
  const std::string host = [] {
    char h[256] = {0};
    gethostname(h, sizeof h - 1);
    return std::string(h);
  }();
  EXPECT_EQ(tags("out"), (std::vector<std::string>{"access.web", "news.access.web.end", "map.access.web." + host}));
}

TEST_F(RewriteTagFilterTest, RemoveTagRegexpAndHostnameCommand) {
  auto* p = &mustBuild("<match {kube,k8s}.**>\n @type rewrite_tag_filter\n remove_tag_regexp /^(kube|k8s)\\./\n"
                     " hostname_command hostname -s\n" +
                     rule("domain", ".", "x.${tag}.${hostname}") + "</match>\n" + kCapture);
  emit(*p, "kube.app", {kAccess[0]});
  const std::string host = [] {
    char h[256] = {0};
    gethostname(h, sizeof h - 1);
    std::string s(h);
    return s.substr(0, s.find('.'));
  }();
  EXPECT_EQ(tags("out"), (std::vector<std::string>{"x.app." + host}));
}

TEST_F(RewriteTagFilterTest, InvertMissingFieldsAndNonStringValues) {
  auto* p = &mustBuild("<match app>\n @type rewrite_tag_filter\n" +
                     rule("level", "^(debug|trace)$", "kept.$1", "  invert true\n") +
                     rule("code", "^5\\d\\d$", "error.$0x") + "</match>\n" + kCapture);
  emit(*p, "app", {R"({"level":"debug","code":503})", R"({"level":"info"})", R"({"code":200})", R"({"x":1})"});
  // invert: no captures are substituted (Fluentd leaves $1 as it is); a missing field does not
  // match, so invert rewrites it; the second rule reads the number's text.
  EXPECT_EQ(tags("out"), (std::vector<std::string>{"error.x", "kept.$1", "kept.$1", "kept.$1"}));
}

TEST_F(RewriteTagFilterTest, UnrewrittenAndSameTagEventsAreDropped) {
  auto* p = &mustBuild("<match app.**>\n @type rewrite_tag_filter\n" + rule("domain", "google", "${tag}") +
                     rule("domain", "example", "app.done") + "</match>\n" + kCapture);
  emit(*p, "app.done", kAccess);  // all rewritten to their own tag: dropped, no loop
  EXPECT_TRUE(tags("out").empty());
  emit(*p, "app.in", {kAccess[0], kAccess[5], R"({"other":1})"});
  // The google event becomes app.in again (dropped); the example one app.done, which the same
  // match rewrites to itself (dropped): nothing is captured, and nothing loops.
  EXPECT_TRUE(tags("out").empty());
}

TEST_F(RewriteTagFilterTest, ReemitsThroughFiltersOfTheNewTagInsideItsLabel) {
  auto* p = &mustBuild(
      "<source>\n @type sample\n tag unused\n @label @IN\n</source>\n"
      "<label @IN>\n"
      " <match raw.**>\n  @type rewrite_tag_filter\n" + rule("level", "^(\\w+)$", "clean.$1") +
      " </match>\n"
      " <filter clean.error>\n  @type record_transformer\n  <record>\n   seen yes\n  </record>\n </filter>\n"
      " <match clean.**>\n  @type capture\n  @id in_label\n </match>\n"
      "</label>\n"
      "<match **>\n @type capture\n @id root\n</match>\n");
  Batch b = testing::batchOf({R"({"level":"error"})", R"({"level":"info"})"}, "raw.app");
  ASSERT_TRUE(p->inputs()[1]->emit(b).isOk());
  auto lines = CaptureStore::get().lines("in_label");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], R"(clean.error {"level":"error","seen":"yes"})");
  EXPECT_EQ(lines[1], R"(clean.info {"level":"info"})");
  EXPECT_TRUE(CaptureStore::get().lines("root").empty());
}

TEST_F(RewriteTagFilterTest, RuleAndPluginLabelsAndBatchModeGrouping) {
  auto* p = &mustBuild("<match app>\n @type rewrite_tag_filter\n" + rule("k", "^a", "t.a") +
                     rule("k", "^b", "app", "  label @B\n") + rule("k", "^c", "t.c") + "</match>\n" +
                     "<label @B>\n <match **>\n  @type capture\n  @id b\n </match>\n</label>\n" + kCapture);
  emit(*p, "app", {R"({"k":"a1"})", R"({"k":"c1"})", R"({"k":"b1"})", R"({"k":"a2"})", R"({"k":"c2"})"});
  // Batch mode (the default): grouped by tag in order of first appearance.
  EXPECT_EQ(tags("out"), (std::vector<std::string>{"t.a", "t.a", "t.c", "t.c"}));
  // A rule's label takes the event even with its own tag.
  EXPECT_EQ(tags("b"), (std::vector<std::string>{"app"}));
}

TEST_F(RewriteTagFilterTest, ALoopOfRewritesIsCutAndCounted) {
  auto* p = &mustBuild("<match a>\n @type rewrite_tag_filter\n" + rule("k", ".", "b") + "</match>\n" +
                     "<match b>\n @type rewrite_tag_filter\n" + rule("k", ".", "a") + "</match>\n" + kCapture);
  emit(*p, "a", {R"({"k":"x"})"});
  EXPECT_TRUE(tags("out").empty());
}

TEST_F(RewriteTagFilterTest, ConfigErrors) {
  auto expectError = [&](const std::string& body, const std::string& needle) {
    std::string e = errorOf("<match app>\n @type rewrite_tag_filter\n" + body + "</match>\n");
    EXPECT_NE(e.find(needle), std::string::npos) << body << " -> " << e;
  };
  expectError("", "missing rewriterules");
  expectError(" rewriterule1 domain ^www$ site\n", "rewriterule<num>");
  expectError(rule("a", "b", "${tag_parts[0..2]}"), "range");
  expectError(rule("a", "b", "__TAG_PARTS[0...2]__"), "range");
  expectError(rule("a", "b", "x") + rule("a", "b", "y"), "duplicated");
  expectError(" remove_tag_prefix a\n remove_tag_regexp /b/\n" + rule("a", "b", "x"), "exclusive");
  expectError(" hostname_command curl evil\n" + rule("a", "b", "x"), "runs no commands");
  expectError(rule("a", "(?=x)", "x"), "pattern");
  expectError(rule("a", "b", "x", "  label @NOPE\n"), "@NOPE");
  expectError(" <rule>\n  key a\n  tag x\n </rule>\n", "pattern");
}

TEST(RewriteTagTemplateTest, Pieces) {
  using K = RewriteTagFilterOutput::Piece::Kind;
  auto p = RewriteTagFilterOutput::parseTemplate("a.$1.${tag}.__TAG__.${tag_parts[2]}.__TAG_PARTS[3]__.${hostname}.${foo}.__BAR__.$$x");
  ASSERT_TRUE(p.isOk());
  std::vector<K> kinds;
  for (const auto& piece : *p) kinds.push_back(piece.kind);
  EXPECT_EQ(kinds, (std::vector<K>{K::Text, K::Capture, K::Text, K::Tag, K::Text, K::Tag, K::Text, K::TagPart, K::Text,
                                   K::TagPart, K::Text, K::Hostname, K::Text, K::Unknown, K::Text, K::Unknown, K::Text}));
  EXPECT_EQ((*p).back().text, ".$$x");
}

TEST_F(RewriteTagFilterTest, WarmBatchAllocatesNothingPerRecord) {
  auto* p = &mustBuild("<match app>\n @type rewrite_tag_filter\n" + rule("level", "^(\\w+)$", "lvl.$1") + "</match>\n" +
                     "<match lvl.**>\n @type null\n</match>\n");
  std::vector<std::string> records;
  for (int i = 0; i < 500; ++i) records.push_back(R"({"level":"info","n":)" + std::to_string(i) + "}");
  Batch warm = testing::batchOf(records, "app");
  ASSERT_TRUE(p->inputs()[0]->emit(warm).isOk());
  Batch b1 = testing::batchOf(std::vector<std::string>(records.begin(), records.begin() + 10), "app");
  Batch b2 = testing::batchOf(records, "app");
  size_t small, large;
  {
    testing::AllocationCounter counter;
    ASSERT_TRUE(p->inputs()[0]->emit(b1).isOk());
    small = counter.count();
  }
  {
    testing::AllocationCounter counter;
    ASSERT_TRUE(p->inputs()[0]->emit(b2).isOk());
    large = counter.count();
  }
  // Per batch, not per record: 50 times the records, the same allocations.
  EXPECT_EQ(large, small);
}

}  // namespace
}  // namespace sluice::plugins::out_rewrite_tag_filter
