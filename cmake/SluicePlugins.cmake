# sluice_add_plugin(<kind>_<name> SOURCES ... [TESTS ...] [LIBS ...])
#
# Adds the option SLUICE_PLUGIN_<NAME> (on by default), builds the plugin as a static library
# (tests/CMakeLists.txt adds the folder's *_test.cc to the test binary), and lists
# sluice::plugins::<name>::descriptor() in the generated plugin_list.cc.
# No static registrars: the generated list is the registry's only source.
function(sluice_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;TESTS;LIBS" ${ARGN})
  string(TOUPPER ${name} upper)
  option(SLUICE_PLUGIN_${upper} "Build the ${name} plugin" ON)
  if(NOT SLUICE_PLUGIN_${upper})
    return()
  endif()
  list(TRANSFORM P_SOURCES PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
  add_library(${name} STATIC ${P_SOURCES})
  target_link_libraries(${name} PUBLIC sluice_core ${P_LIBS})
  set(SLUICE_PLUGIN_NAMES ${SLUICE_PLUGIN_NAMES} ${name} CACHE INTERNAL "")
endfunction()
