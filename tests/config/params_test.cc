// SPDX-License-Identifier: Apache-2.0
// Enum and "size or -1" parameters: checked and converted when the configuration is bound, and
// shown with their choices by describeParams.

#include <gtest/gtest.h>

#include "config/bind.h"
#include "config/params.h"
#include "config/parser.h"

namespace sluice {
namespace {

enum class Mode { Lazy, Interval, Immediate };
inline constexpr Choice<Mode> kModes[] = {
    {"lazy", Mode::Lazy}, {"interval", Mode::Interval}, {"immediate", Mode::Immediate}, {"now", Mode::Immediate}};

struct Base {
  Mode inherited = Mode::Lazy;
};
struct Config : Base {
  Mode mode = Mode::Lazy;
  std::optional<Mode> maybe;
  SizeLimit threshold;
};

constexpr std::array<Param<Config>, 4> kParams = {{
    {"mode", enumMember<&Config::mode, kModes>(), "interval", "How."},
    {"maybe", enumMember<&Config::maybe, kModes>(), nullptr, "Perhaps."},
    {"inherited", enumMember<Config, &Base::inherited, kModes>(), "lazy", "From the base."},
    {"threshold", &Config::threshold, "-1", "A size or -1."},
}};

Result<Config> bindText(const std::string& body) {
  auto root = config::parseConfigText("<x>\n" + body + "\n</x>\n", "(test)", ".", config::EvalEnvironment{});
  if (!root) return root.takeStatus();
  Config c;
  Status s = bindParams(std::span<const Param<Config>>(kParams), root->elements.at(0), c);
  if (!s) return s;
  return c;
}

TEST(ParamsTest, EnumDefaultsAndValuesBecomeEnumValues) {
  auto c = bindText("");
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->mode, Mode::Interval);
  EXPECT_FALSE(c->maybe.has_value());
  EXPECT_EQ(c->inherited, Mode::Lazy);
  auto d = bindText("mode now\nmaybe lazy\ninherited immediate");
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_EQ(d->mode, Mode::Immediate);
  EXPECT_EQ(d->maybe, Mode::Lazy);
  EXPECT_EQ(d->inherited, Mode::Immediate);
}

TEST(ParamsTest, UnknownEnumValueNamesTheChoicesAndTheLine) {
  auto c = bindText("mode sometimes");
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("(test):2: parameter 'mode': valid options are lazy,interval,immediate,now but got 'sometimes'"),
            std::string::npos)
      << c.status().message();
}

TEST(ParamsTest, DescribeShowsEnumChoices) {
  auto info = describeParams(std::span<const Param<Config>>(kParams));
  ASSERT_EQ(info.size(), 4u);
  EXPECT_EQ(info[0].type, ParamType::Enum);
  EXPECT_EQ(info[0].choices, "lazy|interval|immediate|now");
  EXPECT_EQ(info[3].type, ParamType::SizeLimit);
  EXPECT_EQ(paramTypeName(info[3].type), "size or -1");
  EXPECT_EQ(choiceName(kModes, Mode::Immediate), "immediate");
}

TEST(ParamsTest, SizeLimitIsASizeOrMinusOne) {
  auto unlimited = bindText("");
  ASSERT_TRUE(unlimited.isOk());
  EXPECT_FALSE(unlimited->threshold.limited());
  auto limited = bindText("threshold 20MB");
  ASSERT_TRUE(limited.isOk()) << limited.status().message();
  EXPECT_EQ(limited->threshold.bytes, 20u * 1024 * 1024);
  auto bad = bindText("threshold -2");
  ASSERT_FALSE(bad.isOk());
  EXPECT_NE(bad.status().message().find("or -1 (no limit)"), std::string::npos) << bad.status().message();
}

}  // namespace
}  // namespace sluice
