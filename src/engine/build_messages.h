// SPDX-License-Identifier: Apache-2.0
#pragma once

// Small helpers the pipeline's build steps share (engine/pipeline_build.cc,
// engine/pipeline_system.cc): how a section is named in messages, and how an unknown key is
// reported. Main thread, while a configuration is built.

#include <string>

#include "config/element.h"
#include "core/status.h"
#include "monitor/log.h"

namespace sluice::engine {

// "<match app.**>", as messages name a section.
inline std::string sectionHeader(const config::Element& e) {
  return "<" + e.name + (e.arg.empty() ? "" : " " + e.arg) + ">";
}

// An unknown key or section: an error with --strict (the first is kept in `first_error`), else a
// warning.
inline void warnOrFail(bool strict, Status& first_error, const std::string& message) {
  if (strict) {
    if (first_error) first_error = Status::invalidConfig(message);
    return;
  }
  Logger::global().log(LogLevel::Warn, "[config]", message);
}

}  // namespace sluice::engine
