# `make deb`: one Debian package, libsquall-dev, with the shared and
# static libraries, the headers, the CMake package and squall.pc. Its
# runtime dependencies come from dpkg-shlibdeps; the -dev libraries it
# builds against are named by hand. lintian checks it (Makefile).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME libsquall-dev)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "squall")
# Whoever publishes the package sets the maintainer (-DSQUALL_DEB_MAINTAINER=).
set(SQUALL_DEB_MAINTAINER "squall developers <squall-dev@squall.invalid>" CACHE STRING
  "Maintainer field of the Debian package")
set(CPACK_PACKAGE_CONTACT "${SQUALL_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "io_uring server engine for C++20 (development files)")
# The long description; CPack puts the summary above it as the synopsis.
set(CPACK_PACKAGE_DESCRIPTION
  "squall is a Linux server engine in the spirit of Python's Tornado: an event
loop on io_uring, coroutine tasks, an HTTP/1.1 server with class-based
handlers, WebSockets and TLS.
.
This package holds the headers, the shared and static libraries, the
CMake package and the pkg-config file.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY "=")
set(CPACK_DEBIAN_PACKAGE_DEPENDS "liburing-dev (>= 2.3), libspdlog-dev, nlohmann-json3-dev, libwolfssl-dev, libc-ares-dev, libdeflate-dev, zlib1g-dev")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Shared libraries in /usr/lib: ldconfig runs through dpkg's trigger.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/triggers)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_DEB_COMPONENT_INSTALL OFF)
set(CPACK_PACKAGE_FILE_NAME "libsquall-dev_${PROJECT_VERSION}_amd64")

# What Debian policy asks of every package: a copyright file and a
# compressed changelog under /usr/share/doc/<package>.
set(_doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/${CPACK_PACKAGE_NAME})
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/copyright DESTINATION ${_doc} COMPONENT development)
set(_changelog ${CMAKE_CURRENT_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${_changelog}
  COMMAND gzip -9n -c ${PROJECT_SOURCE_DIR}/cmake/debian/changelog > ${_changelog}
  DEPENDS ${PROJECT_SOURCE_DIR}/cmake/debian/changelog VERBATIM)
add_custom_target(squall_changelog ALL DEPENDS ${_changelog})
add_dependencies(squall_package_libs squall_changelog)
install(FILES ${_changelog} DESTINATION ${_doc} COMPONENT development)

include(CPack)
