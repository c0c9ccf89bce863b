// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "plugins/filter_record_transformer/record_transformer_filter.h"
#include "support/test_support.h"

namespace sluice::plugins::filter_record_transformer {
namespace {

using testing::batchOf;
using testing::jsonRecords;
using testing::PluginFactory;

std::string runOne(const std::string& config, const std::string& record, std::string_view tag = "kube.ns.pod.ctr") {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "record_transformer", config);
  Batch b = batchOf({record}, tag, 1795309323LL * kNanosPerSecond);
  filter->process(b);
  return jsonRecords(b).at(0);
}

TEST(RecordTransformerTest, Placeholders) {
  EXPECT_EQ(runOne("<record>\n tag ${tag}\n p1 ${tag_parts[1]}\n last ${tag_parts[-1]}\n"
                   " pre ${tag_prefix[1]}\n suf ${tag_suffix[2]}\n host ${hostname}\n</record>",
                   R"({"a":1})"),
            R"({"a":1,"tag":"kube.ns.pod.ctr","p1":"ns","last":"ctr","pre":"kube.ns","suf":"pod.ctr","host":"test-host"})");
}

TEST(RecordTransformerTest, RecordReferences) {
  EXPECT_EQ(runOne("<record>\n msg ${record[\"k\"][\"m\"]} (${level})\n n ${count}\n missing ${nope}\n</record>",
                   R"({"k":{"m":"hi"},"level":"warn","count":3})"),
            R"J({"k":{"m":"hi"},"level":"warn","count":3,"msg":"hi (warn)","n":"3","missing":"${nope}"})J");
  EXPECT_EQ(runOne("auto_typecast true\n<record>\n n ${count}\n</record>", R"({"count":3})"), R"({"count":3,"n":3})");
}

TEST(RecordTransformerTest, RemoveKeepRenew) {
  EXPECT_EQ(runOne("remove_keys a,$.b.c", R"({"a":1,"b":{"c":2,"d":3},"e":4})"), R"({"b":{"d":3},"e":4})");
  EXPECT_EQ(runOne("renew_record true\nkeep_keys e\n<record>\n x y\n</record>", R"({"a":1,"e":4})"),
            R"({"e":4,"x":"y"})");
}

TEST(RecordTransformerTest, RenewTimeKey) {
  PluginFactory f;
  auto filter = f.mustMake<Filter>(PluginKind::Filter, "record_transformer", "renew_time_key ts");
  Batch b = batchOf({R"({"ts":1700000000.5})"});
  filter->process(b);
  EXPECT_EQ(b.events()[0].time_ns, 1700000000500000000LL);
}

TEST(RecordTransformerTest, RubyExpressionsAreConfigErrors) {
  PluginFactory f;
  auto r = f.make(PluginKind::Filter, "record_transformer",
                  "enable_ruby true\n<record>\n x ${record[\"a\"].upcase}\n</record>");
  ASSERT_FALSE(r.isOk());
  EXPECT_NE(r.status().message().find("sluice runs no Ruby"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("(test):5"), std::string::npos) << r.status().message();
  EXPECT_TRUE(f.make(PluginKind::Filter, "record_transformer",
                     "enable_ruby true\n<record>\n x ${record[\"a\"]}\n</record>").isOk());
}

}  // namespace
}  // namespace sluice::plugins::filter_record_transformer
