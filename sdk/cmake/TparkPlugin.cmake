# tp_add_plugin(<target> MANIFEST <plugin.yaml> SOURCES <src>... [OUTPUT_DIR <dir>] [LINK <libs>...])
#
# Builds a tpark plugin library with the hygiene the ABI requires (rule 15 in
# docs/abi-policy.md): hidden visibility, a version script exporting only
# tp_plugin_entry, and --no-undefined so an unresolved symbol fails the build,
# not the load. The manifest is copied beside the library, where the host
# looks for it, whenever it changes (even when the library does not relink).
include_guard(GLOBAL)

function(tp_add_plugin target)
  # Resolved here, not at include time: a variable set when this file is
  # included is not visible in the directories that call the function.
  set(_TP_PLUGIN_MAP "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/tp_plugin.map")
  cmake_parse_arguments(TP "" "MANIFEST;OUTPUT_DIR" "SOURCES;LINK" ${ARGN})
  if(NOT TP_MANIFEST)
    message(FATAL_ERROR "tp_add_plugin(${target}): MANIFEST is required")
  endif()
  if(NOT TP_OUTPUT_DIR)
    set(TP_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  endif()
  add_library(${target} MODULE ${TP_SOURCES})
  if(TARGET tpark::sdk)
    target_link_libraries(${target} PRIVATE tpark::sdk)
  endif()
  target_link_libraries(${target} PRIVATE ${TP_LINK})
  set_target_properties(${target} PROPERTIES
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY "${TP_OUTPUT_DIR}")
  target_link_options(${target} PRIVATE
    "LINKER:--version-script=${_TP_PLUGIN_MAP}" "LINKER:--no-undefined")
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS "${_TP_PLUGIN_MAP}")
  get_filename_component(_manifest "${TP_MANIFEST}" ABSOLUTE)
  # A build rule of its own, depending on the file: a POST_BUILD step would
  # run only when the library relinks, leaving a stale copy after an edit.
  add_custom_command(OUTPUT "${TP_OUTPUT_DIR}/plugin.yaml"
    COMMAND ${CMAKE_COMMAND} -E copy "${_manifest}" "${TP_OUTPUT_DIR}/plugin.yaml"
    DEPENDS "${_manifest}"
    COMMENT "Copying ${TP_MANIFEST} beside ${target}"
    VERBATIM)
  target_sources(${target} PRIVATE "${TP_OUTPUT_DIR}/plugin.yaml")
  set_property(TARGET ${target} PROPERTY TP_MANIFEST "${_manifest}")
  # Every plugin built in this project, so tests can depend on all of them.
  set_property(GLOBAL APPEND PROPERTY TPARK_ALL_PLUGINS ${target})
endfunction()

# tp_install_plugin(<target> DESTINATION <dir> [COMPONENT <component>])
#
# Installs a plugin built with tp_add_plugin() the way the host finds it: the
# library and its manifest, as plugin.yaml, side by side in <dir> (one
# directory per plugin, given to the host with --plugin-dir <parent>).
function(tp_install_plugin target)
  cmake_parse_arguments(TP "" "DESTINATION;COMPONENT" "" ${ARGN})
  if(NOT TP_DESTINATION)
    message(FATAL_ERROR "tp_install_plugin(${target}): DESTINATION is required")
  endif()
  set(_component)
  if(TP_COMPONENT)
    set(_component COMPONENT ${TP_COMPONENT})
  endif()
  get_target_property(_manifest ${target} TP_MANIFEST)
  install(TARGETS ${target} LIBRARY DESTINATION "${TP_DESTINATION}" ${_component})
  install(FILES "${_manifest}" DESTINATION "${TP_DESTINATION}" RENAME plugin.yaml ${_component})
endfunction()
