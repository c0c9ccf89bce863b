// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

// Where something was written: file and 1-based line.
struct Location {
  std::shared_ptr<const std::string> file;
  int line = 0;
  std::string str() const { return (file ? *file : std::string("(config)")) + ":" + std::to_string(line); }
};

// One `key value` line. `value` is the literal after Fluentd's unquoting and escapes; JSON
// arrays and hashes are kept as their (normalised) JSON text, as Fluentd does.
struct Param {
  enum class Special { None, Nil, UseDefault };  // from "#{use_nil}" / "#{use_default}"
  std::string key;
  std::string value;
  Location where;
  Special special = Special::None;
  mutable bool used = false;
};

// A directive or section: `<name arg> … </name>`. The root element is named "ROOT".
class Element {
 public:
  std::string name;
  std::string arg;
  Location where;
  std::vector<Param> params;
  std::vector<Element> elements;

  const Param* find(std::string_view key) const;
  // The value of `key`, or nullopt when absent (or set to nil). Marks the param as used.
  std::optional<std::string> get(std::string_view key) const;
  void set(std::string key, std::string value);
  std::vector<const Element*> children(std::string_view name) const;

  // Fluentd's Element#to_s: re-parsable text, values quoted when needed.
  std::string toString(int indent = 0) const;
};

}  // namespace sluice::config
