# Fuzzing inside the test suite. Included from tests/CMakeLists.txt (the GCC `debug` build):
#   fuzz.replay.<target>  every input of fuzz/corpus/<target>/ (seeds and saved crash regressions)
#                         through the target's body, built with GCC + ASan/UBSan and a plain main();
#   fuzz.<target>         a short libFuzzer run (20 s) of the clang binary that the `fuzz` preset
#                         builds into NERUBA_FUZZ_BIN_DIR. A missing binary FAILS the test.
# New inputs found by the short runs go to a scratch directory in the build tree, never into the
# repository; crashes are saved there too (see fuzz/README.md for turning one into a regression).
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)

set(NERUBA_FUZZ_BIN_DIR "${PROJECT_SOURCE_DIR}/build/fuzz/fuzz"
    CACHE PATH "Directory holding the libFuzzer binaries built by the fuzz preset")
set(NERUBA_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzz.<target> ctest runs libFuzzer")

foreach(target IN LISTS NERUBA_FUZZ_TARGETS)
  set(corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/${target})

  set(replay fuzz_replay_${target})
  add_executable(${replay} ${CMAKE_CURRENT_LIST_DIR}/${target}.cpp
                           ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
  target_include_directories(${replay} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(${replay} PRIVATE ${NERUBA_FUZZ_LIBS_${target}})
  add_test(NAME fuzz.replay.${target} COMMAND ${replay} ${corpus})
  set_tests_properties(fuzz.replay.${target} PROPERTIES LABELS "fuzz" TIMEOUT 120)

  add_test(NAME fuzz.${target}
           COMMAND ${CMAKE_COMMAND}
                   -DFUZZ_BINARY=${NERUBA_FUZZ_BIN_DIR}/${target}
                   -DFUZZ_CORPUS=${corpus}
                   -DFUZZ_DICT=${CMAKE_CURRENT_LIST_DIR}/dict/${target}.dict
                   -DFUZZ_SCRATCH=${CMAKE_CURRENT_BINARY_DIR}/fuzz-scratch/${target}
                   -DFUZZ_SECONDS=${NERUBA_FUZZ_SECONDS}
                   -P ${CMAKE_CURRENT_LIST_DIR}/run_fuzz.cmake)
  math(EXPR fuzz_timeout "${NERUBA_FUZZ_SECONDS} + 100")
  set_tests_properties(fuzz.${target} PROPERTIES LABELS "fuzz" TIMEOUT ${fuzz_timeout})
endforeach()
