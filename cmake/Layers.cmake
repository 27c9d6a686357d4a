# The layers of src/ and what each may use (docs/development.md, "Layers").
# Included by CMakeLists.txt, which builds one static library per layer and
# links it with exactly these, and run as a script (cmake -P) before any
# library is compiled, to fail the build on an #include that crosses a layer
# boundary the wrong way. Test sources (*_test.cc, *_prop.cc, *_sim.cc) and
# src/testing may include any layer.
#
#   <layer>=<directory>:<layers it uses directly, comma-separated>
set(PHALANX_LAYERS
  "core=src/core:"
  "crypto=src/crypto:core"
  "security=src/security:crypto"
  "consensus_common=src/consensus/common:crypto"
  "raft=src/consensus/raft:consensus_common"
  "bft=src/consensus/bft:consensus_common,security"
  "apps=src/apps:consensus_common,security"
  "storage=src/storage:crypto"
  "loadgen=src/loadgen:core"
  "net=src/net:consensus_common,storage"
  "cluster=src/cluster:apps,net,security"
  "node=src/node:raft,bft,apps,cluster,net,storage"
  "sim=src/sim:node"
  "client=src/client:cluster,net,storage"
  "cli=src/cli:client,loadgen,node,sim")

# Splits one table row into LAYER_NAME, LAYER_DIR and LAYER_DEPS (a list).
macro(phalanx_parse_layer row)
  string(REGEX MATCH "^([a-z_]+)=([a-z_/]+):(.*)$" _ "${row}")
  set(LAYER_NAME "${CMAKE_MATCH_1}")
  set(LAYER_DIR "${CMAKE_MATCH_2}")
  string(REPLACE "," ";" LAYER_DEPS "${CMAKE_MATCH_3}")
endmacro()

cmake_policy(SET CMP0057 NEW)
if(CMAKE_SCRIPT_MODE_FILE AND CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  # ---- The include check: cmake -DROOT=<source dir> -P cmake/Layers.cmake ----
  # Each layer's closure: itself and everything it may use, transitively.
  foreach(row ${PHALANX_LAYERS})
    phalanx_parse_layer("${row}")
    set(dir_of_${LAYER_NAME} "${LAYER_DIR}")
    set(closure_${LAYER_NAME} ${LAYER_NAME})
    foreach(dep ${LAYER_DEPS})
      list(APPEND closure_${LAYER_NAME} ${closure_${dep}})
    endforeach()
    list(REMOVE_DUPLICATES closure_${LAYER_NAME})
    list(APPEND names ${LAYER_NAME})
  endforeach()
  set(dir_of_api "include/phalanx")
  set(violations "")
  foreach(layer ${names})
    file(GLOB_RECURSE files "${ROOT}/${dir_of_${layer}}/*.h" "${ROOT}/${dir_of_${layer}}/*.cc")
    list(FILTER files EXCLUDE REGEX "(_test|_prop|_sim)\\.cc$")
    foreach(file ${files})
      file(STRINGS "${file}" includes REGEX "^#include \"")
      foreach(line ${includes})
        string(REGEX MATCH "\"([^\"]+)\"" _ "${line}")
        set(header "${CMAKE_MATCH_1}")
        # The layer the header belongs to: the one with the longest directory prefix.
        set(owner "")
        set(owner_length 0)
        foreach(candidate ${names} api)
          string(REGEX REPLACE "^(src|include)/" "" prefix "${dir_of_${candidate}}")
          string(LENGTH "${prefix}" length)
          if(header MATCHES "^${prefix}/" AND length GREATER owner_length)
            set(owner ${candidate})
            set(owner_length ${length})
          endif()
        endforeach()
        if(owner STREQUAL "api")
          set(owner client)  # include/phalanx is the client library's interface
        endif()
        if(owner AND NOT owner IN_LIST closure_${layer})
          file(RELATIVE_PATH shown "${ROOT}" "${file}")
          string(APPEND violations "\n  ${shown}: ${header} (${layer} may not use ${owner})")
        endif()
      endforeach()
    endforeach()
  endforeach()
  if(violations)
    message(FATAL_ERROR "includes that cross a layer boundary (cmake/Layers.cmake):${violations}")
  endif()
endif()
