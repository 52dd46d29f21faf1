# tern_add_module(<name> <source>...): build the Tern module <name>.so.
#
# A MODULE library (loaded with dlopen, never linked against) named
# exactly <name>.so, no "lib" prefix, since ternd looks for the file
# <name>.so where <name> is the key under `modules:`. Only the entry
# symbol is exported (hidden visibility), and every reference must be
# resolved at link time (-Wl,--no-undefined) and binds at load
# (-Wl,-z,now): a missing symbol fails the build, not a reload.
# Sanitizer builds skip --no-undefined: their runtime comes from ternd.
#
# Included by TernConfig.cmake (find_package(Tern)) and by Tern's own
# build, where Tern::sdk is an alias of the in-tree headers.
function(tern_add_module name)
  if(NOT ARGN)
    message(FATAL_ERROR "tern_add_module(${name}): give at least one source file")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE Tern::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  string(TOUPPER "${CMAKE_BUILD_TYPE}" _tern_bt)
  set(_tern_flags "${CMAKE_C_FLAGS} ${CMAKE_C_FLAGS_${_tern_bt}} ${CMAKE_MODULE_LINKER_FLAGS} ${CMAKE_MODULE_LINKER_FLAGS_${_tern_bt}}")
  if(NOT _tern_flags MATCHES "-fsanitize")
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
  target_link_options(${name} PRIVATE -Wl,-z,now)
endfunction()
