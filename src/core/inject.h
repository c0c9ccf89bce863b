// SPDX-License-Identifier: Apache-2.0
#pragma once

// Fluentd's <inject> section (its `inject` plugin helper): the fields an output or filter adds
// to each record before formatting it: the hostname, the worker id, the tag and the event time
// (as a float, an integer of seconds, milliseconds, microseconds or nanoseconds, or text).
// Not part of core/plugin_api.h: a plugin that supports <inject> includes this file, binds the
// section with Injector::create at create() and lists injectSection() in its descriptor.

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "config/element.h"
#include "config/params.h"
#include "core/batch.h"
#include "core/descriptor.h"
#include "core/status.h"

namespace sluice {

enum class InjectTimeType { Float, Unixtime, UnixtimeMillis, UnixtimeMicros, UnixtimeNanos, String };
inline constexpr Choice<InjectTimeType> kInjectTimeTypes[] = {
    {"float", InjectTimeType::Float},
    {"unixtime", InjectTimeType::Unixtime},
    {"unixtime_millis", InjectTimeType::UnixtimeMillis},
    {"unixtime_micros", InjectTimeType::UnixtimeMicros},
    {"unixtime_nanos", InjectTimeType::UnixtimeNanos},
    {"string", InjectTimeType::String}};

struct InjectConfig {
  std::optional<std::string> hostname_key;
  std::optional<std::string> hostname;
  std::optional<std::string> worker_id_key;
  std::optional<std::string> tag_key;
  std::optional<std::string> time_key;
  InjectTimeType time_type = InjectTimeType::Float;
  std::optional<std::string> time_format;
  bool localtime = true;
  bool utc = false;
  std::optional<std::string> timezone;
};

const std::array<Param<InjectConfig>, 10>& injectParams();

// The <inject> section as a descriptor documents it.
SectionInfo injectSection();

// Adds the configured fields to records. Immutable after create(); apply() and injected() run
// concurrently on the threads that call the plugin (each with its own arena or scratch batch).
class Injector {
 public:
  Injector() = default;

  // Binds `section` (nullptr: the plugin has no <inject>, nothing is added). `hostname` is the
  // default of `hostname` (the engine's). Called at the plugin's create(), main thread.
  static Result<Injector> create(const config::Element* section, std::string_view hostname);

  bool enabled() const { return enabled_; }

  // Sets the fields on `event.record`, copying its top level into `arena` first so that a
  // record shared with other outputs is not changed.
  void apply(Event& event, Arena& arena) const;

  // `batch` itself when nothing is injected; else `scratch` (cleared first) holding every event
  // of `batch` with the fields set. For outputs, whose format() sees a batch it must not
  // change: `scratch` is the caller's per-thread batch, so a warm one allocates nothing.
  const Batch& injected(const Batch& batch, Batch& scratch) const;

 private:
  void appendTime(int64_t time_ns, std::string& out) const;

  bool enabled_ = false;
  std::string hostname_key_;
  std::string hostname_;
  std::string worker_id_key_;
  std::string tag_key_;
  std::string time_key_;
  InjectTimeType time_type_ = InjectTimeType::Float;
  std::string time_format_;  // String: with any fixed timezone's offset written in
  bool utc_ = false;
  int64_t shift_ns_ = 0;  // a fixed timezone's offset, added before formatting in UTC
};

}  // namespace sluice
