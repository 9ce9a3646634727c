# squall as an installable library: shared libraries with a SONAME and
# static ones, headers under include/squall/, exported CMake targets
# (squall::engine, squall::http, squall::ws, squall::squall and their
# *_static twins), squallConfig.cmake and squall.pc. `make install` and
# `make deb` drive it; tests/consumer builds a service against an install.
#
# The shared and static libraries reuse the objects of the in-tree targets
# (built position-independent, see the top CMakeLists.txt), so packaging
# costs links, not a second compile. Symbols: the shared libraries export
# namespace squall (detail included: inline and template code in the
# headers calls into it) and hide everything else, llhttp's parser above
# all (cmake/squall.map). The static libsquall_http.a carries llhttp in one
# partially linked object whose llhttp_* symbols are made local, so a
# consumer's own llhttp never clashes with ours.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(SQUALL_SOVERSION ${PROJECT_VERSION_MAJOR})
set(SQUALL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/squall)
set(SQUALL_LIB_DIR ${CMAKE_BINARY_DIR}/lib)

# What consumers include: <squall/engine/...>, <squall/http/...>,
# <squall/ws/...>, <squall/version.hpp>.
set(SQUALL_PUBLIC_INCLUDES
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
  $<BUILD_INTERFACE:${SQUALL_GENERATED_INCLUDE_DIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# squall_package_lib(<layer> <kind> <objects...>): the installed library of
# one layer, built from already compiled objects.
function(squall_package_lib layer kind)
  set(t squall_${layer}_${kind})
  string(TOUPPER ${kind} kind_upper)
  add_library(${t} ${kind_upper} ${ARGN})
  set_target_properties(${t} PROPERTIES
    OUTPUT_NAME squall_${layer}
    LINKER_LANGUAGE CXX
    ARCHIVE_OUTPUT_DIRECTORY ${SQUALL_LIB_DIR}
    LIBRARY_OUTPUT_DIRECTORY ${SQUALL_LIB_DIR})
  if(kind STREQUAL "shared")
    set_target_properties(${t} PROPERTIES
      EXPORT_NAME ${layer}
      VERSION ${PROJECT_VERSION}
      SOVERSION ${SQUALL_SOVERSION}
      LINK_DEPENDS ${PROJECT_SOURCE_DIR}/cmake/squall.map)
    # Every symbol resolved at link time (-z defs) so that each library
    # records the libraries it needs, as dpkg-shlibdeps and lintian expect.
    target_link_options(${t} PRIVATE
      -Wl,--version-script=${PROJECT_SOURCE_DIR}/cmake/squall.map -Wl,-z,defs -Wl,--as-needed)
  else()
    set_target_properties(${t} PROPERTIES EXPORT_NAME ${layer}_static)
  endif()
  target_include_directories(${t} INTERFACE ${SQUALL_PUBLIC_INCLUDES})
  target_compile_features(${t} INTERFACE cxx_std_20)
endfunction()

foreach(kind shared static)
  squall_package_lib(engine ${kind} $<TARGET_OBJECTS:squall_engine>)
  target_link_libraries(squall_engine_${kind}
    PUBLIC PkgConfig::LIBURING spdlog::spdlog Threads::Threads
    PRIVATE PkgConfig::WOLFSSL PkgConfig::CARES)
endforeach()

squall_package_lib(http shared $<TARGET_OBJECTS:squall_http> $<TARGET_OBJECTS:squall_llhttp>)
target_link_libraries(squall_http_shared
  PUBLIC squall_engine_shared nlohmann_json::nlohmann_json PRIVATE ZLIB::ZLIB PkgConfig::LIBDEFLATE)

# The static http library: squall's objects and llhttp's linked into one
# relocatable object (ld -r), llhttp's symbols then localised.
set(_merged ${CMAKE_CURRENT_BINARY_DIR}/squall_http_with_llhttp.o)
add_custom_command(OUTPUT ${_merged}
  COMMAND ${CMAKE_LINKER} -r -o ${_merged} "$<TARGET_OBJECTS:squall_http>" "$<TARGET_OBJECTS:squall_llhttp>"
  COMMAND ${CMAKE_OBJCOPY} --wildcard --localize-symbol=llhttp_* ${_merged}
  DEPENDS "$<TARGET_OBJECTS:squall_http>" "$<TARGET_OBJECTS:squall_llhttp>"
  COMMENT "Linking squall_http with a private llhttp"
  COMMAND_EXPAND_LISTS VERBATIM)
set_source_files_properties(${_merged} PROPERTIES EXTERNAL_OBJECT TRUE GENERATED TRUE)
squall_package_lib(http static ${_merged})
# The objects' file dependencies alone do not order the targets.
add_dependencies(squall_http_static squall_http squall_llhttp)
target_link_libraries(squall_http_static
  PUBLIC squall_engine_static nlohmann_json::nlohmann_json PRIVATE ZLIB::ZLIB PkgConfig::LIBDEFLATE)

foreach(kind shared static)
  squall_package_lib(ws ${kind} $<TARGET_OBJECTS:squall_ws>)
  target_link_libraries(squall_ws_${kind}
    PUBLIC squall_http_${kind} squall_engine_${kind} PRIVATE ZLIB::ZLIB)
  add_library(squall_all_${kind} INTERFACE)
  target_link_libraries(squall_all_${kind} INTERFACE squall_ws_${kind})
endforeach()
set_target_properties(squall_all_shared PROPERTIES EXPORT_NAME squall)
set_target_properties(squall_all_static PROPERTIES EXPORT_NAME squall_static)

set(_squall_installed
  squall_engine_shared squall_http_shared squall_ws_shared squall_all_shared
  squall_engine_static squall_http_static squall_ws_static squall_all_static)
add_custom_target(squall_package_libs DEPENDS ${_squall_installed})
# squall_deb.cmake adds the files every install carries (copyright, changelog).

install(TARGETS ${_squall_installed} EXPORT squallTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT development
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development)
install(EXPORT squallTargets NAMESPACE squall:: DESTINATION ${SQUALL_CMAKE_DIR} COMPONENT development)

# Headers: every header of the three layers but llhttp's private glue.
install(DIRECTORY engine http ws
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/squall COMPONENT development
  FILES_MATCHING PATTERN "*.hpp"
  PATTERN "llhttp_state.hpp" EXCLUDE
  PATTERN "llhttp_glue.hpp" EXCLUDE)
install(FILES ${SQUALL_GENERATED_INCLUDE_DIR}/squall/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/squall COMPONENT development)

configure_package_config_file(cmake/squallConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/squallConfig.cmake INSTALL_DESTINATION ${SQUALL_CMAKE_DIR})
# 0.x releases promise compatibility within a minor version only.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/squallConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/squallConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/squallConfigVersion.cmake
  DESTINATION ${SQUALL_CMAKE_DIR} COMPONENT development)

# squall.pc, relocatable: the prefix is found from the file's own place.
file(RELATIVE_PATH SQUALL_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" SQUALL_PC_TO_PREFIX "${SQUALL_PC_TO_PREFIX}")
configure_file(cmake/squall.pc.in ${CMAKE_CURRENT_BINARY_DIR}/squall.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/squall.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT development)

include(cmake/squall_deb.cmake)
