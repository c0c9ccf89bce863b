// SPDX-License-Identifier: Apache-2.0
// The elasticsearch_genid filter, with the cases of fluent-plugin-elasticsearch's
// test/plugin/test_filter_elasticsearch_genid.rb (their expected ids, as facts).
#include <gtest/gtest.h>

#include <set>

#include "plugins/filter_elasticsearch_genid/genid_filter.h"
#include "support/alloc_counter.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_elasticsearch_genid {
namespace {

using testing::PluginFactory;

// The upstream tests' event: 2017-10-15 15:00:23.345678900 UTC, this record, tag test.fluentd.
constexpr int64_t kTime = 1508079623LL * kNanosPerSecond + 345678900;
constexpr std::string_view kRecord =
    R"({"age":26,"request_id":"42","parent_id":"parent","routing_id":"routing","custom_key":"This is also encoded value."})";

std::string idOf(const std::string& config, std::string_view tag = "test.fluentd", std::string_view key = "_hash") {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "elasticsearch_genid", config);
  Batch b;
  b.add(tag, kTime, *parseJson(kRecord, b.arena()));
  filter->process(b);
  const Value* v = b.events().at(0).record.find(key);
  return v != nullptr && v->isString() ? std::string(v->asString()) : "<missing>";
}

struct Case {
  const char* hash_type;
  const char* expected;
};

TEST(GenidFilterTest, RecordKeysAsSeed) {
  // test_simple: the values of record_keys joined by "_".
  for (auto [type, expected] : {Case{"md5", "PPg+zmH1ASUCpNzMUcTzqw=="}, Case{"sha1", "JKfCrEAxeAyRSdcKqkw4unC9xZ8="},
                                Case{"sha256", "9Z9i+897bGivSItD/6i0vye9uRwq/sLwWkxOwydtTJY="},
                                Case{"sha512", "KWI5OdZPaCFW9/CEY3NoGrvueMtjZJdmGdqIVGJP8vgI4uW+0gHExZVaHerw+RhbtIdLCtVZ43xBgMKH+KliQg=="}}) {
    EXPECT_EQ(idOf(std::string("use_record_as_seed true\nrecord_keys age,parent_id,routing_id,custom_key\nhash_type ") + type),
              expected) << type;
  }
}

TEST(GenidFilterTest, RecordKeysWithTagAndTime) {
  const std::string base = "use_record_as_seed true\nrecord_keys age,parent_id,routing_id,custom_key\n";
  // test_record_with_tag
  for (auto [type, expected] : {Case{"md5", "qUO/xqWiOJq4D0ApdoHVEQ=="}, Case{"sha1", "v3UWYr90zIH2veGQBVwUH586TuI="},
                                Case{"sha256", "4hwh10qfw9B24NtNFoEFF8wCiImvgIy1Vk4gzcKt5Pw="},
                                Case{"sha512", "TY3arcmC8mhYClDIjQxH8ePRLnHK01Cj5QQL8FxbwNtPQBY3IZ4qJY9CpOusmdWBYwm1golRVQCmURiAhlnWIQ=="}}) {
    EXPECT_EQ(idOf(base + "include_tag_in_seed true\nhash_type " + type), expected) << type;
  }
  // test_record_with_time: the whole seconds.
  for (auto [type, expected] : {Case{"md5", "oHo+PoC5I4KC+XCfXvyf9w=="}, Case{"sha1", "50Nwarm2225gLy1ka8d9i+W6cKA="},
                                Case{"sha256", "ReX1XgizcrHjBc0sQwx9Sjuf2QBFll2njYf4ee+XSIc="},
                                Case{"sha512", "8bcpZrqNUQIz6opdoVZz0MwxP8r9SCqOEPkWF6xGLlFwPCJVqk2SQp99m8rPufr0xPIgvZyOMejA5slBV9xrdg=="}}) {
    EXPECT_EQ(idOf(base + "include_time_in_seed true\nhash_type " + type), expected) << type;
  }
  // test_record_with_tag_and_time
  for (auto [type, expected] : {Case{"md5", "u7/hr09gDC9CM5DI7tLc2Q=="}, Case{"sha1", "1WgptcTnVSHtTAlNUwNcoiaY3oM="},
                                Case{"sha256", "1iWZHI19m/A1VH8iFK7H2KFoyLdszpJRiVeKBv1Ndis="},
                                Case{"sha512", "NM+ui0lUmeDaEJsT7c9EyTc+lQBbRf1x6MQXXYdxp21CX3jZvHy3IT8Xp9ZdIKevZwhoo3Suo/tIBlfyLFXJXw=="}}) {
    EXPECT_EQ(idOf(base + "include_tag_in_seed true\ninclude_time_in_seed true\nhash_type " + type), expected) << type;
  }
}

