// SPDX-License-Identifier: Apache-2.0
#include "standins/elasticsearch_rules.h"

#include <locale.h>
#include <wctype.h>

#include <cctype>
#include <string>

namespace sluice::testing::es_rules {
namespace {

// Whether `name` has a character that Elasticsearch's toLowerCase(Locale.ROOT) changes: every
// letter with a lower case, not only A-Z ("Über" is refused as much as "Upper"). A byte that
// starts no UTF-8 sequence is taken alone.
bool hasUpperCase(std::string_view name) {
  static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  for (size_t at = 0; at < name.size();) {
    const auto lead = static_cast<unsigned char>(name[at]);
    const size_t n = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
    wint_t c = n == 1 ? lead : lead & (0x7F >> n);
    bool whole = at + n <= name.size();
    for (size_t k = 1; whole && k < n; ++k) {
      const auto next = static_cast<unsigned char>(name[at + k]);
      whole = (next & 0xC0) == 0x80;
      c = (c << 6) | (next & 0x3F);
    }
    if (!whole) c = lead;
    if (utf8 != nullptr ? towlower_l(c, utf8) != c : (c < 0x80 && std::isupper(static_cast<int>(c)))) return true;
    at += whole ? n : 1;
  }
  return false;
}

}  // namespace

// Dynamic mapping's date detection (on by default): a string first seen in the default
// dynamic_date_formats, strict_date_optional_time or yyyy/MM/dd HH:mm:ss Z||yyyy/MM/dd Z, maps the
// field as a date (docs: "Dynamic field mapping", date detection).
bool looksLikeDate(std::string_view s) {
  auto digits = [&](size_t at, size_t n) {
    if (at + n > s.size()) return false;
    for (size_t k = 0; k < n; ++k) {
      if (!std::isdigit(static_cast<unsigned char>(s[at + k]))) return false;
    }
    return true;
  };
  if (digits(0, 4) && s.size() >= 10 && s[4] == '/' && digits(5, 2) && s[7] == '/' && digits(8, 2)) return true;
  if (!(digits(0, 4) && s.size() >= 10 && s[4] == '-' && digits(5, 2) && s[7] == '-' && digits(8, 2))) return false;
  size_t i = 10;
  if (i == s.size()) return true;
  if (s[i] != 'T' || !digits(i + 1, 2)) return false;
  i += 3;
  for (int part = 0; part < 2 && i < s.size() && s[i] == ':'; ++part) {
    if (!digits(i + 1, 2)) return false;
    i += 3;
  }
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    size_t d = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == d || i - d > 9) return false;
  }
  if (i < s.size() && s[i] == 'Z') ++i;
  else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    if (!digits(i + 1, 2)) return false;
    i += 3;
    if (i < s.size() && s[i] == ':') ++i;
    if (i < s.size()) {
      if (!digits(i, 2)) return false;
      i += 2;
    }
  }
  return i == s.size();
}

// The field-type class ES's dynamic mapping gives a JSON value: 'n' long/float, 's' text,
// 'b' boolean, 'o' object, 0 for null (maps nothing).
char typeOf(simdjson::dom::element v) {
  switch (v.type()) {
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return 'n';
    case simdjson::dom::element_type::STRING: return looksLikeDate(v.get_string().value_unsafe()) ? 'd' : 's';
    case simdjson::dom::element_type::BOOL: return 'b';
    case simdjson::dom::element_type::OBJECT: return 'o';
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array array = v.get_array().value_unsafe();
      simdjson::dom::element first;
      return array.at(0).get(first) == simdjson::SUCCESS ? typeOf(first) : 0;
    }
    default: return 0;
  }
}

const char* mappingName(char t) {
  switch (t) {
    case 'n': return "long";
    case 's': return "text";
    case 'b': return "boolean";
    case 'd': return "date";
    default: return "object";
  }
}

// Whether a value of class `value` can be indexed into a field mapped as `mapped` (ES coerces
// numbers and booleans into text, numeric strings into numbers).
bool fits(char mapped, char value, simdjson::dom::element v) {
  if (value == 0 || value == mapped) return true;
  if (mapped == 's') return value != 'o';
  if (mapped == 'd') return value == 'n';  // epoch milliseconds; other strings do not parse as a date
  if (mapped == 'n' && value == 's') {
    std::string_view s = v.get_string().value_unsafe();
    char* end = nullptr;
    std::string copy(s);
    std::strtod(copy.c_str(), &end);
    return !copy.empty() && end == copy.c_str() + copy.size();
  }
  if (mapped == 'b' && value == 's') {
    std::string_view s = v.get_string().value_unsafe();
    return s == "true" || s == "false";
  }
  return false;
}


// Every field of `object` in document order, an object listed before its members. As
// Elasticsearch does (subobjects true, the default), a key with dots is expanded into objects:
// {"app.kubernetes.io/name": "x"} maps app, app.kubernetes (objects) and app.kubernetes.io/name.
void flatten(simdjson::dom::object object, const std::string& prefix, std::vector<Field>& out) {
  for (auto [key, value] : object) {
    std::string path = prefix;
    size_t from = 0;
    for (size_t dot; (dot = key.find('.', from)) != std::string_view::npos; from = dot + 1) {
      path += (path.empty() ? "" : ".") + std::string(key.substr(from, dot - from));
      out.push_back({path, std::string(key.substr(from, dot - from)), value, true, ""});
    }
    const size_t implied = out.size();
    path += (path.empty() ? "" : ".") + std::string(key.substr(from));
    for (size_t k = implied; k-- > 0 && out[k].implied_object && out[k].full.empty();) out[k].full = path;
    out.push_back({path, std::string(key.substr(from)), value, false, ""});
    simdjson::dom::object inner;
    if (value.get_object().get(inner) == simdjson::SUCCESS) flatten(inner, path, out);
  }
}

// Elasticsearch's rules for an index name, in its order and with its messages
// (MetadataCreateIndexService.validateIndexOrAliasName, then validateIndexName's lower case).
// The stand-in's own statement of them: the output has its own check, which this one judges.
std::string invalidIndexName(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.find_first_of("\\/*?\"<>| ,") != std::string_view::npos) {
    return "must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?]";
  }
  if (name.find('#') != std::string_view::npos) return "must not contain '#'";
  if (name.find(':') != std::string_view::npos) return "must not contain ':'";
  if (name.front() == '_' || name.front() == '-' || name.front() == '+') return "must not start with '_', '-', or '+'";
  if (name.size() > 255) return "index name is too long, (" + std::to_string(name.size()) + " > 255)";
  if (name == "." || name == "..") return "must not be '.' or '..'";
  if (hasUpperCase(name)) return "must be lowercase";
  return {};
}

std::string preview(simdjson::dom::element v) {
  if (v.type() == simdjson::dom::element_type::STRING) return std::string(v.get_string().value_unsafe());
  return simdjson::minify(v);
}

}  // namespace sluice::testing::es_rules
