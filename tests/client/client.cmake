# A TypeScript client generated from docs/openapi.yaml (openapi-typescript types + openapi-fetch),
# and the document's lint. Included from tests/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/client/client.cmake)
#
# Run by Debian's python3 (standard library only) with node; the npm packages are those locked in
# tests/client/package-lock.json, installed by scripts/bootstrap (`npm ci`). Each test works in a temp
# dir of its own (nothing is written into the source tree) and makes no network request.
#   client.typecheck            types generated from the document; walkthrough.ts, without casts, passes
#                               tsc --strict --noEmit
#   client.lint                 redocly lint, recommended rules: no error, no warning, nothing ignored
#   client.walkthrough.sqlite   the README walkthrough through the client, on a fresh SQLite database
#   client.walkthrough.postgres the same on a fresh schema in NERUBA_TEST_PG_URL (scripts/with-postgres
#                               sets it); skipped (exit 77) without it, failed when NERUBA_REQUIRE_POSTGRES=1
set(NERUBA_CLIENT_PYTHON /usr/bin/python3 CACHE FILEPATH "Python for the client tests (standard library only)")

set(_neruba_client_script ${CMAKE_CURRENT_LIST_DIR}/client_test.py)

add_test(NAME client.typecheck COMMAND ${NERUBA_CLIENT_PYTHON} ${_neruba_client_script} typecheck)
add_test(NAME client.lint COMMAND ${NERUBA_CLIENT_PYTHON} ${_neruba_client_script} lint)
set_tests_properties(client.typecheck client.lint PROPERTIES TIMEOUT 300 LABELS client)

foreach(_neruba_backend IN ITEMS sqlite postgres)
  add_test(NAME client.walkthrough.${_neruba_backend}
           COMMAND ${NERUBA_CLIENT_PYTHON} ${_neruba_client_script} walkthrough $<TARGET_FILE:neruba>
                   --backend ${_neruba_backend})
  set_tests_properties(client.walkthrough.${_neruba_backend} PROPERTIES
                       TIMEOUT 300
                       SKIP_RETURN_CODE 77
                       LABELS client)
endforeach()
