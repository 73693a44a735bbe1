# Runs one libFuzzer binary for a short, bounded campaign; driven by the fuzz.<target> ctests
# (fuzz/ctest.cmake). Usage:
#   cmake -DFUZZ_BINARY=… -DFUZZ_CORPUS=… -DFUZZ_SCRATCH=… [-DFUZZ_DICT=…] [-DFUZZ_SECONDS=20]
#         -P fuzz/run_fuzz.cmake
# The repository corpus is copied into FUZZ_SCRATCH/corpus, which libFuzzer grows (the first
# corpus directory is the writable one); FUZZ_CORPUS itself is only read. Crash, leak and timeout
# inputs are written to FUZZ_SCRATCH/ and named in the failure message.
foreach(required FUZZ_BINARY FUZZ_CORPUS FUZZ_SCRATCH)
  if(NOT DEFINED ${required})
    message(FATAL_ERROR "run_fuzz.cmake: ${required} is not set")
  endif()
endforeach()
if(NOT DEFINED FUZZ_SECONDS)
  set(FUZZ_SECONDS 20)
endif()

if(NOT EXISTS "${FUZZ_BINARY}")
  message(FATAL_ERROR
          "Fuzz binary ${FUZZ_BINARY} does not exist. Build the fuzz preset first:\n"
          "  cmake --preset fuzz && cmake --build --preset fuzz\n"
          "(or point NERUBA_FUZZ_BIN_DIR at the directory holding the libFuzzer binaries).")
endif()
if(NOT IS_DIRECTORY "${FUZZ_CORPUS}")
  message(FATAL_ERROR "Seed corpus ${FUZZ_CORPUS} does not exist.")
endif()

file(REMOVE_RECURSE "${FUZZ_SCRATCH}")
file(MAKE_DIRECTORY "${FUZZ_SCRATCH}/corpus")
file(GLOB seeds "${FUZZ_CORPUS}/*")
if(seeds)
  file(COPY ${seeds} DESTINATION "${FUZZ_SCRATCH}/corpus")
endif()

set(arguments -max_total_time=${FUZZ_SECONDS} -timeout=5 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix=${FUZZ_SCRATCH}/)
if(DEFINED FUZZ_DICT AND EXISTS "${FUZZ_DICT}")
  list(APPEND arguments -dict=${FUZZ_DICT})
endif()

list(JOIN arguments " " shown_arguments)
message(STATUS "${FUZZ_BINARY} ${shown_arguments} ${FUZZ_SCRATCH}/corpus ${FUZZ_CORPUS}")
execute_process(COMMAND "${FUZZ_BINARY}" ${arguments} "${FUZZ_SCRATCH}/corpus" "${FUZZ_CORPUS}"
                WORKING_DIRECTORY "${FUZZ_SCRATCH}"
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(GLOB artifacts "${FUZZ_SCRATCH}/crash-*" "${FUZZ_SCRATCH}/leak-*"
       "${FUZZ_SCRATCH}/timeout-*" "${FUZZ_SCRATCH}/oom-*" "${FUZZ_SCRATCH}/slow-unit-*")
  message(FATAL_ERROR
          "libFuzzer failed (exit ${result}). Offending input(s): ${artifacts}\n"
          "Reproduce: ${FUZZ_BINARY} <input>. Every crash is a bug: fix it, then copy the input "
          "into ${FUZZ_CORPUS}/ as regression-<what>.<ext> and add a unit test (fuzz/README.md).")
endif()
