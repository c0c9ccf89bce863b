// SPDX-License-Identifier: Apache-2.0
#pragma once

// The base of every plugin and the pieces every kind shares: its kind, its lifecycle
// (start/stop/checkState, called on the main thread), where batches go (EventSink) and how a
// thread learns it should stop (StopToken). Part of the plugin API (core/plugin_api.h).

#include <atomic>
#include <memory>
#include <string_view>

#include "core/batch.h"
#include "core/status.h"

namespace sluice {

enum class PluginKind { Input, Parser, Filter, Output, Formatter };
std::string_view pluginKindName(PluginKind kind);  // "input", "parser", "filter", "output", "formatter"
std::string_view pluginKindShortName(PluginKind kind);  // "in", "parser", "filter", "out", "formatter"

// Where batches go: the router's entry points, label agents and outputs. emit() returns once
// the batch is accepted (formatted into an output's buffer or written); the caller may then
// reuse the batch. An error means the batch was not accepted. Called on the emitting input's
// thread (or a flush thread for outputs behind <secondary>); implementations are thread-safe.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual Status emit(Batch& batch) = 0;
};

// Lets a thread wait interruptibly and learn that it should stop. Thread-safe.
class StopToken {
 public:
  StopToken();
  ~StopToken();
  StopToken(const StopToken&) = delete;
  StopToken& operator=(const StopToken&) = delete;

  void requestStop();
  // An atomic load, no system call: input loops ask it on every turn.
  bool stopRequested() const { return stopped_.load(std::memory_order_acquire); }
  // A descriptor that becomes readable on stop (for poll()).
  int fd() const { return fd_; }
  // Sleeps up to `seconds`; returns false if woken by a stop request.
  bool sleepFor(double seconds) const;

 private:
  int fd_;
  std::atomic<bool> stopped_{false};
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Called in start order (outputs, filters, inputs) before any data flows.
  virtual Status start() { return Status::ok(); }
  // Called in stop order (inputs, filters, outputs) after data stopped flowing in.
  virtual void stop() {}
  // Called by `--dry-run` on the main thread: checks that the state the plugin keeps (a
  // pos_file's folder, ...) can be written, as start() would; start() must fail the same way.
  virtual Status checkState() { return Status::ok(); }
};
using PluginPtr = std::unique_ptr<Plugin>;

}  // namespace sluice
