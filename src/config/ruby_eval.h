// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::config {

// What "#{...}" may see. `env` returns nullopt for an unset variable.
struct EvalEnvironment {
  std::function<std::optional<std::string>(std::string_view)> env;
  std::string hostname;
  std::optional<std::string> worker_id;  // SERVERENGINE_WORKER_ID; sluice runs worker 0

  static EvalEnvironment fromProcess();
};

struct EvalValue {
  enum class Kind { String, Nil, False, UseNil, UseDefault };
  Kind kind = Kind::Nil;
  std::string text;
};

// Evaluates the Ruby subset that real Fluentd configs use inside "#{...}" (the config parser
// calls it while reading a file), with Ruby's meaning and evaluating only what Ruby would
// (short-circuit): string (with interpolation), integer and symbol literals, nil/true/false,
// local variables and `;`, + == != ! && || ?: and the rescue modifier, ENV[...], ENV.fetch,
// ENV.key?, Integer(), IPAddr.new(...).ipv4?/.ipv6?, File.join, hostname /
// Socket.gethostname, worker_id, use_nil, use_default, raise SetNil/SetDefault, and the
// methods to_s to_i to_sym empty? nil? strip downcase upcase. The code is parsed whole first:
// anything else is an error naming the expression and the construct; nothing is executed.
// Nesting deeper than 32 levels is an error.
Result<EvalValue> evalEmbedded(std::string_view code, const EvalEnvironment& environment);

}  // namespace sluice::config
