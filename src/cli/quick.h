// SPDX-License-Identifier: Apache-2.0
#pragma once

// The command line's quick mode (`sluice -f grep -s ...` without -c): a configuration written
// for the user, naming its default plugins (stdin in, stdout out) as a configuration file
// would. Part of the sluice binary's front end, not of the engine. Main thread.

#include <string>
#include <utility>
#include <vector>

#include "config/element.h"

namespace sluice::cli {

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
// (-s KEY=VALUE sets a parameter, -s SECTION.KEY=VALUE one in <SECTION>; -s SECTION=KEY:PATTERN
// adds a <SECTION> with key and pattern when the plugin declares such a section: grep's
// <regexp> and <exclude>)
//   <match **> @type OUTPUT (stdout: pretty on a terminal, JSON lines otherwise) </match>
config::Element quickConfig(const QuickSpec& spec);

}  // namespace sluice::cli
