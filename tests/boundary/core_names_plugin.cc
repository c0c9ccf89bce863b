// SPDX-License-Identifier: Apache-2.0
// Boundary probe, never compiled: a core file that names a plugin type, as the engine once named
// relabel. check_core_names.py must refuse it (PluginBoundary.CoreNamingAPluginFails).
bool routesToLabel(const Instance& instance) { return instance.type == "relabel"; }
