// SPDX-License-Identifier: Apache-2.0
// The sluice command line.

#include <unistd.h>

#include <boost/program_options.hpp>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/parser.h"
#include "buffer/buffer_config.h"
#include "engine/engine.h"
#include "engine/monitor_sources.h"
#include "engine/pipeline.h"
#include "cli/quick.h"
#include "engine/registry.h"
#include "engine/replay.h"
#include "monitor/top.h"

namespace po = boost::program_options;
using namespace sluice;

namespace {

constexpr const char* kUsage =
    "Usage:\n"
    "  sluice -c FILE [--dry-run] [--strict] [--log-level LEVEL]\n"
    "  COMMAND | sluice [--parse NAME] [-f FILTER [-s key=value]...] [-o OUTPUT [-s key=value]...]\n"
    "  sluice replay DEAD_LETTER_DIR -c FILE\n"
    "  sluice top [--url URL] [--interval SECONDS] [--iterations N]\n"
    "  sluice tap TAG_PATTERN | --after PLUGIN_ID [--url URL] [--rate N] [--limit N] [--format json|pretty]\n"
    "  sluice --list-plugins | --describe NAME [--markdown] | --version\n\n"
    "Quick mode: -s KEY=VALUE sets a parameter of the plugin named before it; -s SECTION.KEY=VALUE\n"
    "one of its <SECTION> (format.@type=pretty, record.host=web1); for grep, -s regexp=KEY:PATTERN\n"
    "and -s exclude=KEY:PATTERN add a rule each. --fail-on-malformed: exit 1 on malformed input.\n\n"
    "Exit codes: 0 ok, 1 runtime error (or malformed input with --fail-on-malformed),\n"
    "2 configuration or usage error,\n"
    "130 second SIGINT/SIGTERM during shutdown.\n";

int usageError(const std::string& message) {
  std::fprintf(stderr, "sluice: %s\n\n%s", message.c_str(), kUsage);
  return engine::kExitConfigError;
}

int listPlugins() {
  const Registry& r = Registry::builtin();
  for (PluginKind kind : {PluginKind::Input, PluginKind::Parser, PluginKind::Filter, PluginKind::Output,
                          PluginKind::Formatter}) {
    std::printf("%s:\n", std::string(pluginKindName(kind)).c_str());
    std::vector<const PluginDescriptor*> list = r.ofKind(kind);
    // Fluentd's monitoring sources, which the engine serves itself (engine/monitor_sources.h).
    for (const PluginDescriptor* d : engine::monitorSourceDescriptors()) {
      if (d->kind == kind) list.push_back(d);
    }
    std::sort(list.begin(), list.end(), [](const PluginDescriptor* a, const PluginDescriptor* b) { return a->name < b->name; });
    for (const PluginDescriptor* d : list) {
      std::printf("  %-22s %s\n", std::string(d->name).c_str(), std::string(d->description).c_str());
    }
  }
  return 0;
}

int describe(const std::string& name, bool markdown) {
  const Registry& r = Registry::builtin();
  if (name == "buffer") {
    std::fputs(Registry::describeParams(describeParams(std::span<const Param<BufferConfig>>(bufferParams())), markdown).c_str(),
               stdout);
    return 0;
  }
  std::string_view n = name;
  std::optional<PluginKind> kind;
  // Accepts "grep", "filter_grep", "filter:grep".
  for (auto [prefix, k] : std::initializer_list<std::pair<std::string_view, PluginKind>>{
           {"in_", PluginKind::Input}, {"input:", PluginKind::Input}, {"parser_", PluginKind::Parser},
           {"parser:", PluginKind::Parser}, {"filter_", PluginKind::Filter}, {"filter:", PluginKind::Filter},
           {"out_", PluginKind::Output}, {"output:", PluginKind::Output}, {"formatter_", PluginKind::Formatter},
           {"formatter:", PluginKind::Formatter}}) {
    if (n.starts_with(prefix)) {
      kind = k;
      n.remove_prefix(prefix.size());
      break;
    }
  }
  std::vector<const PluginDescriptor*> found;
  std::vector<const PluginDescriptor*> everything(r.all().begin(), r.all().end());
  // Fluentd's monitoring sources, which the engine serves itself (engine/monitor_sources.h).
  for (const PluginDescriptor* d : engine::monitorSourceDescriptors()) everything.push_back(d);
  std::sort(everything.begin(), everything.end(), [](const PluginDescriptor* a, const PluginDescriptor* b) {
    return a->kind != b->kind ? a->kind < b->kind : a->name < b->name;
  });
  for (const PluginDescriptor* d : everything) {
    if (n == "all") {
      found.push_back(d);
      continue;
    }
    if (kind && d->kind != *kind) continue;
    bool match = d->name == n;
    for (auto a : d->aliases) match = match || a == n;
    if (match) found.push_back(d);
  }
  if (found.empty()) {
    std::fprintf(stderr, "sluice: no plugin named '%s' (see --list-plugins)\n", name.c_str());
    return engine::kExitConfigError;
  }
  for (size_t i = 0; i < found.size(); ++i) {
    if (i) std::printf("\n");
    std::fputs(Registry::describe(*found[i], markdown).c_str(), stdout);
  }
  return 0;
}

// Quick mode's account of a run, on stderr when anything was rejected: lines read, records
// out, and what did not make it. Returns whether any line was malformed.
bool quickSummary(const MetricsRegistry& metrics) {
  auto count = [&](const char* name, Labels labels = {}) {
    return static_cast<uint64_t>(metrics.sum(name, labels));
  };
  const uint64_t read = count("sluice_input_stdin_read_lines_total");
  const uint64_t malformed = count("sluice_input_errors_total");
  const uint64_t too_long = count("sluice_input_discarded_records_total", {{"intentional", "false"}});
  const uint64_t to_error = count("sluice_router_error_records_total");
  const uint64_t out = count("sluice_output_sent_records_total");
  const uint64_t first = count("sluice_input_stdin_first_malformed_line");
  if (malformed + too_long + to_error == 0) return false;
  std::string line = "sluice: " + std::to_string(read + too_long) + " lines read, " + std::to_string(out) +
                     " records out, " + std::to_string(malformed) + " malformed";
  if (first) line += " (first at line " + std::to_string(first) + ")";
  if (too_long) line += ", " + std::to_string(too_long) + " longer than max_line_size";
  if (to_error) line += ", " + std::to_string(to_error) + " sent to @ERROR";
  std::fprintf(stderr, "%s\n", line.c_str());
  return malformed + too_long > 0;
}

// Reads the config file (at start-up and at every reload). An empty one is refused
// (Rejected), as there is nothing to run.
Result<config::Element> loadConfig(const std::string& path) {
  auto parsed = config::parseConfigFile(path, config::EvalEnvironment::fromProcess());
  if (!parsed) return parsed.takeStatus();
  if (parsed->elements.empty() && parsed->params.empty()) {
    return Status::rejected(path + " holds no configuration (no <source>, <match> or parameter): nothing to run");
  }
  return std::move(*parsed);
}

}  // namespace

