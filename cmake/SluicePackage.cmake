# Installation layout and the Debian package (`cpack -G DEB`; scripts/build-deb.sh):
#   /usr/bin/sluice, /etc/sluice/sluice.conf and /etc/default/sluice (conffiles),
#   /lib/systemd/system/sluice.service, /usr/share/man/man1/sluice.1.gz.
# Runtime dependencies are computed by dpkg-shlibdeps from the binary.

# sluice(1) from the binary's --help and --describe (scripts/gen-manpage.sh).
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/sluice.1.gz
  COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/gen-manpage.sh $<TARGET_FILE:sluice> > ${CMAKE_BINARY_DIR}/sluice.1
  COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/sluice.1
  DEPENDS sluice ${CMAKE_SOURCE_DIR}/scripts/gen-manpage.sh
  COMMENT "sluice(1)")
add_custom_target(sluice_manpage ALL DEPENDS ${CMAKE_BINARY_DIR}/sluice.1.gz)

include(GNUInstallDirs)
install(TARGETS sluice RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_BINARY_DIR}/sluice.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES packaging/sluice.conf DESTINATION /etc/sluice)
install(FILES packaging/debian/sluice.default DESTINATION /etc/default RENAME sluice)
install(FILES packaging/sluice.service DESTINATION /lib/systemd/system)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_PACKAGE_NAME sluice)
set(CPACK_PACKAGE_VENDOR "sluice")
set(CPACK_PACKAGE_CONTACT "sluice maintainers <sluice@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "log pipeline processor that reads Fluentd configurations")
set(CPACK_PACKAGE_DESCRIPTION "sluice tails files (Kubernetes container logs among them), parses, filters,\nredacts and ships events to Elasticsearch, Loki or files, through memory or file\nbuffers, configured in Fluentd's syntax. Runs under systemd as sluice.service.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_SOURCE_DIR}/packaging/debian/conffiles
  ${CMAKE_SOURCE_DIR}/packaging/debian/postinst
  ${CMAKE_SOURCE_DIR}/packaging/debian/prerm
  ${CMAKE_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
