# Runs one compile-fail snippet; see cmake/Tests.cmake.
# Every "// EXPECT-ERROR: <regex>" line must match the compiler's output.
file(STRINGS ${SNIPPET} expect_lines REGEX "^// EXPECT-ERROR: ")
if(NOT expect_lines)
  message(FATAL_ERROR "${SNIPPET}: no '// EXPECT-ERROR: <regex>' line")
endif()

set(flags -std=c++2b -fsyntax-only -Wall -Wextra -Werror)
foreach(dir ${INCLUDES})
  list(APPEND flags -I${dir})
endforeach()

# LC_ALL=C: plain ASCII quotes in diagnostics, so the patterns can match.
execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C ${CXX} ${flags} ${SNIPPET}
                RESULT_VARIABLE control_rc ERROR_VARIABLE control_err)
if(NOT control_rc EQUAL 0)
  message(FATAL_ERROR "control build of ${SNIPPET} must compile but failed:\n${control_err}")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C ${CXX} ${flags}
                        -DPHALANX_COMPILE_FAIL ${SNIPPET}
                RESULT_VARIABLE fail_rc ERROR_VARIABLE fail_err)
if(fail_rc EQUAL 0)
  message(FATAL_ERROR "${SNIPPET} compiled with PHALANX_COMPILE_FAIL; it must not")
endif()
foreach(line IN LISTS expect_lines)
  string(REGEX REPLACE "^// EXPECT-ERROR: " "" expect "${line}")
  if(NOT fail_err MATCHES "${expect}")
    message(FATAL_ERROR "${SNIPPET} failed, but not with /${expect}/:\n${fail_err}")
  endif()
  message(STATUS "${SNIPPET}: rejected with /${expect}/")
endforeach()
