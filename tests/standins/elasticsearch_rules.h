// SPDX-License-Identifier: Apache-2.0
#pragma once

// What Elasticsearch's rules say about a document and a name, as the Elasticsearch stand-in
// applies them (elasticsearch.cc, under its mutex): dynamic mapping (the type a value maps to,
// date detection, what fits a mapped field, dotted keys expanded into objects) and the index
// name rules with Elasticsearch's messages. Written for the stand-in from Elasticsearch's docs
// and sources, not shared with the elasticsearch output. Pure; any thread.

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

namespace sluice::testing::es_rules {

// A field of a document as dynamic mapping sees it: its full dotted path, its key (the last
// part), its value, or none for an object level that a dotted key implies.
struct Field {
  std::string path;
  std::string leaf;
  simdjson::dom::element value;
  bool implied_object = false;
  std::string full;  // for an implied object: the dotted field that implies it
};

// Whether a string is detected as a date by dynamic mapping (dynamic_date_formats' defaults).
bool looksLikeDate(std::string_view s);
// The field-type class a JSON value maps to: 'n' long/float, 's' text, 'b' boolean, 'o' object,
// 0 for null (maps nothing).
char typeOf(simdjson::dom::element v);
const char* mappingName(char t);
// Whether a value of class `value` can be indexed into a field mapped as `mapped`.
bool fits(char mapped, char value, simdjson::dom::element v);
// Every field of `object` in document order, dotted keys expanded into objects.
void flatten(simdjson::dom::object object, const std::string& prefix, std::vector<Field>& out);
// Why Elasticsearch refuses `name` as an index name, in its words; "" when it takes it.
std::string invalidIndexName(std::string_view name);
// The value as Elasticsearch previews it in a mapping error.
std::string preview(simdjson::dom::element v);

}  // namespace sluice::testing::es_rules
