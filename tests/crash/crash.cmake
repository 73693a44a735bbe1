# Crash tests: `neruba serve` is SIGKILLed while clients stream usage batches, and restarted on the
# same database, several times: at random moments, and at two moments each run must catch (the server
# SIGSTOPped and the database read from the test): after a batch's commit before its answer, and
# before its commit. Then every acknowledged event must be there exactly once and resending every
# batch must answer only duplicates.
# Included from tests/CMakeLists.txt:  include(${CMAKE_CURRENT_SOURCE_DIR}/crash/crash.cmake)
#
# Run by Debian's python3 (standard library only).
#   crash.ingest.sqlite    a fresh SQLite database in a temp dir
#   crash.ingest.postgres  a fresh schema in NERUBA_TEST_PG_URL (scripts/with-postgres sets it);
#                          skipped (exit 77) without it, failed when NERUBA_REQUIRE_POSTGRES=1
# Each prints its seed; repeat a run with NERUBA_CRASH_SEED=<seed> ctest -R crash.ingest.<backend>.
set(NERUBA_CRASH_PYTHON /usr/bin/python3 CACHE FILEPATH "Python for the crash tests (standard library only)")

set(_neruba_crash_script ${CMAKE_CURRENT_LIST_DIR}/ingest_crash_test.py)

foreach(_neruba_backend IN ITEMS sqlite postgres)
  add_test(NAME crash.ingest.${_neruba_backend}
           COMMAND ${NERUBA_CRASH_PYTHON} ${_neruba_crash_script} $<TARGET_FILE:neruba>
                   --backend ${_neruba_backend})
  # The two kill the server many times and load the machine: never both at once.
  set_tests_properties(crash.ingest.${_neruba_backend} PROPERTIES
                       TIMEOUT 300
                       SKIP_RETURN_CODE 77
                       RESOURCE_LOCK neruba_crash
                       LABELS crash)
endforeach()

# Billing runs SIGKILLed halfway (between their chunk commits) and started again, several times:
# every invoice exactly once, numbers gapless, ledger and audit verified (billing_crash_test.py).
#   crash.billing.serve.<backend>  the run is POST /v1/billing-runs; `neruba serve` is killed
#   crash.billing.cli.<backend>    the run is `neruba bill-run`; that process is killed
# Seeds and skips as above (NERUBA_CRASH_SEED=<seed> ctest -R crash.billing...).
set(_neruba_billing_crash_script ${CMAKE_CURRENT_LIST_DIR}/billing_crash_test.py)
foreach(_neruba_via IN ITEMS serve cli)
  foreach(_neruba_backend IN ITEMS sqlite postgres)
    add_test(NAME crash.billing.${_neruba_via}.${_neruba_backend}
             COMMAND ${NERUBA_CRASH_PYTHON} ${_neruba_billing_crash_script} $<TARGET_FILE:neruba>
                     --backend ${_neruba_backend} --via ${_neruba_via})
    set_tests_properties(crash.billing.${_neruba_via}.${_neruba_backend} PROPERTIES
                         TIMEOUT 600
                         SKIP_RETURN_CODE 77
                         RESOURCE_LOCK neruba_crash
                         LABELS crash)
  endforeach()
endforeach()
