// SPDX-License-Identifier: Apache-2.0
#include "config/element.h"

namespace sluice::config {

const Param* Element::find(std::string_view key) const {
  for (const Param& p : params) {
    if (p.key == key) return &p;
  }
  return nullptr;
}

std::optional<std::string> Element::get(std::string_view key) const {
  const Param* p = find(key);
  if (p == nullptr) return std::nullopt;
  p->used = true;
  if (p->special != Param::Special::None) return std::nullopt;
  return p->value;
}

void Element::set(std::string key, std::string value) {
  for (Param& p : params) {
    if (p.key == key) {
      p.value = std::move(value);
      p.special = Param::Special::None;
      return;
    }
  }
  params.push_back(Param{std::move(key), std::move(value), where});
}

std::vector<const Element*> Element::children(std::string_view child) const {
  std::vector<const Element*> out;
  for (const Element& e : elements) {
    if (e.name == child) out.push_back(&e);
  }
  return out;
}

namespace {

std::string quoteIfNeeded(const std::string& v) {
  bool needs = v.empty() || v.front() == ' ' || v.back() == ' ' || v.front() == '"' ||
               v.front() == '\'' || v.find_first_of("\n\r\t#\\") != std::string::npos;
  if (!needs) return v;
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '#': out += "\\#"; break;
      default: out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string Element::toString(int indent) const {
  std::string pad(indent, ' ');
  std::string out = pad + "<" + name + (arg.empty() ? "" : " " + arg) + ">\n";
  for (const Param& p : params) {
    std::string v = p.value;
    bool json = !v.empty() && (v.front() == '[' || v.front() == '{');
    out += pad + "  " + p.key + " " + (json ? v : quoteIfNeeded(v)) + "\n";
  }
  for (const Element& e : elements) out += e.toString(indent + 2);
  out += pad + "</" + name + ">\n";
  return out;
}

}  // namespace sluice::config
