# The plugin boundary. A plugin sees only what it declares:
#   sluice_plugin_api  core/, config/ and monitor/ (the plugin API: core/plugin_api.h and what it
#                      includes) and plugins/ (its own headers), linking sluice_core;
#   net                net/ (HTTP client), linking sluice_net;
#   codec              codec/ (gzip, zstd), linking sluice_codec.
# Each is an INTERFACE target whose include folder is a view built here of symbolic links to
# the source folders it may see, so `#include "buffer/buffer.h"` or "engine/pipeline.h" in a
# plugin fails to compile (tests/boundary proves it). The libraries themselves publish no
# include folder (CMakeLists.txt: sluice_internal is for the engine, tests and benchmarks).
set(_views ${CMAKE_BINARY_DIR}/plugin_views)
foreach(view_dir IN ITEMS "api/core" "api/config" "api/monitor" "net/net" "codec/codec")
  get_filename_component(_parent ${_views}/${view_dir} DIRECTORY)
  get_filename_component(_leaf ${view_dir} NAME)
  file(MAKE_DIRECTORY ${_parent})
  file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${_leaf} ${_views}/${view_dir} SYMBOLIC)
endforeach()
file(CREATE_LINK ${CMAKE_SOURCE_DIR}/plugins ${_views}/api/plugins SYMBOLIC)

add_library(sluice_plugin_api INTERFACE)
target_include_directories(sluice_plugin_api INTERFACE ${_views}/api)
target_link_libraries(sluice_plugin_api INTERFACE sluice_core)
add_library(sluice_plugin_net INTERFACE)
target_include_directories(sluice_plugin_net INTERFACE ${_views}/net)
target_link_libraries(sluice_plugin_net INTERFACE sluice_net)
add_library(sluice_plugin_codec INTERFACE)
target_include_directories(sluice_plugin_codec INTERFACE ${_views}/codec)
target_link_libraries(sluice_plugin_codec INTERFACE sluice_codec)

# sluice_plugin_library(<target> SOURCES ... [USES net codec] [LIBS ...] [EXCLUDE_FROM_ALL])
# A static library built as a plugin is: the plugin API, the shared libraries it USES, and the
# third-party LIBS it names. Used by sluice_add_plugin and by the boundary probes.
function(sluice_plugin_library name)
  cmake_parse_arguments(P "EXCLUDE_FROM_ALL" "" "SOURCES;USES;LIBS" ${ARGN})
  if(P_EXCLUDE_FROM_ALL)
    add_library(${name} STATIC EXCLUDE_FROM_ALL ${P_SOURCES})
  else()
    add_library(${name} STATIC ${P_SOURCES})
  endif()
  set(_uses sluice_plugin_api)
  # What the plugin's files may read from the source tree, for the check of every header they
  # did read (tests/boundary/check_plugin_includes.py): the API folders, its own folder and the
  # shared libraries it uses.
  set(_allowed ${CMAKE_SOURCE_DIR}/src/core ${CMAKE_SOURCE_DIR}/src/config ${CMAKE_SOURCE_DIR}/src/monitor
      ${CMAKE_CURRENT_SOURCE_DIR})
  foreach(u IN LISTS P_USES)
    if(NOT TARGET sluice_plugin_${u})
      message(FATAL_ERROR "${name}: USES ${u}: no such shared library (net, codec)")
    endif()
    list(APPEND _uses sluice_plugin_${u})
    list(APPEND _allowed ${CMAKE_SOURCE_DIR}/src/${u})
  endforeach()
  # A plugin library another plugin names in LIBS (plugins/forward_common for the forward
  # plugins) lends it its folder's headers.
  foreach(l IN LISTS P_LIBS)
    get_property(_dir GLOBAL PROPERTY SLUICE_PLUGIN_LIBRARY_DIR_${l})
    if(_dir)
      list(APPEND _allowed ${_dir})
    endif()
  endforeach()
  set_property(GLOBAL PROPERTY SLUICE_PLUGIN_LIBRARY_DIR_${name} ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${_uses} ${P_LIBS})
  file(RELATIVE_PATH _objdir ${CMAKE_BINARY_DIR} ${CMAKE_CURRENT_BINARY_DIR}/CMakeFiles/${name}.dir)
  string(REPLACE ";" "," _allowed_text "${_allowed}")
  set_property(GLOBAL APPEND PROPERTY SLUICE_PLUGIN_BOUNDARY "${name}\t${_objdir}\t${_allowed_text}")
endfunction()

# Writes build/plugin_boundary.txt (one line per plugin library: target, object folder, allowed
# source folders) once every plugin is declared. Called at the end of the top-level CMakeLists.
function(sluice_write_plugin_boundary)
  get_property(_lines GLOBAL PROPERTY SLUICE_PLUGIN_BOUNDARY)
  set(_text "")
  foreach(l IN LISTS _lines)
    string(APPEND _text "${l}\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/plugin_boundary.txt "${_text}")
endfunction()

# sluice_add_plugin(<kind>_<name> SOURCES ... [USES net codec] [LIBS ...])
#
# Adds the option SLUICE_PLUGIN_<NAME> (on by default), builds the plugin as a static library
# (tests/CMakeLists.txt adds the folder's *_test.cc to the test binary), and lists
# sluice::plugins::<name>::descriptor() in the generated plugin_list.cc.
# No static registrars: the generated list is the registry's only source.
function(sluice_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;USES;LIBS" ${ARGN})
  string(TOUPPER ${name} upper)
  option(SLUICE_PLUGIN_${upper} "Build the ${name} plugin" ON)
  if(NOT SLUICE_PLUGIN_${upper})
    return()
  endif()
  list(TRANSFORM P_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  sluice_plugin_library(${name} SOURCES ${P_SOURCES} USES ${P_USES} LIBS ${P_LIBS})
  set(SLUICE_PLUGIN_NAMES ${SLUICE_PLUGIN_NAMES} ${name} CACHE INTERNAL "")
endfunction()
