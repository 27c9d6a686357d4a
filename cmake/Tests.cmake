# Test binaries and their ctest registration.
#   unit          GoogleTest, *_test.cc beside the code
#   property      RapidCheck through GoogleTest, *_prop.cc beside the code
#   simulation    deterministic simulations over many seeds, *_sim.cc
#   compile-fail  tests/compile_fail/*.cc must NOT compile (see below)
find_package(GTest REQUIRED)
find_package(rapidcheck REQUIRED)
include(GoogleTest)

file(GLOB_RECURSE PHALANX_UNIT_SOURCES CONFIGURE_DEPENDS src/*_test.cc)
add_executable(phalanx_unit_tests ${PHALANX_UNIT_SOURCES})
target_link_libraries(phalanx_unit_tests PRIVATE phalanx_lib GTest::gtest_main)
# The CLI end-to-end tests run the real binary.
add_dependencies(phalanx_unit_tests phalanx)
target_compile_definitions(phalanx_unit_tests PRIVATE PHALANX_CLI_PATH="$<TARGET_FILE:phalanx>")
gtest_discover_tests(phalanx_unit_tests PROPERTIES LABELS unit
                     DISCOVERY_TIMEOUT 60)

file(GLOB_RECURSE PHALANX_PROP_SOURCES CONFIGURE_DEPENDS src/*_prop.cc)
add_executable(phalanx_property_tests ${PHALANX_PROP_SOURCES})
target_link_libraries(phalanx_property_tests PRIVATE phalanx_lib rapidcheck
                      GTest::gtest_main)
gtest_discover_tests(phalanx_property_tests PROPERTIES LABELS property
                     DISCOVERY_TIMEOUT 60)

file(GLOB_RECURSE PHALANX_SIM_SOURCES CONFIGURE_DEPENDS src/*_sim.cc)
add_executable(phalanx_sim_tests ${PHALANX_SIM_SOURCES})
target_link_libraries(phalanx_sim_tests PRIVATE phalanx_lib GTest::gtest_main)
gtest_discover_tests(phalanx_sim_tests PROPERTIES LABELS simulation
                     DISCOVERY_TIMEOUT 60)

# A compile-fail test compiles its snippet twice: once as is, which must
# succeed (so the snippet is otherwise valid), and once with
# -DPHALANX_COMPILE_FAIL, which must fail with a diagnostic matching the
# snippet's "// EXPECT-ERROR: <regex>" line (so it fails for the right reason).
file(GLOB PHALANX_COMPILE_FAIL_SOURCES CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/tests/compile_fail/*.cc)
get_target_property(FMT_INCLUDES fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
foreach(snippet ${PHALANX_COMPILE_FAIL_SOURCES})
  get_filename_component(name ${snippet} NAME_WE)
  add_test(NAME compile_fail.${name}
           COMMAND ${CMAKE_COMMAND}
             -DCXX=${CMAKE_CXX_COMPILER}
             -DSNIPPET=${snippet}
             "-DINCLUDES=${CMAKE_SOURCE_DIR}/src;${CMAKE_SOURCE_DIR}/include;${CMAKE_BINARY_DIR}/generated;${FMT_INCLUDES}"
             -P ${CMAKE_SOURCE_DIR}/cmake/CompileFail.cmake)
  set_tests_properties(compile_fail.${name} PROPERTIES LABELS compile-fail)
endforeach()
