// SPDX-License-Identifier: Apache-2.0
#pragma once

// The command-line clients of a running sluice's monitor: `sluice top` (a live per-plugin view)
// and `sluice tap` (samples of the events passing a point). Called by main on its thread; they
// return the process's exit code.

#include <string>
#include <vector>

#include "monitor/metrics.h"

namespace sluice {

// `sluice top [--url URL] [--interval SECONDS] [--iterations N]`
int runTop(const std::vector<std::string>& args, bool stdout_is_tty);
// `sluice tap PATTERN | --after ID [--url URL] [--rate N] [--limit N] [--format json|pretty]`
int runTap(const std::vector<std::string>& args);
// Quick mode's --stats: every counter and gauge that is not zero, on stderr, at the end.
void printStats(const MetricsRegistry& metrics);

}  // namespace sluice
