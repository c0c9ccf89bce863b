// SPDX-License-Identifier: Apache-2.0
#include "plugins/in_stdin/stdin_input.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::plugins::in_stdin {
namespace {

const std::array<Param<StdinConfig>, 3> kParams = {{
    {"tag", &StdinConfig::tag, "stdin", "Tag of the events."},
    {"batch_lines", &StdinConfig::batch_lines, "1024", "Lines parsed and emitted per batch, at most."},
    {"max_line_size", &StdinConfig::max_line_size, "16m", "Longer lines are skipped with a warning."},
}};

}  // namespace

Result<std::unique_ptr<StdinInput>> StdinInput::create(const StdinConfig& config, PluginContext& ctx) {
  if (config.batch_lines < 1) return Status::invalidConfig("batch_lines must be at least 1");
  auto sections = ctx.element().children("parse");
  config::Element auto_parse;
  auto_parse.name = "parse";
  auto_parse.where = ctx.element().where;
  auto_parse.set("@type", "auto");
  auto parser = ctx.createParser(sections.empty() ? auto_parse : *sections.front());
  if (!parser) return parser.takeStatus();
  return std::unique_ptr<StdinInput>(new StdinInput(config, ctx, std::move(*parser)));
}

StdinInput::StdinInput(const StdinConfig& config, PluginContext& ctx, ParserPtr parser)
    : tag_(config.tag),
      batch_lines_(static_cast<size_t>(config.batch_lines)),
      max_line_size_(config.max_line_size.bytes),
      parser_(std::move(parser)),
      state_(parser_->newState()),
      log_(ctx.log()),
      malformed_(log_),
      errors_(ctx.metrics().counter("errors_total", "Lines the parser rejected.",
                                    {{"error_type", "parse"}, {"stage", "parse"}})),
      skipped_long_(ctx.metrics().counter("discarded_records_total", "Lines longer than max_line_size.",
                                          {{"intentional", "false"}})),
      lines_read_(ctx.metrics().pluginCounter("read_lines_total", "Lines read and given to the parser.")),
      first_malformed_(ctx.metrics().gauge("stdin_first_malformed_line",
                                           "Number of the first line the parser rejected (0: none).")) {}

Status StdinInput::run(EventSink& out, const StopToken& stop) {
  LineBuffer buffer(256 * 1024, max_line_size_);
  Batch batch;
  std::vector<std::string_view> lines;
  std::vector<ParsedRecord> parsed(batch_lines_);
  size_t reported_long = 0;
  bool eof = false;

  auto process = [&](bool padded) -> Status {
    if (lines.empty()) return Status::ok();
    std::fill(parsed.begin(), parsed.begin() + lines.size(), ParsedRecord{});
    parser_->parse(LineBatch{lines, padded, state_.get(), seq_}, batch.arena(),
                   std::span(parsed.data(), lines.size()));
    seq_ += lines.size();
    int64_t now = nowNs();
    uint64_t bad = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      ParsedRecord& r = parsed[i];
      if (r.held) continue;
      if (!r.ok()) {
        if (bad++ == 0 && first_malformed_.value() == 0) first_malformed_.set(static_cast<int64_t>(seq_ - lines.size() + i + 1));
        malformed_.report("source=stdin", lines[i], r.error);
        continue;
      }
      batch.add(tag_, r.has_time ? r.time_ns : now, r.record);
    }
    if (bad) errors_.add(bad);
    lines_read_.add(lines.size());
    lines.clear();
    Status s = out.emit(batch);
    batch.clear();
    return s;
  };

  while (!eof) {
    struct pollfd fds[2] = {{fd_, POLLIN, 0}, {stop.fd(), POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Status::ioError(std::string("poll: ") + std::strerror(errno));
    }
    if (fds[1].revents & POLLIN) break;
    ssize_t n = buffer.fill(fd_);
    if (n < 0) {
      if (errno == EAGAIN) continue;
      return Status::ioError(std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) eof = true;
    while (buffer.takeLines(lines, batch_lines_) > 0) {
      Status s = process(true);
      if (!s) log_.error("Batch not accepted: " + s.message());
    }
    if (eof) {
      std::string_view rest = buffer.takeRest();
      if (!rest.empty()) {
        if (rest.back() == '\r') rest.remove_suffix(1);
        lines.push_back(rest);
        Status s = process(true);
        if (!s) log_.error("Batch not accepted: " + s.message());
      }
      // What a joining parser still holds (an unfinished partial line) is emitted at EOF.
      ParsedRecord held;
      if (state_ && parser_->flush(*state_, batch.arena(), held) && held.ok()) {
        batch.add(tag_, held.has_time ? held.time_ns : nowNs(), held.record);
        Status s = out.emit(batch);
        batch.clear();
        if (!s) log_.error("Batch not accepted: " + s.message());
      }
    }
    if (buffer.skippedLongLines() > reported_long) {
      size_t n_long = buffer.skippedLongLines() - reported_long;
      skipped_long_.add(n_long);
      log_.warn("Skipped " + std::to_string(n_long) + " line(s) longer than max_line_size=" +
                std::to_string(max_line_size_) + " bytes.");
      reported_long = buffer.skippedLongLines();
    }
    buffer.compact();
  }
  return Status::ok();
}

const PluginDescriptor& descriptor() {
  static const PluginDescriptor kDescriptor = makeDescriptor<StdinInput>(
      PluginKind::Input, "stdin",
      "Reads lines from standard input and parses them with <parse> (default: auto). Stops at "
      "end of input.",
      kParams, {{"parse", "The parser of each line (default @type auto).", {}}});
  return kDescriptor;
}

}  // namespace sluice::plugins::in_stdin
