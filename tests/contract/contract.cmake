# OpenAPI contract tests: docs/openapi.yaml checked against a running `neruba serve`.
# Included from tests/CMakeLists.txt:  include(${CMAKE_CURRENT_SOURCE_DIR}/contract/contract.cmake)
#
# Run by Debian's python3 with python3-yaml and python3-jsonschema (scripts/bootstrap installs them).
#   contract.openapi.sqlite    a fresh SQLite database in a temp dir
#   contract.openapi.postgres  a fresh schema in NERUBA_TEST_PG_URL (scripts/with-postgres sets it);
#                              skipped (exit 77) without it, failed when NERUBA_REQUIRE_POSTGRES=1
set(NERUBA_CONTRACT_PYTHON /usr/bin/python3
    CACHE FILEPATH "Python for the contract tests (Debian's, with python3-yaml and python3-jsonschema)")

set(_neruba_contract_script ${CMAKE_CURRENT_LIST_DIR}/openapi_contract_test.py)
get_filename_component(_neruba_openapi_document ${CMAKE_CURRENT_LIST_DIR}/../../docs/openapi.yaml ABSOLUTE)

foreach(_neruba_backend IN ITEMS sqlite postgres)
  add_test(NAME contract.openapi.${_neruba_backend}
           COMMAND ${NERUBA_CONTRACT_PYTHON} ${_neruba_contract_script} $<TARGET_FILE:neruba>
                   --backend ${_neruba_backend} --openapi ${_neruba_openapi_document})
  set_tests_properties(contract.openapi.${_neruba_backend} PROPERTIES
                       TIMEOUT 300
                       SKIP_RETURN_CODE 77
                       LABELS contract)
endforeach()

# HTTP/1.1 framing over a real socket (chunked, trickled, pipelined and large bodies), SQLite only:
# it tests how the server reads requests, not storage. Standard library only.
add_test(NAME contract.http_framing
         COMMAND ${NERUBA_CONTRACT_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/http_framing_test.py
                 $<TARGET_FILE:neruba>)
set_tests_properties(contract.http_framing PROPERTIES TIMEOUT 120 LABELS contract)
