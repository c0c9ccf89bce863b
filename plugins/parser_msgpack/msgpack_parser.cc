// SPDX-License-Identifier: Apache-2.0
#include "plugins/parser_msgpack/msgpack_parser.h"

#include "plugins/forward_common/forward_wire.h"

namespace sluice::plugins::parser_msgpack {
namespace {

const auto kParams = parserCommonParams<MsgpackConfig>(nullptr);

// Strings and binaries are not copied: they point into the input, which outlives the records
// (LineBatch: "strings in the results point into the lines or arena").
bool referenceAll(msgpack::type::object_type, std::size_t, void*) { return true; }

msgpack::unpack_limit limitsFor(size_t bytes) {
  // A count can never exceed the bytes that carry it; nesting is bounded as records are.
  const size_t n = std::max<size_t>(bytes, 16);
  return msgpack::unpack_limit(n, n, n, n, n, forward_common::kMaxDepth + 8);
}

// One input's record, or the reason it has none (a static string).
std::string_view decodeOne(std::string_view data, msgpack::zone& zone, Arena& arena, Value& out) {
  if (data.empty()) return "msgpack: the input is empty";
  size_t off = 0;
  msgpack::object obj;
  try {
    bool referenced = false;
    obj = msgpack::unpack(zone, data.data(), data.size(), off, referenced, &referenceAll, nullptr, limitsFor(data.size()));
  } catch (const msgpack::insufficient_bytes&) {
    return "msgpack: the input ends inside an object";
  } catch (const msgpack::depth_size_overflow&) {
    return "msgpack: nested too deep";
  } catch (const std::exception&) {
    return "msgpack: invalid MessagePack";
  }
  if (obj.type == msgpack::type::ARRAY) {
    return "msgpack: an array, not a map (one input gives one record here; Fluentd's parser emits each map of it)";
  }
  if (obj.type != msgpack::type::MAP) return "msgpack: not a map (a record is a map)";
  if (off != data.size()) {
    return "msgpack: more than one object in the input (one input gives one record here; Fluentd's parser emits each map)";
  }
  if (!forward_common::toValue(obj, arena, out)) return "msgpack: nested too deep, or a map key that is not a string";
  return {};
}

}  // namespace

Result<std::unique_ptr<MsgpackParser>> MsgpackParser::create(const MsgpackConfig& config, PluginContext&) {
  auto time = ParserTime::create(config);
  if (!time) return time.takeStatus();
  return std::unique_ptr<MsgpackParser>(new MsgpackParser(std::move(*time)));
}

void MsgpackParser::parse(const LineBatch& in, Arena& arena, std::span<ParsedRecord> out) const {
  thread_local msgpack::zone zone;  // cleared per input: a warm one allocates nothing
  for (size_t i = 0; i < in.lines.size(); ++i) {
    ParsedRecord& rec = out[i];
    zone.clear();
    std::string_view error = decodeOne(in.lines[i], zone, arena, rec.record);
    if (!error.empty()) {
      rec.error = error;
      continue;
    }
    time_.apply(rec, arena);
  }
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<MsgpackParser>(
      PluginKind::Parser, "msgpack", "Reads each input (bytes) as one MessagePack map: the record (Fluentd's parser_msgpack).",
      kParams);
  return kDescriptor;
}

}  // namespace sluice::plugins::parser_msgpack
