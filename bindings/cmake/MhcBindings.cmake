# Shared by the FFI bindings (bindings/rust, bindings/go, bindings/python), included from
# bindings/CMakeLists.txt when tests are built:
#
#   - MHC_BINDINGS: which bindings are tested (ctest labels rust, go, python).
#   - mhc_abi_facts: a C program generated from include/mhc/mhc.h that prints what the C compiler
#     knows about the ABI: the value of every object-like MHC_* constant, the size, alignment and
#     signedness of every integer typedef, the size and alignment of every struct and the offset
#     and size of each of its fields. Its output (MHC_ABI_FACTS_FILE) is what each binding's
#     tests compare their hand-written declarations against, in both directions: a constant,
#     typedef, struct or field the header has and a binding lacks fails, and so does the reverse.
#   - mhc_add_binding_test(): registers a binding's ctest test, or a test that fails with a clear
#     message when its toolchain was not found.

set(MHC_BINDINGS "ON" CACHE STRING
    "FFI bindings to build and test (ctest labels rust, go, python): ON (all), OFF (none), or a comma-separated subset such as rust,python")
set(MHC_BINDINGS_ALL rust go python)

# mhc_binding_enabled(<lang> <out-var>): whether MHC_BINDINGS selects <lang>.
function(mhc_binding_enabled lang out)
  string(TOLOWER "${MHC_BINDINGS}" _sel)
  string(REPLACE "," ";" _sel "${_sel}")
  if(_sel MATCHES "^(on|yes|true|1|all)$")
    set(_sel ${MHC_BINDINGS_ALL})
  elseif(_sel MATCHES "^(off|no|false|0|none|)$")
    set(_sel "")
  endif()
  foreach(_l IN LISTS _sel)
    if(NOT _l IN_LIST MHC_BINDINGS_ALL)
      message(FATAL_ERROR "MHC_BINDINGS=${MHC_BINDINGS}: unknown binding '${_l}' (known: ${MHC_BINDINGS_ALL})")
    endif()
  endforeach()
  if(lang IN_LIST _sel)
    set(${out} ON PARENT_SCOPE)
  else()
    set(${out} OFF PARENT_SCOPE)
  endif()
endfunction()

# ---- the ABI facts program ---------------------------------------------------------------------
set(_mhc_header "${PROJECT_SOURCE_DIR}/include/mhc/mhc.h")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${_mhc_header}")
file(READ "${_mhc_header}" _text)
# One list element per line. Characters CMake's list syntax treats specially (; [ ] \) are not
# needed to read names: replace them first.
string(REPLACE ";" "@SEMI@" _text "${_text}")
string(REPLACE "[" "(" _text "${_text}")
string(REPLACE "]" ")" _text "${_text}")
string(REPLACE "\\" " " _text "${_text}")
string(REPLACE "\n" ";" _lines "${_text}")

set(_body "")
set(_consts "")
set(_structs "")
set(_struct "")
foreach(_line IN LISTS _lines)
  if(_struct)
    if(_line MATCHES "^}[ \t]*(mhc_[a-z0-9_]+_t)[ \t]*@SEMI@")
      string(APPEND _body "  MHC_FACT_STRUCT(${CMAKE_MATCH_1})@SEMI@\n${_fields}")
      string(REPLACE "@TYPE@" "${CMAKE_MATCH_1}" _body "${_body}")
      list(APPEND _structs ${CMAKE_MATCH_1})
      set(_struct "")
    else()
      string(REGEX REPLACE "/\\*.*$" "" _code "${_line}")
      # A field, or an array field "name[N]" (brackets read as parentheses above).
      if(_code MATCHES "([A-Za-z_][A-Za-z0-9_]*)[ \t]*(\\([^)]*\\))?[ \t]*@SEMI@[ \t]*$")
        string(APPEND _fields "  MHC_FACT_FIELD(@TYPE@, ${CMAKE_MATCH_1})@SEMI@\n")
      endif()
    endif()
  elseif(_line MATCHES "^typedef struct (mhc_[a-z0-9_]+) {")
    set(_struct "${CMAKE_MATCH_1}")
    set(_fields "")
  elseif(_line MATCHES "^typedef (u?int(8|16|32|64)_t)[ \t]+(mhc_[a-z0-9_]+_t)[ \t]*@SEMI@")
    string(APPEND _body "  MHC_FACT_TYPEDEF(${CMAKE_MATCH_3})@SEMI@\n")
  elseif(_line MATCHES "^#define (MHC_[A-Z0-9_]+)[ \t]+[^ \t]")
    set(_name "${CMAKE_MATCH_1}")
    if(NOT _name MATCHES "_INIT$")
      string(APPEND _body "  MHC_FACT_CONST(${_name})@SEMI@\n")
      list(APPEND _consts ${_name})
    endif()
  endif()
endforeach()
list(LENGTH _consts _nconsts)
list(LENGTH _structs _nstructs)
if(_nconsts LESS 50 OR _nstructs LESS 4)
  message(FATAL_ERROR "bindings/cmake: read ${_nconsts} constants and ${_nstructs} structs from "
                      "${_mhc_header}; expected at least 50 and 4: has the header's layout changed?")
