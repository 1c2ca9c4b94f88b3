# install.cmake -- `cmake --install` and the .deb (`cpack -G DEB`).
#
# Installs the binary, jugglite(1) (written at build time from
# `jugglite --help` by manpage.cmake, so the option table stays the one
# source), the example config as <sysconfdir>/jugglite/jugglite.conf, the
# systemd unit (its paths follow the install prefix), and the licence.
# With CMAKE_INSTALL_PREFIX=/usr (what `make deb` configures) the config
# goes to /etc and the unit to /lib/systemd/system, as Debian has them;
# with the default /usr/local, to /usr/local/etc and /usr/local/lib/systemd.
include(GNUInstallDirs)

file(STRINGS ${CMAKE_SOURCE_DIR}/server/config.h JL_VERSION_LINE REGEX "^#define JL_VERSION ")
string(REGEX REPLACE "^#define JL_VERSION \"([^\"]+)\".*" "\\1" JL_VERSION "${JL_VERSION_LINE}")

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(JL_UNITDIR_DEFAULT /lib/systemd/system)
else()
  set(JL_UNITDIR_DEFAULT ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(JL_SYSTEMD_UNITDIR ${JL_UNITDIR_DEFAULT} CACHE PATH "where jugglite.service is installed")

set(JL_BIN ${CMAKE_INSTALL_FULL_BINDIR}/jugglite)
set(JL_CONF ${CMAKE_INSTALL_FULL_SYSCONFDIR}/jugglite/jugglite.conf)
set(JL_ENV ${CMAKE_INSTALL_FULL_SYSCONFDIR}/jugglite/jugglite.env)
set(JL_PKG ${CMAKE_BINARY_DIR}/packaging)
configure_file(${CMAKE_CURRENT_LIST_DIR}/jugglite.service.in ${JL_PKG}/jugglite.service @ONLY)

# The man page, then gzip -9n (no name or time in the header: reproducible).
find_program(GZIP gzip REQUIRED)
add_custom_command(OUTPUT ${JL_PKG}/jugglite.1 ${JL_PKG}/jugglite.1.gz
  COMMAND ${CMAKE_COMMAND} -DBIN=$<TARGET_FILE:jugglite> -DIN=${CMAKE_CURRENT_LIST_DIR}/jugglite.1.in
          -DOUT=${JL_PKG}/jugglite.1 -P ${CMAKE_CURRENT_LIST_DIR}/manpage.cmake
  COMMAND ${GZIP} -9n -c ${JL_PKG}/jugglite.1 > ${JL_PKG}/jugglite.1.gz
  DEPENDS jugglite ${CMAKE_CURRENT_LIST_DIR}/jugglite.1.in ${CMAKE_CURRENT_LIST_DIR}/manpage.cmake
  COMMENT "Writing jugglite(1) from jugglite --help")
add_custom_command(OUTPUT ${JL_PKG}/changelog.gz
  COMMAND ${GZIP} -9n -c ${CMAKE_CURRENT_LIST_DIR}/changelog > ${JL_PKG}/changelog.gz
  DEPENDS ${CMAKE_CURRENT_LIST_DIR}/changelog)
add_custom_target(manpage ALL DEPENDS ${JL_PKG}/jugglite.1.gz ${JL_PKG}/changelog.gz)

# debian/copyright's machine-readable form around the LICENSE text.
file(READ ${CMAKE_SOURCE_DIR}/LICENSE JL_LICENSE)
string(REGEX MATCH "Copyright \\(c\\) [^\n]*" JL_COPYRIGHT_LINE "${JL_LICENSE}")
string(REGEX REPLACE "^MIT License\n\n[^\n]*\n\n" "" JL_LICENSE_BODY "${JL_LICENSE}")
string(REGEX REPLACE "\n+$" "" JL_LICENSE_BODY "${JL_LICENSE_BODY}")
string(REGEX REPLACE "\n\n" "\n.\n" JL_LICENSE_BODY "${JL_LICENSE_BODY}")
string(REGEX REPLACE "\n" "\n " JL_LICENSE_BODY "${JL_LICENSE_BODY}")
string(REGEX REPLACE "^Copyright \\([cC]\\) " "" JL_COPYRIGHT_LINE "${JL_COPYRIGHT_LINE}")
file(WRITE ${JL_PKG}/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: jugglite

Files: *
Copyright: ${JL_COPYRIGHT_LINE}
License: Expat

License: Expat
 ${JL_LICENSE_BODY}
")

install(TARGETS jugglite RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${JL_PKG}/jugglite.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/jugglite.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/jugglite)
install(FILES ${JL_PKG}/jugglite.service DESTINATION ${JL_SYSTEMD_UNITDIR})
install(FILES ${JL_PKG}/copyright ${JL_PKG}/changelog.gz ${CMAKE_SOURCE_DIR}/README.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")                 # the package's, for lintian
  install(FILES ${CMAKE_CURRENT_LIST_DIR}/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
          RENAME jugglite)
endif()

# The .deb. Dependencies come from dpkg-shlibdeps on the binary.
configure_file(${CMAKE_CURRENT_LIST_DIR}/conffiles.in ${JL_PKG}/conffiles @ONLY)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME jugglite)
set(CPACK_PACKAGE_VERSION ${JL_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_PACKAGE_CONTACT "jugglite maintainers <maintainers@users.noreply.r-seed-74e0a632.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Redis pub/sub to browsers over Server-Sent Events")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "jugglite is one small server with one event loop: applications publish
over the Redis protocol (RESP) with any Redis client, and browsers
subscribe with the standard EventSource API. Several nodes can share
channels through a real Redis.

This package ships the server, its manual page, an example configuration
in /etc/jugglite and a hardened systemd unit (Type=notify, DynamicUser).")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${JL_PKG}/conffiles ${CMAKE_CURRENT_LIST_DIR}/postinst
    ${CMAKE_CURRENT_LIST_DIR}/prerm ${CMAKE_CURRENT_LIST_DIR}/postrm)
include(CPack)
