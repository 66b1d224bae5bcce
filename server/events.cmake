# events.cmake: the Server-Sent Events hub (server/events.c). Included from
# server/CMakeLists.txt; needs the hm_common target and the PkgConfig::MHD,
# PkgConfig::JANSSON and Threads::Threads imported targets of the top level.
add_library(hm_events STATIC ${CMAKE_CURRENT_LIST_DIR}/events.c)
target_include_directories(hm_events PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(hm_events PUBLIC hm_common PkgConfig::MHD PkgConfig::JANSSON Threads::Threads)
