# Several `neruba serve` nodes on one PostgreSQL database, racing on the same work.
# Included from tests/CMakeLists.txt:  include(${CMAKE_CURRENT_SOURCE_DIR}/nodes/nodes.cmake)
#
#   nodes.two_nodes.postgres  two nodes, four clients, the same new customers auto-created by both;
#                             skipped (exit 77) without NERUBA_TEST_PG_URL, failed when
#                             NERUBA_REQUIRE_POSTGRES=1
#   nodes.billing.postgres    two nodes with the billing scheduler on (--billing-interval 1) bill
#                             one tenant's customers: every invoice once, numbers gapless; skipped
#                             and failed as above
add_test(NAME nodes.two_nodes.postgres
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/two_nodes_test.py $<TARGET_FILE:neruba>)
set_tests_properties(nodes.two_nodes.postgres PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS nodes)
add_test(NAME nodes.billing.postgres
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/billing_nodes_test.py $<TARGET_FILE:neruba>)
set_tests_properties(nodes.billing.postgres PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS nodes)
