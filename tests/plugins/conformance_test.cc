// SPDX-License-Identifier: Apache-2.0
// Checks every plugin of the generated list against the plugin contract.

#include <gtest/gtest.h>

#include <algorithm>

#include "buffer/buffer_config.h"
#include "core/plugin_api.h"
#include "engine/monitor_sources.h"
#include "engine/registry.h"
#include "support/test_support.h"

namespace sluice {
namespace {

std::vector<const PluginDescriptor*> all() {
  auto span = builtinPlugins();
  return {span.begin(), span.end()};
}

// Minimal bodies for plugins with required parameters or sections.
std::string minimalBody(const PluginDescriptor& d) {
  std::string body;
  for (const ParamInfo& p : d.params) {
    if (!(p.flags & kRequired)) continue;
    if (p.name == "tag") body += "tag t\n";
    else if (p.name == "expression") body += "expression /^(?<all>.*)$/\n";
    else if (p.name == "key_name") body += "key_name log\n";
    else if (p.name == "path") body += "path /tmp/sluice-conformance.jsonl\n";
    else body += std::string(p.name) + " x\n";
  }
  return body + std::string(d.needs);
}

TEST(ConformanceTest, EveryParameterHasDescriptionAndParsableDefault) {
  for (const PluginDescriptor* d : all()) {
    EXPECT_FALSE(d->description.empty()) << d->name;
    auto check = [&](const std::vector<ParamInfo>& params) {
      for (const ParamInfo& p : params) {
        EXPECT_FALSE(p.description.empty()) << d->name << "." << p.name;
        EXPECT_FALSE((p.flags & kRequired) && p.default_value) << d->name << "." << p.name << ": required with a default";
      }
    };
    check(d->params);
    for (const SectionInfo& s : d->sections) check(s.params);
  }
}

TEST(ConformanceTest, BuildsWithDefaultsAndDescribes) {
  for (const PluginDescriptor* d : all()) {
    if (!d->standalone) continue;  // built through pipelines in their own tests
    testing::PluginFactory f;
    auto p = f.make(d->kind, d->name, minimalBody(*d));
    EXPECT_TRUE(p.isOk()) << d->name << ": " << p.status().message();
    EXPECT_FALSE(Registry::describe(*d, false).empty());
    EXPECT_NE(Registry::describe(*d, true).find(std::string(d->name)), std::string::npos);
  }
}

TEST(ConformanceTest, NamesAreUniquePerKind) {
  auto list = all();
  for (size_t i = 0; i < list.size(); ++i) {
    for (size_t j = i + 1; j < list.size(); ++j) {
      EXPECT_FALSE(list[i]->kind == list[j]->kind && list[i]->name == list[j]->name) << list[i]->name;
    }
  }
}

// Every enum parameter (top level) names its allowed values when given another, and takes each
// of them: a build that fails with one of them fails for another reason (a choice that needs
// more settings, as mode hash needs a key), never as "not a valid option".
TEST(ConformanceTest, EnumParametersNameTheirChoicesAndTakeEach) {
  size_t enums = 0;
  for (const PluginDescriptor* d : all()) {
    if (!d->standalone) continue;
    for (const ParamInfo& p : d->params) {
      if (p.type != ParamType::Enum || (p.flags & kIgnored)) continue;
      ++enums;
      testing::PluginFactory f;
      const std::string key(p.name);
      auto bad = f.make(d->kind, d->name, minimalBody(*d) + key + " not-a-choice\n");
      ASSERT_FALSE(bad.isOk()) << d->name << "." << key;
      std::string allowed(p.choices);
      for (char& c : allowed) c = c == '|' ? ',' : c;
      EXPECT_NE(bad.status().message().find("valid options are " + allowed + " but got 'not-a-choice'"), std::string::npos)
          << d->name << "." << key << ": " << bad.status().message();
      std::string_view rest = p.choices;
      while (!rest.empty()) {
        const std::string choice(rest.substr(0, rest.find('|')));
        rest.remove_prefix(std::min(rest.size(), choice.size() + 1));
        auto made = f.make(d->kind, d->name, minimalBody(*d) + key + " " + choice + "\n");
        if (!made) {
          EXPECT_EQ(made.status().message().find("valid options are"), std::string::npos)
              << d->name << "." << key << " " << choice << ": " << made.status().message();
        }
      }
    }
  }
  EXPECT_GE(enums, 20u);
}

TEST(ConformanceTest, EmptyBatchPassesThroughFilters) {
  for (const PluginDescriptor* d : all()) {
    if (d->kind != PluginKind::Filter) continue;
    testing::PluginFactory f;
    auto p = f.make(d->kind, d->name, minimalBody(*d));
    ASSERT_TRUE(p.isOk()) << d->name << ": " << p.status().message();
    Batch empty;
    static_cast<Filter*>(p->get())->process(empty);
    EXPECT_TRUE(empty.empty()) << d->name;
  }
}

TEST(ConformanceTest, ReadmeReferenceIsCurrent) {
  std::string readme = testing::readFile(std::string(SLUICE_SOURCE_DIR) + "/README.md");
  for (const PluginDescriptor* d : all()) {
    std::string section = Registry::describe(*d, true);
    EXPECT_NE(readme.find(section), std::string::npos)
        << "README.md is stale for " << pluginKindName(d->kind) << " " << d->name
        << ": regenerate with scripts/gen-readme-plugins.sh";
  }
}

// Fluentd's monitoring sources, which the engine serves (engine/monitor_sources.h), are in the
// reference too.
TEST(ConformanceTest, ReadmeMonitorSourceReferenceIsCurrent) {
  std::string readme = testing::readFile(std::string(SLUICE_SOURCE_DIR) + "/README.md");
  ASSERT_EQ(engine::monitorSourceDescriptors().size(), 4u);
  for (const PluginDescriptor* d : engine::monitorSourceDescriptors()) {
    EXPECT_NE(readme.find(Registry::describe(*d, true)), std::string::npos)
        << "README.md is stale for input " << d->name << ": regenerate with scripts/gen-readme-plugins.sh";
    EXPECT_EQ(Registry::builtin().find(d->kind, d->name), nullptr) << d->name << " is also a plugin";
  }
}

TEST(ConformanceTest, ReadmeBufferReferenceIsCurrent) {
  std::string readme = testing::readFile(std::string(SLUICE_SOURCE_DIR) + "/README.md");
  std::string table = Registry::describeParams(describeParams(std::span<const Param<BufferConfig>>(bufferParams())), true);
  EXPECT_NE(readme.find(table), std::string::npos) << "regenerate with scripts/gen-readme-plugins.sh";
}

}  // namespace
}  // namespace sluice