TEST(GenidFilterTest, EntireRecordAsSeed) {
  // The seed is "|age|26|request_id|42|..." (the plugin's filter_seed_as_record). The upstream
  // test's expectations for this mode do not follow from that seed (checked with Python's
  // hashlib too), so these are the digests of the seed as the plugin's code builds it.
  for (auto [type, expected] : {Case{"md5", "MuMU0gHOP1cWvvg/J4aEFg=="}, Case{"sha1", "GZ6Iup9Ywyk5spCWtPQbtZnfK0U="},
                                Case{"sha256", "O4YN0RiXCUAYeaR97UUULRLxgra/R2dvTV47viir5l4="},
                                Case{"sha512", "FtbwO1xsLUq0KcO0mj0l80rbwFH5rGE3vL+Vgh90+4R/9j+/Ni/ipwhiOoUcetDxj1r5Vf/92B54La+QTu3eMA=="}}) {
    EXPECT_EQ(idOf(std::string("use_record_as_seed true\nuse_entire_record true\nhash_type ") + type), expected) << type;
  }
}

TEST(GenidFilterTest, RandomIdsByDefaultUnderTheConfiguredKey) {
  // test_filter: the base64 of a UUID's text (48 characters), under hash_id_key.
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string id = idOf("hash_id_key _edited", "test", "_edited");
    ASSERT_EQ(id.size(), 48u) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(idOf("").size(), 48u) << "the default key is _hash";
}

TEST(GenidFilterTest, ConfigErrors) {
  PluginFactory f;
  // "invalid configuration": use_record_as_seed without record_keys.
  auto bad = f.make(PluginKind::Filter, "elasticsearch_genid", "use_record_as_seed true");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("record_keys"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(f.make(PluginKind::Filter, "elasticsearch_genid", "hash_type crc32").isOk());
  EXPECT_TRUE(f.make(PluginKind::Filter, "elasticsearch_genid", "use_record_as_seed true\nuse_entire_record true").isOk());
}

TEST(GenidFilterTest, MissingKeysAndNonStringValues) {
  // Ruby's nil.to_s is "": a missing key adds nothing between the separators.
  EXPECT_EQ(idOf("use_record_as_seed true\nrecord_keys age,nope,request_id\nseparator |"),
            idOf("use_record_as_seed true\nrecord_keys age,nope2,request_id\nseparator |"));
  EXPECT_NE(idOf("use_record_as_seed true\nrecord_keys age,request_id"), idOf("use_record_as_seed true\nrecord_keys request_id,age"));
}

TEST(GenidFilterTest, NoAllocationPerRecordOnAWarmBatch) {
  for (const char* config : {"use_record_as_seed true\nrecord_keys age,request_id\nhash_type sha256", ""}) {
    PluginFactory f;
    auto filter = f.mustMake<Filter>(PluginKind::Filter, "elasticsearch_genid", config);
    Batch b;
    auto fill = [&] {
      b.clear();
      for (int i = 0; i < 200; ++i) b.add("t", kTime, *parseJson(kRecord, b.arena()));
    };
    fill();
    filter->process(b);
    fill();
    testing::AllocationCounter counter;
    filter->process(b);
    // The digest context and the seed buffer, once per batch; the arena's blocks.
    EXPECT_LE(counter.count(), 12u) << config;
  }
}

}  // namespace
}  // namespace sluice::plugins::filter_elasticsearch_genid