int main(int argc, char** argv) {
  // `sluice top` and `sluice tap`: clients of a running sluice's monitor.
  if (argc >= 2 && (std::string_view(argv[1]) == "top" || std::string_view(argv[1]) == "tap")) {
    std::vector<std::string> args(argv + 2, argv + argc);
    signal(SIGPIPE, SIG_IGN);
    return std::string_view(argv[1]) == "top" ? runTop(args, isatty(STDOUT_FILENO)) : runTap(args);
  }
  engine::Engine::blockSignals();
  // `sluice replay DIR -c CONFIG`: dead letters back through their outputs.
  std::string replay_dir;
  if (argc >= 2 && std::string_view(argv[1]) == "replay") {
    if (argc < 3 || std::string_view(argv[2]).starts_with("-")) {
      return usageError("replay needs the dead-letter directory first: sluice replay DIR -c FILE");
    }
    replay_dir = argv[2];
    for (int i = 3; i < argc; ++i) argv[i - 2] = argv[i];
    argc -= 2;
  }
  po::options_description desc("Options");
  desc.add_options()
      ("help,h", "show this help")
      ("version", "print the version")
      ("config,c", po::value<std::string>(), "configuration file (Fluentd syntax)")
      ("dry-run", "validate the configuration, print the pipeline graph and exit")
      ("list-metrics", "with --dry-run: list the metrics the pipeline exposes")
      ("fail-on-malformed", "quick mode: exit 1 when any input line was malformed")
      ("stats", "quick mode: print every counter that is not zero on stderr at the end")
      ("strict", "unknown parameters are errors, not warnings")
      ("log-level", po::value<std::string>(), "trace, debug, info, warn, error")
      ("log-format", po::value<std::string>(), "text or json")
      ("list-plugins", "list the plugins of this build")
      ("describe", po::value<std::string>(), "print a plugin's parameters (NAME, KIND_NAME, all, or buffer)")
      ("markdown", "with --describe: print a Markdown table")
      ("parse", po::value<std::string>(), "quick mode: the parser of stdin lines (default: auto)")
      ("filter,f", po::value<std::vector<std::string>>(), "quick mode: add a filter (repeatable)")
      ("output,o", po::value<std::string>(), "quick mode: the output (default: stdout)")
      ("set,s", po::value<std::vector<std::string>>(),
       "quick mode: key=value for the plugin named just before it");
  po::variables_map vm;
  po::parsed_options parsed(&desc);
  try {
    parsed = po::command_line_parser(argc, argv).options(desc).run();
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return usageError(e.what());
  }
  // Words without a dash are not options: `sluice conf/demo.conf` forgot -c, and must not
  // quietly read stdin instead.
  for (const po::option& o : parsed.options) {
    if (o.position_key < 0 && !o.string_key.empty()) continue;
    std::string word = o.original_tokens.empty() ? std::string() : o.original_tokens.front();
    if (word == "replay") return usageError("replay needs the dead-letter directory first: sluice replay DIR -c FILE");
    std::string hint = word.ends_with(".conf") ? " (did you mean -c " + word + "?)" : "";
    return usageError("unexpected argument '" + word + "'" + hint);
  }
  if (vm.count("list-metrics") && !vm.count("dry-run")) {
    return usageError("--list-metrics only works with --dry-run (sluice -c FILE --dry-run --list-metrics)");
  }
  if (vm.count("markdown") && !vm.count("describe")) return usageError("--markdown only works with --describe NAME");
  if (vm.count("help")) {
    std::printf("sluice %s: a log pipeline processor that reads Fluentd configs.\n\n%s\n",
                SLUICE_VERSION, kUsage);
    std::cout << desc;
    return 0;
  }
  if (vm.count("version")) {
    std::printf("sluice %s\n", SLUICE_VERSION);
    return 0;
  }
  if (vm.count("log-level")) {
    auto level = parseLogLevel(vm["log-level"].as<std::string>());
    if (!level) return usageError("unknown log level '" + vm["log-level"].as<std::string>() + "'");
    Logger::global().setLevel(*level);
  }
  if (vm.count("log-format")) {
    std::string f = vm["log-format"].as<std::string>();
    if (f != "text" && f != "json") return usageError("--log-format must be text or json");
    Logger::global().setJson(f == "json");
  }
  if (vm.count("list-plugins")) return listPlugins();
  if (vm.count("describe")) return describe(vm["describe"].as<std::string>(), vm.count("markdown") > 0);

  config::Element root;
  if (vm.count("config")) {
    for (const char* quick : {"parse", "filter", "output", "set", "fail-on-malformed", "stats"}) {
      if (vm.count(quick)) return usageError(std::string("--") + quick + " is for quick mode (without -c)");
    }
    auto parsed_config = loadConfig(vm["config"].as<std::string>());
    if (!parsed_config) {
      if (parsed_config.status().code() == Code::Rejected) {
        return usageError(parsed_config.status().message());
      }
      std::fprintf(stderr, "sluice: config error: %s\n", parsed_config.status().message().c_str());
      return engine::kExitConfigError;
    }
    root = std::move(*parsed_config);
  } else {
    // Quick mode is for pipes in development: only warnings and errors on stderr.
    if (!vm.count("log-level")) Logger::global().setLevel(LogLevel::Warn);
    cli::QuickSpec spec;
    spec.stdout_is_tty = isatty(STDOUT_FILENO);
    cli::QuickSpec::Plugin* last = nullptr;
    for (const po::option& o : parsed.options) {
      if (o.value.empty()) continue;
      if (o.string_key == "parse") {
        spec.parser = o.value[0];
        last = &spec.parse_params;
      } else if (o.string_key == "filter") {
        spec.filters.push_back({o.value[0], {}});
        last = &spec.filters.back();
      } else if (o.string_key == "output") {
        spec.output.type = o.value[0];
        last = &spec.output;
      } else if (o.string_key == "set") {
        const std::string& kv = o.value[0];
        size_t eq = kv.find('=');
        if (eq == std::string::npos || eq == 0) return usageError("-s expects key=value, got '" + kv + "'");
        if (last == nullptr) return usageError("-s " + kv + " must follow --parse, -f or -o");
        last->params.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
    }
    root = cli::quickConfig(spec);
  }

  MetricsRegistry metrics;
  metrics.gauge("sluice_build_info", "Always 1; the version of this build is its label.", {{"version", SLUICE_VERSION}}).set(1);
  engine::BuildOptions options;
  options.strict = vm.count("strict") > 0;
  auto pipeline = engine::Pipeline::build(root, Registry::builtin(), metrics, options);
  if (!pipeline) {
    std::fprintf(stderr, "sluice: config error: %s\n", pipeline.status().message().c_str());
    return engine::kExitConfigError;
  }
  if (!replay_dir.empty()) {
    if (!vm.count("config")) return usageError("replay needs -c CONFIG (the outputs to send through)");
    return engine::replayDeadLetters(**pipeline, replay_dir);
  }
  if (vm.count("dry-run")) {
    if (Status state = (*pipeline)->checkState(); !state) {
      std::fprintf(stderr, "sluice: state cannot be kept: %s\n", state.message().c_str());
      return engine::kExitConfigError;
    }
    std::fputs((*pipeline)->graph().c_str(), stdout);
    if (vm.count("list-metrics")) {
      std::printf("metrics:\n");
      for (const std::string& m : metrics.describe()) std::printf("  %s\n", m.c_str());
    }
    std::printf("configuration OK\n");
    return 0;
  }
  engine::Engine engine(std::move(*pipeline), metrics);
  if (vm.count("config")) {
    engine.enableReload([path = vm["config"].as<std::string>()] { return loadConfig(path); },
                        Registry::builtin(), options);
  }
  int code = engine.run();
  if (!vm.count("config")) {
    bool malformed = quickSummary(metrics);
    if (vm.count("stats")) printStats(metrics);
    if (malformed && code == 0 && vm.count("fail-on-malformed")) code = engine::kExitRuntimeError;
  }
  return code;
}
