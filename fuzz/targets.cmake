# The fuzz targets and the neruba libraries each one links. Shared by fuzz/CMakeLists.txt (libFuzzer
# binaries, clang) and fuzz/ctest.cmake (corpus replay under GCC, and the ctest registrations), so a
# new target is added in one place. Each target `<name>` has its body in fuzz/<name>.cpp and its
# seed corpus in fuzz/corpus/<name>/.
set(NERUBA_FUZZ_TARGETS fuzz_json fuzz_rfc3339 fuzz_decimal fuzz_amount fuzz_ingest fuzz_plan)
set(NERUBA_FUZZ_LIBS_fuzz_json neruba_json)
set(NERUBA_FUZZ_LIBS_fuzz_rfc3339 neruba_domain)
set(NERUBA_FUZZ_LIBS_fuzz_decimal neruba_domain)
set(NERUBA_FUZZ_LIBS_fuzz_amount neruba_domain)
set(NERUBA_FUZZ_LIBS_fuzz_ingest neruba_services)
set(NERUBA_FUZZ_LIBS_fuzz_plan neruba_services)
