// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/filter_redact/redact_filter.h"
#include "support/alloc_counter.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_redact {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

std::vector<std::string> run(PluginFactory& f, const std::string& config, const std::vector<std::string>& records) {
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "redact", config);
  Batch b = batchOf(records);
  filter->process(b);
  return jsonRecords(b);
}

std::string runOne(const std::string& config, const std::string& record) {
  PluginFactory f;
  return run(f, config, {record}).at(0);
}

constexpr const char* kAll =
    "builtin email,credit_card,jwt,bearer_token,aws_access_key,private_key,ipv4,url_credentials";

// Exact names are first filtered by length and first and last letters (case folded): names that
// share those with a key but differ inside, and keys given in upper case, are told apart.
TEST(RedactFilterTest, ExactKeysOfTheUsersAnyCase) {
  EXPECT_EQ(runOne("keys X-Api-Key,pin,a", R"({"x-api-KEY":"1","PIN":"2","pun":"3","x-api-kez":"4","A":"5","b":"6","":"7","x-apI-key":{"n":1}})"),
            R"({"x-api-KEY":"[REDACTED]","PIN":"[REDACTED]","pun":"3","x-api-kez":"4","A":"[REDACTED]","b":"6","":"7","x-apI-key":"[REDACTED]"})");
}

TEST(RedactFilterTest, SeedKeysByDefaultAtAnyDepthAndCase) {
  EXPECT_EQ(runOne("", R"({"user":"bob","Password":"hunter2","nested":{"TOKEN":"abc","list":[{"secret":1},{"ok":2}]},"Authorization":"Basic x","cookie":"c","session":{"id":5},"key":"k","keyboard":"qwerty"})"),
            R"({"user":"bob","Password":"[REDACTED]","nested":{"TOKEN":"[REDACTED]","list":[{"secret":"[REDACTED]"},{"ok":2}]},"Authorization":"[REDACTED]","cookie":"[REDACTED]","session":"[REDACTED]","key":"[REDACTED]","keyboard":"qwerty"})");
}

uint64_t templateChecks(PluginFactory& f) {
  return static_cast<uint64_t>(f.metrics().valueForTest("sluice_filter_redact_template_checks_total"));
}

// Metadata a plugin copies into many records (kubernetes_metadata's JsonTemplate): checked once;
// clean copies are passed over (and still written from the stored JSON), dirty ones redacted.
TEST(RedactFilterTest, SharedMetadataIsCheckedOnce) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "redact", "builtin email\n");
  Arena meta_arena;
  Value clean = *parseJson(R"({"pod_name":"web-1","labels":{"app":"web"}})", meta_arena);
  Value dirty = *parseJson(R"({"pod_name":"web-2","annotations":{"owner":"ann@example.com"}})", meta_arena);
  JsonTemplate clean_t{&clean, meta_arena.copy(toJson(clean))};
  JsonTemplate dirty_t{&dirty, meta_arena.copy(toJson(dirty))};
  Batch b;
  for (int i = 0; i < 3; ++i) {
    Value r = *parseJson(R"({"msg":"mail bob@example.com"})", b.arena());
    r.setMember("kubernetes", Value::copyOfTemplate(i == 1 ? dirty_t : clean_t, b.arena()), b.arena());
    b.add("t", 1, r);
  }
  filter->process(b);
  std::vector<std::string> out = jsonRecords(b);
  EXPECT_EQ(out[0], R"({"msg":"mail [REDACTED]","kubernetes":{"pod_name":"web-1","labels":{"app":"web"}}})");
  EXPECT_EQ(out[1], R"({"msg":"mail [REDACTED]","kubernetes":{"pod_name":"web-2","annotations":{"owner":"[REDACTED]"}}})");
  EXPECT_EQ(out[2], out[0]);
  EXPECT_EQ(templateChecks(f), 2u);  // each template searched once, the verdict remembered
  EXPECT_NE(b.events()[0].record.find("kubernetes")->unchangedTemplate(), nullptr);  // still copied as JSON
  EXPECT_EQ(toJson(dirty), R"({"pod_name":"web-2","annotations":{"owner":"ann@example.com"}})");  // shared original untouched
}

