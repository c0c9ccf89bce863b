// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/element.h"

namespace sluice::engine {

// The command line of quick mode (no -c): stdin in, one output out.
struct QuickSpec {
  std::string parser;  // --parse NAME; "" = auto (JSON when a line is JSON, else text)
  struct Plugin {
    std::string type;
    std::vector<std::pair<std::string, std::string>> params;  // -s key=value
  };
  Plugin parse_params;          // params for the parser (given after --parse)
  std::vector<Plugin> filters;  // -f NAME
  Plugin output;                // -o NAME; "" = stdout
  bool stdout_is_tty = false;
};

// Builds the equivalent configuration tree:
//   <source> @type stdin, tag stdin, <parse> </source>
//   <filter **> … </filter> for each -f
// (-s KEY=VALUE sets a parameter, -s SECTION.KEY=VALUE one in <SECTION>; for grep,
// -s regexp=KEY:PATTERN / -s exclude=KEY:PATTERN add a rule)
//   <match **> @type OUTPUT (stdout: pretty on a terminal, JSON lines otherwise) </match>
config::Element quickConfig(const QuickSpec& spec);

}  // namespace sluice::engine
