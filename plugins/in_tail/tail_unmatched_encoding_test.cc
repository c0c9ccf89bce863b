// SPDX-License-Identifier: Apache-2.0
// emit_unmatched_lines and encoding/from_encoding through real files and inotify. The cases
// port Fluentd's test/plugin/test_in_tail.rb (test_multiline_with_emit_unmatched_lines_true,
// test_from_encoding, test_from_encoding_utf16, test_encoding_with_bad_character, the
// "encoding"/"from_encoding" configure cases) as facts.

#include "plugins/in_tail/tail_test_support.h"

namespace sluice::plugins::in_tail {
namespace {

using namespace testing;
using sluice::testing::waitFor;

// Fluentd's MULTILINE_CONFIG.
const std::string kMultiline =
    "multiline\nformat1 /^s (?<message1>[^\\n]+)(\\nf (?<message2>[^\\n]+))?(\\nf (?<message3>.*))?/\n"
    "format_firstline /^[s]/\n";
const std::string kFluentdLines = "f test1\ns test2\nf test3\nf test4\ns test5\ns test6\nf test7\ns test8\n";

std::vector<std::string> jsonOf(const std::vector<std::string>& records) {
  std::vector<std::string> out;
  for (const std::string& r : records) out.push_back(r.substr(r.find(' ') + 1));
  return out;
}

// A line before the first format_firstline match is emitted as {"unmatched_line": …}, first,
// then the joined events; the last event waits for multiline_flush_interval.
TEST_F(TailInputTest, EmitUnmatchedLinesWithAMultilineParserEmitsTheLinesBeforeTheFirstLine) {
  startTail("emit_unmatched_lines true\nmultiline_flush_interval 5\n", kMultiline);
  awaitIdle();
  append(dir_.file("logs/a.log"), kFluentdLines);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  awaitIdle();
  clock_.advance(5 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 5; }));
  EXPECT_EQ(jsonOf(sink_.records()), (std::vector<std::string>{
                                         R"({"unmatched_line":"f test1"})",
                                         R"({"message1":"test2","message2":"test3","message3":"test4"})",
                                         R"({"message1":"test5"})",
                                         R"({"message1":"test6","message2":"test7"})",
                                         R"({"message1":"test8"})",
                                     }));
  EXPECT_EQ(input_->metrics().parse_errors->value(), 1u);
}

// Without it (the default) the line is only logged and counted.
TEST_F(TailInputTest, WithoutEmitUnmatchedLinesTheLineBeforeTheFirstLineIsOnlyCounted) {
  startTail("multiline_flush_interval 5\n", kMultiline);
  awaitIdle();
  append(dir_.file("logs/a.log"), kFluentdLines);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  awaitIdle();
  clock_.advance(5 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  EXPECT_EQ(jsonOf(sink_.records()).front(), R"({"message1":"test2","message2":"test3","message3":"test4"})");
  EXPECT_EQ(input_->metrics().parse_errors->value(), 1u);
}

// A joined event that format1 rejects is emitted whole (its lines joined with "\n"), not as
// the line that completed it; one rejected at a flush too.
TEST_F(TailInputTest, AJoinedEventTheFormatRejectsIsEmittedWhole) {
  startTail("emit_unmatched_lines true\nmultiline_flush_interval 5\n",
            "multiline\nformat1 /^s (?<n>\\d+)\\n(?<rest>.*)/\nformat_firstline /^s/\n");
  awaitIdle();
  append(dir_.file("logs/a.log"), "s 1\nf a\ns x\nf b\nf c\ns 2\nf d\ns y\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  awaitIdle();
  clock_.advance(5 * kNanosPerSecond);
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 4; }));
  EXPECT_EQ(jsonOf(sink_.records()), (std::vector<std::string>{
                                         R"({"n":"1","rest":"f a"})",
                                         R"({"unmatched_line":"s x\nf b\nf c"})",
                                         R"({"n":"2","rest":"f d"})",
                                         R"({"unmatched_line":"s y"})",
                                     }));
  EXPECT_EQ(input_->metrics().parse_errors->value(), 2u);
}