// A one-pass false alarm in shared metadata (digits that look like a card number but fail the
// Luhn sum) does not make every record pay the value-by-value search.
TEST(RedactFilterTest, SharedMetadataWithAFalseAlarmIsCleanOnce) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "redact", "builtin credit_card\n");
  Arena meta_arena;
  Value meta = *parseJson(R"({"namespace_id":"a1b2c3d4-0000-4000-8000-000000000001"})", meta_arena);
  JsonTemplate t{&meta, meta_arena.copy(toJson(meta))};
  Batch b;
  Value r = *parseJson(R"({"msg":"ok"})", b.arena());
  r.setMember("kubernetes", Value::copyOfTemplate(t, b.arena()), b.arena());
  b.add("t", 1, r);
  filter->process(b);
  EXPECT_EQ(jsonRecords(b)[0], R"({"msg":"ok","kubernetes":{"namespace_id":"a1b2c3d4-0000-4000-8000-000000000001"}})");
  b.clear();
  r = *parseJson(R"({"msg":"ok"})", b.arena());
  r.setMember("kubernetes", Value::copyOfTemplate(t, b.arena()), b.arena());
  b.add("t", 1, r);
  filter->process(b);
  EXPECT_EQ(templateChecks(f), 1u);  // clean once: the second copy is passed over
}

// Two redact filters keep their verdicts apart: one finds nothing in the metadata, the other
// redacts it; neither makes the other search again, and both stay right.
TEST(RedactFilterTest, TwoFiltersKeepTheirOwnVerdictsOnSharedMetadata) {
  PluginFactory f;
  auto by_key = f.mustMake<Filter>(PluginKind::Filter, "redact", "keys owner\n");
  auto by_email = f.mustMake<Filter>(PluginKind::Filter, "redact", "keys none\nbuiltin ipv4\n");
  Arena meta_arena;
  Value meta = *parseJson(R"({"pod_name":"web-1","annotations":{"owner":"ann"}})", meta_arena);
  JsonTemplate t{&meta, meta_arena.copy(toJson(meta))};
  for (int round = 0; round < 10; ++round) {
    Batch b;
    Value r = *parseJson(R"({"msg":"hi"})", b.arena());
    r.setMember("kubernetes", Value::copyOfTemplate(t, b.arena()), b.arena());
    b.add("t", 1, r);
    by_email->process(b);
    EXPECT_EQ(jsonRecords(b)[0], R"({"msg":"hi","kubernetes":{"pod_name":"web-1","annotations":{"owner":"ann"}}})");
    by_key->process(b);
    EXPECT_EQ(jsonRecords(b)[0], R"({"msg":"hi","kubernetes":{"pod_name":"web-1","annotations":{"owner":"[REDACTED]"}}})");
  }
  EXPECT_EQ(templateChecks(f), 2u);  // one search per filter, not one per record
}

TEST(RedactFilterTest, ContainsMatching) {
  EXPECT_EQ(runOne("keys password,token\nkey_match contains", R"({"db_password":"x","X-Api-Token":"y","tokenizer":"z","user":"u"})"),
            R"({"db_password":"[REDACTED]","X-Api-Token":"[REDACTED]","tokenizer":"[REDACTED]","user":"u"})");
}

TEST(RedactFilterTest, ManyKeys) {
  std::string keys = "keys ";
  for (int i = 0; i < 70; ++i) keys += (i ? "," : "") + std::string("field") + std::to_string(i);
  EXPECT_EQ(runOne(keys, R"({"field0":1,"field63":2,"field69":3,"FIELD64":4,"field70":5})"),
            R"({"field0":"[REDACTED]","field63":"[REDACTED]","field69":"[REDACTED]","FIELD64":"[REDACTED]","field70":5})");
}

