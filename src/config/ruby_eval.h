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

// Evaluates the Ruby subset that real Fluentd configs use inside "#{...}": string and integer
// literals, nil/true/false, ENV['X'], ENV.fetch('X'[, 'default']), a || b, File.join(a, …),
// hostname / Socket.gethostname, worker_id, use_nil, use_default, raise SetNil/SetDefault,
// and parentheses. Nothing is executed: anything else is an error naming the expression.
Result<EvalValue> evalEmbedded(std::string_view code, const EvalEnvironment& environment);

}  // namespace sluice::config