endif()
string(REPLACE "@SEMI@" ";" _body "${_body}")
set(MHC_ABI_FACTS_BODY "${_body}")
configure_file("${CMAKE_CURRENT_LIST_DIR}/abi_facts.c.in" "${CMAKE_CURRENT_BINARY_DIR}/abi_facts.c" @ONLY)

add_executable(mhc_abi_facts "${CMAKE_CURRENT_BINARY_DIR}/abi_facts.c")
target_link_libraries(mhc_abi_facts PRIVATE mhc::mhc)  # for the include directory; calls nothing
set_target_properties(mhc_abi_facts PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON)
set(MHC_ABI_FACTS_FILE "${CMAKE_CURRENT_BINARY_DIR}/abi_facts.txt")
add_custom_command(OUTPUT "${MHC_ABI_FACTS_FILE}"
  COMMAND mhc_abi_facts > "${MHC_ABI_FACTS_FILE}"
  DEPENDS mhc_abi_facts
  COMMENT "ABI facts of mhc.h (sizes, offsets, constants) for the binding tests")
add_custom_target(mhc_abi_facts_txt ALL DEPENDS "${MHC_ABI_FACTS_FILE}")
message(STATUS "bindings: ${_nconsts} constants and ${_nstructs} structs of mhc.h are checked against each binding")

# ---- registering a binding's test ----------------------------------------------------------
# Environment every binding test gets: where the built library, its header and the ABI facts
# are, and an isolated home for each toolchain's caches under the build tree (nothing is written
# to $HOME, nothing is downloaded).
set(MHC_BINDINGS_WORK_DIR "${CMAKE_BINARY_DIR}/bindings-work")
# mhc.pc for the build tree (the library here, the header in the sources), for the bindings that
# find libmhc through pkg-config (the Go package's #cgo pkg-config: mhc). The installed mhc.pc is
# cmake/mhc.pc.in; the tests that install (the dependent crate and module) use that one.
file(GENERATE OUTPUT "${CMAKE_CURRENT_BINARY_DIR}/pkgconfig/mhc.pc" CONTENT
"libdir=$<TARGET_FILE_DIR:mhc>
includedir=${PROJECT_SOURCE_DIR}/include

Name: mhc
Description: libmhc, the build tree ${CMAKE_BINARY_DIR}
Version: ${PROJECT_VERSION}
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -lmhc
Cflags: -I\${includedir}
")
set(MHC_BINDING_TEST_ENV
  "MHC_LIB_DIR=$<TARGET_FILE_DIR:mhc>"
  "MHC_LIBRARY=$<TARGET_SONAME_FILE:mhc>"
  "MHC_INCLUDE_DIR=${PROJECT_SOURCE_DIR}/include"
  "MHC_ABI_FACTS=${MHC_ABI_FACTS_FILE}"
  "MHC_SOURCE_DIR=${PROJECT_SOURCE_DIR}"
  "LD_LIBRARY_PATH=$<TARGET_FILE_DIR:mhc>"
  "PKG_CONFIG_PATH=${CMAKE_CURRENT_BINARY_DIR}/pkgconfig"
  # for the tests that install libmhc into a scratch prefix (bindings-work/<lang>/prefix)
  "MHC_CMAKE=${CMAKE_COMMAND}"
  "MHC_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "MHC_BINDINGS_WORK=${MHC_BINDINGS_WORK_DIR}"
  "PYTHONDONTWRITEBYTECODE=1")

# mhc_add_binding_test(<lang> FOUND <bool> MISSING <message> COMMAND <cmd...> [ENV <VAR=value...>]
#                      [NAME <test name, default binding_<lang>>] [TIMEOUT <s, default 1200>])
#   <lang> off in MHC_BINDINGS: no test.  FOUND false: a test that fails, printing <message>.
function(mhc_add_binding_test lang)
  cmake_parse_arguments(B "" "FOUND;MISSING;NAME;TIMEOUT" "COMMAND;ENV" ${ARGN})
  if(NOT B_NAME)
    set(B_NAME binding_${lang})
  endif()
  if(NOT B_TIMEOUT)
    set(B_TIMEOUT 1200)
  endif()
  mhc_binding_enabled(${lang} _on)
  if(NOT _on)
    message(STATUS "bindings: ${lang} not tested (MHC_BINDINGS=${MHC_BINDINGS})")
    return()
  endif()
  if(B_FOUND)
    add_test(NAME ${B_NAME} COMMAND ${B_COMMAND})
    set_tests_properties(${B_NAME} PROPERTIES
      ENVIRONMENT "${MHC_BINDING_TEST_ENV};${B_ENV}" LABELS ${lang} TIMEOUT ${B_TIMEOUT})
    message(STATUS "bindings: ${lang} tested (ctest -L ${lang})")
  else()
    message(WARNING "bindings: ${B_MISSING}\nThe ctest test ${B_NAME} will fail until it is installed; "
                    "-DMHC_BINDINGS=<subset or OFF> leaves it out.")
    add_test(NAME ${B_NAME}
      COMMAND "${CMAKE_COMMAND}" "-DMESSAGE=${B_MISSING}" -P "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/missing_toolchain.cmake")
    set_tests_properties(${B_NAME} PROPERTIES LABELS ${lang})
  endif()
endfunction()