TEST(RedactFilterTest, PatternsInFreeText) {
  std::string out = runOne(kAll,
      R"({"message":"login failed for bob@example.com with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature from 10.1.2.3"})");
  EXPECT_EQ(out, R"({"message":"login failed for [REDACTED] with Bearer [REDACTED] from [REDACTED]"})");
  EXPECT_EQ(runOne(kAll, R"({"m":"Authorization: Bearer abc.def-123"})"), R"({"m":"Authorization: Bearer [REDACTED]"})");
  EXPECT_EQ(runOne(kAll, R"({"m":"jwt=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."})"), R"({"m":"jwt=[REDACTED]"})");
  EXPECT_EQ(runOne(kAll, R"({"m":"using AKIAIOSFODNN7EXAMPLE now"})"), R"({"m":"using [REDACTED] now"})");
  EXPECT_EQ(runOne(kAll, R"({"m":"db at postgres://app:s3cr3t@db:5432/x"})"), R"({"m":"db at postgres://app:[REDACTED]@db:5432/x"})");
  EXPECT_EQ(runOne(kAll, R"({"m":"k=-----BEGIN RSA PRIVATE KEY-----\nMIIE\nabc\n-----END RSA PRIVATE KEY----- done"})"),
            R"({"m":"k=[REDACTED] done"})");
}

TEST(RedactFilterTest, CardNumbersNeedTheLuhnSum) {
  EXPECT_EQ(runOne("builtin credit_card", R"({"m":"paid with 4111 1111 1111 1111 ok"})"), R"({"m":"paid with [REDACTED] ok"})");
  EXPECT_EQ(runOne("builtin credit_card", R"({"m":"card 5500-0000-0000-0004"})"), R"({"m":"card [REDACTED]"})");
  // An order number of card length that fails Luhn is left alone.
  EXPECT_EQ(runOne("builtin credit_card", R"({"m":"order 4111111111111112 shipped"})"), R"({"m":"order 4111111111111112 shipped"})");
  EXPECT_TRUE(luhnValid("4111111111111111"));
  EXPECT_FALSE(luhnValid("1234567812345678"));
}

// The literal scan that runs before RE2 never says "no" where a builtin's regexp matches: random
// texts over an alphabet that makes near-misses likely (digits and separators for cards, hex
// ids, '@', the literals each builtin needs), each builtin on its own and all together.
TEST(RedactFilterTest, LiteralScanNeverRefusesAMatch) {
  const std::vector<std::string> pieces = {"0", "1", "4", "7", "9", " ", "-", "-", "a", "f", "x", "_", ".", ":", "/",
                                           "@", "\n", "eyJ", "AKIA", "bearer ", "Bearer\t", "-----BEGIN ",
                                           "PRIVATE KEY-----", "-----END ", "://", "4111 1111 1111 1111",
                                           "5500-0000-0000-0004", "0af7651916", "ex.com", "10.0.0.", "eyJhbG", "ciOi",
                                           "ABCD", "WXYZ", "1234", "KEY-----", "ABCDWXYZ1234",
                                           "-----BEGIN RSA PRIVATE KEY-----", "-----END EC PRIVATE KEY-----",
                                           "https://", "usr", ":pw@"};
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (const char* name : {"email", "credit_card", "jwt", "bearer_token", "aws_access_key", "private_key", "ipv4",
                           "url_credentials"}) {
    const BuiltinPattern* b = findBuiltin(name);
    ASSERT_NE(b, nullptr);
    RE2 re(std::string(b->regexp));
    ASSERT_TRUE(re.ok());
    int matched = 0;
    for (int i = 0; i < 30000; ++i) {
      std::string text;
      const size_t len = 1 + next() % 40;
      for (size_t k = 0; k < len; ++k) text += pieces[next() % pieces.size()];
      if (!RE2::PartialMatch(text, re)) continue;
      ++matched;
      ASSERT_TRUE(mayMatchBuiltins(text, b->bit)) << name << ": " << text;
      ASSERT_TRUE(mayMatchBuiltins(text, 0xFFFFFFFF)) << name << ": " << text;
    }
    EXPECT_GT(matched, 10) << name;  // the texts do exercise the pattern
  }
  // What the card check rules out: 13 digits inside hex ids and UUIDs, no word boundary before.
  const BuiltinPattern* card = findBuiltin("credit_card");
  EXPECT_FALSE(mayMatchBuiltins("trace 0af76519161234567890123cd43dd", card->bit));
  EXPECT_FALSE(mayMatchBuiltins("uid 0d1c2b3a-4958-6776-8594-a3b2c1d0e9f8", card->bit));
  EXPECT_TRUE(mayMatchBuiltins("x 4111-1111-1111-1", card->bit));
}

TEST(RedactFilterTest, InnocentValuesSurvive) {
  const std::vector<std::string> innocent = {
      R"({"order_id":"ORD-2026-000123456","ts":"2026-11-22T01:02:03.456Z","epoch":1795309323123})",
      R"({"uuid":"3f2b8c1e-9d4a-4e7b-8a6f-1c2d3e4f5a6b","trace":"0af7651916cd43dd8448eb211c80319c"})",
      R"({"msg":"took 1234567890123 ns","version":"v1.2.3","path":"/api/v1/orders/1234567812345678"})",
      R"({"msg":"user@ not an email, @handle, a.b@c"})",
  };
  PluginFactory f;
  auto out = run(f, std::string(kAll) + "\nkeys password", innocent);
  for (size_t i = 0; i < innocent.size(); ++i) EXPECT_EQ(out[i], innocent[i]);
}

TEST(RedactFilterTest, NoSecretSurvivesACorpus) {
  struct Case {
    std::string line;
    std::vector<std::string> secrets;
  };
  const std::vector<Case> corpus = {
      {R"({"message":"POST /login password=hunter2","password":"hunter2"})", {"\"hunter2\""}},
      {R"({"message":"contact alice.smith+tag@mail.example.co.uk or bob@x.io"})", {"alice.smith+tag@mail.example.co.uk", "bob@x.io"}},
      {R"({"message":"charge 378282246310005 and 6011111111111117"})", {"378282246310005", "6011111111111117"}},
      {R"({"headers":{"Authorization":"Bearer abc123","Cookie":"sid=1"}})", {"abc123", "sid=1"}},
      {R"({"message":"curl -H 'Authorization: bearer tok_9f8e7d' https://u:p4ss@h/x"})", {"tok_9f8e7d", "p4ss"}},
      {R"({"env":["AWS_ACCESS_KEY_ID=ASIAY34FZKBOKMUTVV7A"]})", {"ASIAY34FZKBOKMUTVV7A"}},
  };
  PluginFactory f;
  std::vector<std::string> lines;
  for (const Case& c : corpus) lines.push_back(c.line);
  auto out = run(f, kAll, lines);
  for (size_t i = 0; i < corpus.size(); ++i) {
    for (const std::string& secret : corpus[i].secrets) {
      EXPECT_EQ(out[i].find(secret), std::string::npos) << secret << " survived in " << out[i];
    }
  }
  EXPECT_GE(f.metrics().valueForTest("sluice_filter_redact_redactions_total", {{"pattern", "email"}}), 2);
  EXPECT_GE(f.metrics().valueForTest("sluice_filter_redact_redactions_total", {{"key", "password"}}), 1);
}

TEST(RedactFilterTest, HashModeIsStableAndKeyed) {
  setenv("SLUICE_TEST_REDACT_KEY", "0123456789abcdef0123456789abcdef", 1);
  std::string a = runOne("mode hash\nhash_key_env SLUICE_TEST_REDACT_KEY\nbuiltin email",
                         R"({"password":"hunter2","m":"from bob@example.com"})");
  std::string b = runOne("mode hash\nhash_key_env SLUICE_TEST_REDACT_KEY\nbuiltin email",
                         R"({"password":"hunter2","m":"from bob@example.com"})");
  EXPECT_EQ(a, b);  // the same in another filter instance (a restart)
  EXPECT_EQ(a.find("hunter2"), std::string::npos);
  EXPECT_EQ(a.find("bob@example.com"), std::string::npos);
  EXPECT_NE(a.find("\"password\":\"hmac:"), std::string::npos) << a;
  setenv("SLUICE_TEST_REDACT_KEY", "another key, also 32 bytes long!", 1);
  std::string c = runOne("mode hash\nhash_key_env SLUICE_TEST_REDACT_KEY", R"({"password":"hunter2"})");
  EXPECT_NE(a.substr(0, a.find(",")), c.substr(0, c.find(",")));  // a different key gives another hash
}

// The keyed hash is HMAC-SHA256: RFC 4231's test cases 1, 6 and 7 (the keys from a file, the
// data as a password field's value), of which the filter keeps the first 8 bytes in hex.
TEST(RedactFilterTest, HashModeIsHmacSha256ByRfc4231) {
  testing::TempDir dir;
  struct Case {
    std::string key, data, mac;
  };
  const Case cases[] = {
      {std::string(20, '\x0b'), "Hi There", "b0344c61d8db3853"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First", "60e431591ee0b67f"},
      {std::string(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The key needs to be "
       "hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb"},
  };
  for (const Case& c : cases) {
    const std::string key_file = dir.file("key");
    testing::writeFile(key_file, c.key);
    EXPECT_EQ(runOne("mode hash\nhash_key_file " + key_file, R"({"password":")" + c.data + R"("})"),
              R"({"password":"hmac:)" + c.mac + R"("})")
        << c.data;
  }
}

TEST(RedactFilterTest, RemoveMode) {
  EXPECT_EQ(runOne("mode remove\nbuiltin email", R"({"a":1,"token":"t","b":{"secret":2,"c":3},"m":"x@y.io"})"),
            R"({"a":1,"b":{"c":3},"m":"[REDACTED]"})");
}

TEST(RedactFilterTest, CustomPatternsFieldsAndLimits) {
  EXPECT_EQ(runOne("<pattern>\n name ssn\n regexp /\\b\\d{3}-\\d{2}-\\d{4}\\b/\n replacement ***-**-****\n</pattern>",
                   R"({"m":"ssn 123-45-6789 ok"})"),
            R"({"m":"ssn ***-**-**** ok"})");
  EXPECT_EQ(runOne("builtin email\nfields $.req.body", R"({"req":{"body":"a@b.io","from":"c@d.io"}})"),
            R"({"req":{"body":"[REDACTED]","from":"c@d.io"}})");
  EXPECT_EQ(runOne("builtin email\nmax_scan_bytes 10", R"({"m":"a@b.io then c@d.io"})"), R"({"m":"[REDACTED] then c@d.io"})");
}

TEST(RedactFilterTest, InvalidUtf8IsScannedWithoutCrashing) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "redact", kAll);
  Batch b;
  std::string bad = "\xff\xfe bob@example.com \xc0";
  Value rec = Value::emptyObject();
  rec.setMember("m", Value::string(b.arena().copy(bad)), b.arena());
  b.add("t", 0, rec);
  filter->process(b);
  std::string out = toJson(b.events()[0].record);
  EXPECT_EQ(out.find("bob@example.com"), std::string::npos) << out;
  EXPECT_TRUE(isValidUtf8(out));
}

TEST(RedactFilterTest, ConfigErrors) {
  PluginFactory f;
  auto bad_builtin = f.make(PluginKind::Filter, "redact", "builtin passport");
  ASSERT_FALSE(bad_builtin.isOk());
  EXPECT_NE(bad_builtin.status().message().find("known: email, credit_card"), std::string::npos);
  auto bad_re = f.make(PluginKind::Filter, "redact", "<pattern>\n name x\n regexp /(unclosed/\n</pattern>");
  ASSERT_FALSE(bad_re.isOk());
  EXPECT_NE(bad_re.status().message().find("(test):"), std::string::npos) << bad_re.status().message();
  EXPECT_NE(bad_re.status().message().find("missing )"), std::string::npos) << bad_re.status().message();
  EXPECT_FALSE(f.make(PluginKind::Filter, "redact", "mode hash").isOk());  // no key
  // mode and key_match are enums bound at config time: a bad value names the allowed ones.
  auto bad_mode = f.make(PluginKind::Filter, "redact", "mode scramble");
  ASSERT_FALSE(bad_mode.isOk());
  EXPECT_NE(bad_mode.status().message().find("parameter 'mode': valid options are replace,hash,remove but got 'scramble'"),
            std::string::npos)
      << bad_mode.status().message();
  auto bad_match = f.make(PluginKind::Filter, "redact", "key_match prefix");
  ASSERT_FALSE(bad_match.isOk());
  EXPECT_NE(bad_match.status().message().find("parameter 'key_match': valid options are exact,contains but got 'prefix'"),
            std::string::npos)
      << bad_match.status().message();
}

// Each key_match and mode spelling has its effect (hash: HashModeIsStableAndKeyed).
TEST(RedactFilterTest, EachKeyMatchAndMode) {
  const std::string record = R"({"db_password":"x","password":"y","n":1})";
  EXPECT_EQ(runOne("keys password\nkey_match exact", record), R"({"db_password":"x","password":"[REDACTED]","n":1})");
  EXPECT_EQ(runOne("keys password\nkey_match contains", record),
            R"({"db_password":"[REDACTED]","password":"[REDACTED]","n":1})");
  EXPECT_EQ(runOne("keys password\nmode replace\nreplacement ***", record), R"({"db_password":"x","password":"***","n":1})");
  EXPECT_EQ(runOne("keys password\nmode remove", record), R"({"db_password":"x","n":1})");
}

TEST(RedactFilterTest, WarmBatchWithoutSecretsAllocatesNothing) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "redact", kAll);
  std::vector<std::string> records(100, R"({"level":"info","message":"request completed","path":"/api/v1/x","status":200})");
  Batch warm = batchOf(records);
  filter->process(warm);
  // Other records than the warm-up's: other messages and paths, no secrets.
  std::vector<std::string> others;
  for (int i = 0; i < 100; ++i) {
    others.push_back(R"({"level":"warn","message":"slow query )" + std::to_string(i * 17) +
                     R"( ms","path":"/api/v2/y","status":503})");
  }
  Batch b = batchOf(others);
  testing::AllocationCounter counter;
  filter->process(b);
  EXPECT_EQ(counter.count(), 0u);
}

}  // namespace
}  // namespace sluice::plugins::filter_redact
