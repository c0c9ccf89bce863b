// SPDX-License-Identifier: Apache-2.0
// fluent-plugin-elasticsearch's elasticsearch_data_stream output: the elasticsearch output
// (plugins/out_elasticsearch, which owns the code and the parameter table) with
// data_stream_name required, the data stream's ILM policy, composable template and stream
// installed at start when missing (data_stream_setup true) and use_legacy_template false.
// Threads as the elasticsearch output's (es_output.h).
#include "plugins/out_elasticsearch/es_output.h"

namespace sluice::plugins::out_elasticsearch_data_stream {

const PluginDescriptor& descriptor() { return out_elasticsearch::dataStreamDescriptor(); }

}  // namespace sluice::plugins::out_elasticsearch_data_stream