// With a regexp parser, a line that does not match comes out in its place, with path_key, the
// file's tag and the input's current time.
TEST_F(TailInputTest, EmitUnmatchedLinesWithARegexpParserKeepsOrderTagAndPathKey) {
  startTail("emit_unmatched_lines true\npath_key p\n", "regexp\nexpression /^(?<k>\\d+) (?<v>.*)$/\n");
  awaitIdle();
  const std::string path = dir_.file("logs/a.log");
  append(path, "1 a\nnot a match\n2 b\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  const auto records = sink_.records();
  const std::string tag = records[0].substr(0, records[0].find(' '));
  EXPECT_EQ(records, (std::vector<std::string>{
                         tag + R"( {"k":"1","v":"a","p":")" + path + R"("})",
                         tag + R"( {"unmatched_line":"not a match","p":")" + path + R"("})",
                         tag + R"( {"k":"2","v":"b","p":")" + path + R"("})",
                     }));
  EXPECT_EQ(sink_.times()[1], clock_.nowNs());
}

// Fluentd's test_from_encoding: CP932 bytes come out as UTF-8; a JSON parser reads the
// converted line.
TEST_F(TailInputTest, FromEncodingConvertsCp932ToUtf8BeforeParsing) {
  startTail("encoding utf-8\nfrom_encoding cp932\n", "json");
  awaitIdle();
  const std::string cp932 = "\x82\xCD\x82\xEB\x81\x5B\x82\xED\x81\x5B\x82\xE9\x82\xC7";
  append(dir_.file("logs/a.log"), "{\"message\":\"" + cp932 + "\"}\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages().front(), "\u306F\u308D\u30FC\u308F\u30FC\u308B\u3069");
}

// Fluentd's test_encoding_with_bad_character, and the other ways a line can be malformed: the
// line is kept, each bad sequence replaced.
TEST_F(TailInputTest, MalformedBytesAreReplacedAndTheLineKept) {
  startTail("encoding utf-8\nfrom_encoding ASCII-8BIT\n");
  awaitIdle();
  append(dir_.file("logs/a.log"), "te\x86st\nok\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 2; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"te\uFFFDst", "ok"}));
}

TEST_F(TailInputTest, InvalidAndIncompleteCp932SequencesAreReplaced) {
  startTail("encoding UTF-8\nfrom_encoding Windows-31J\n");
  awaitIdle();
  // 0x82 0xCD is は; 0x82 0x20 is no character (a lead byte and a space); 0x82 at the end is cut.
  append(dir_.file("logs/a.log"), "\x82\xCD-\x82\x20-\x82\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages().front(), "\u306F-\uFFFD -\uFFFD");
}

// A character the target cannot hold becomes one `?` (Ruby's undef: :replace), not one per byte.
TEST_F(TailInputTest, ACharacterTheTargetCannotHoldBecomesOneQuestionMark) {
  startTail("encoding ISO-8859-1\nfrom_encoding UTF-8\n");
  awaitIdle();
  append(dir_.file("logs/a.log"), "5\xE2\x82\xAC caf\xC3\xA9\n");  // "5€ café"
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages().front(), "5? caf\xE9");
}

// An ASCII line is used as read (no conversion needed), a Latin-1 one beside it converted.
TEST_F(TailInputTest, AsciiAndLatin1LinesOfOneReadBothComeOutInUtf8) {
  startTail("encoding UTF-8\nfrom_encoding ISO-8859-1\n", "json");
  awaitIdle();
  append(dir_.file("logs/a.log"), "{\"message\":\"plain\"}\n{\"message\":\"caf\xE9\"}\n{\"message\":\"end\"}\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 3; }));
  EXPECT_EQ(sink_.messages(), (std::vector<std::string>{"plain", "caf\xC3\xA9", "end"}));
}

// encoding alone is Ruby's force_encoding: the bytes stay as they are.
TEST_F(TailInputTest, EncodingAloneKeepsTheBytes) {
  startTail("encoding utf-8\n");
  awaitIdle();
  append(dir_.file("logs/a.log"), "te\x86st\n");
  ASSERT_TRUE(waitFor([&] { return sink_.count() == 1; }));
  EXPECT_EQ(sink_.messages().front(), "te\x86st");
}

// Fluentd's configure cases, and what sluice refuses beyond them.
TEST_F(TailInputTest, EncodingConfigurationErrors) {
  EXPECT_EQ(configError("encoding utf-8\n"), "");
  EXPECT_EQ(configError("encoding utf-8\nfrom_encoding utf-8\n"), "");
  EXPECT_NE(configError("encoding no-such-encoding\n").find("not an encoding known to iconv"), std::string::npos);
  EXPECT_NE(configError("encoding utf-8\nfrom_encoding no-such-encoding\n").find("from_encoding 'no-such-encoding'"),
            std::string::npos);
  EXPECT_NE(configError("from_encoding utf-8\n").find("from_encoding needs encoding"), std::string::npos);
  // Fluentd reads UTF-16 files (test_from_encoding_utf16); sluice splits lines on the byte 0x0A.
  EXPECT_NE(configError("encoding utf-8\nfrom_encoding utf-16le\n").find("UTF-16"), std::string::npos);
}

}  // namespace
}  // namespace sluice::plugins::in_tail
