// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>

#include "core/plugin_api.h"

namespace sluice::plugins::filter_elasticsearch_genid {

// hash_type, bound at config time (enumMember).
enum class HashType { Md5, Sha1, Sha256, Sha512 };
inline constexpr Choice<HashType> kHashTypes[] = {
    {"md5", HashType::Md5}, {"sha1", HashType::Sha1}, {"sha256", HashType::Sha256}, {"sha512", HashType::Sha512}};

struct GenidConfig {
  std::string hash_id_key;
  bool use_record_as_seed = false;
  bool use_entire_record = false;
  StringList record_keys;
  std::string separator;
  HashType hash_type = HashType::Sha1;
  bool include_tag_in_seed = false;
  bool include_time_in_seed = false;
};

// fluent-plugin-elasticsearch's elasticsearch_genid filter: puts an id into each record under
// hash_id_key, for the elasticsearch output's id_key. By default the base64 of a random UUID;
// with use_record_as_seed the base64 of a digest (md5, sha1, sha256, sha512, OpenSSL) of a seed
// built as the plugin builds it: "<tag><separator>" with include_tag_in_seed, "<seconds><separator>"
// with include_time_in_seed, then the record_keys' values joined by separator, or with
// use_entire_record "|key|value" for every member. So a resent record gets the same id.
// Threading: immutable after create(); process() runs concurrently on the input threads, each
// call with its own scratch buffer (one allocation per batch, none per record).
class GenidFilter final : public Filter {
 public:
  static Result<std::unique_ptr<GenidFilter>> create(const GenidConfig& config, PluginContext& ctx);

  // sluice::Filter
  void process(Batch& batch) override;

 private:
  explicit GenidFilter(const GenidConfig& config) : cfg_(config) {}

  enum class Hash { Random, Md5, Sha1, Sha256, Sha512 };
  const GenidConfig cfg_;
  Hash hash_ = Hash::Random;
};

const PluginDescriptor& descriptor();

}  // namespace sluice::plugins::filter_elasticsearch_genid
