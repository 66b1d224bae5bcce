# events.cmake: tests of server/events.c. Included from tests/server/CMakeLists.txt;
# needs the hm_events and hm_test targets.
add_executable(test_events ${CMAKE_CURRENT_LIST_DIR}/test_events.c)
target_link_libraries(test_events PRIVATE hm_http hm_test)
add_test(NAME test_events COMMAND test_events)
set_tests_properties(test_events PROPERTIES TIMEOUT 300)

# Load check for SPEC's /events figure (5,000 subscribers, 50 events/s, delivered within 1 s);
# not a test: run `events_load [subscribers] [seconds] [events_per_s]` by hand or from bench/.
add_executable(events_load ${CMAKE_CURRENT_LIST_DIR}/test_events.c)
target_compile_definitions(events_load PRIVATE HM_EVENTS_LOAD_MAIN)
target_link_libraries(events_load PRIVATE hm_http hm_test)
