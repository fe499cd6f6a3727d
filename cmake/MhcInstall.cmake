# Install rules: libmhc.so (+ SONAME links), include/mhc/{mhc.h,mhc.hpp}, the CMake package
# (find_package(mhc) -> mhc::mhc) and the pkg-config file mhc.pc.
#
# Included from the top-level CMakeLists.txt after the mhc target is defined. The library links
# fmt and the CUDA runtime PRIVATELY into a shared object, so the exported target carries only
# its include directory and the .so itself: consumers need neither fmt nor the CUDA toolkit.
# tests/install/run_consumer_test.sh checks that (the "install" ctest label).

set(MHC_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/mhc" CACHE STRING
    "Where the CMake package files (mhcConfig.cmake ...) are installed, relative to the prefix")
set(MHC_INSTALL_PKGCONFIGDIR "${CMAKE_INSTALL_LIBDIR}/pkgconfig" CACHE STRING
    "Where mhc.pc is installed, relative to the prefix")

set_target_properties(mhc PROPERTIES EXPORT_NAME mhc)

install(TARGETS mhc EXPORT mhcTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Runtime NAMELINK_COMPONENT Development
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}" COMPONENT Development
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}" COMPONENT Runtime
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(FILES "${PROJECT_SOURCE_DIR}/include/mhc/mhc.h" "${PROJECT_SOURCE_DIR}/include/mhc/mhc.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/mhc" COMPONENT Development)

# ---- CMake package ---------------------------------------------------------------------------
install(EXPORT mhcTargets
  NAMESPACE mhc::
  FILE mhcTargets.cmake
  DESTINATION "${MHC_INSTALL_CMAKEDIR}"
  COMPONENT Development)

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/mhcConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/mhcConfig.cmake"
  INSTALL_DESTINATION "${MHC_INSTALL_CMAKEDIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/mhcConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/mhcConfig.cmake" "${PROJECT_BINARY_DIR}/mhcConfigVersion.cmake"
  DESTINATION "${MHC_INSTALL_CMAKEDIR}" COMPONENT Development)

# ---- pkg-config ------------------------------------------------------------------------------
# With relative install dirs the .pc file finds its prefix from its own place (${pcfiledir}), so
# `cmake --install build --prefix /anywhere` gives a working mhc.pc.
if(IS_ABSOLUTE "${MHC_INSTALL_PKGCONFIGDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}"
   OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MHC_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(MHC_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
  set(MHC_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
else()
  file(RELATIVE_PATH _mhc_pc_up "/${MHC_INSTALL_PKGCONFIGDIR}" "/")
  string(REGEX REPLACE "/$" "" _mhc_pc_up "${_mhc_pc_up}")
  set(MHC_PC_PREFIX "\${pcfiledir}/${_mhc_pc_up}")
  set(MHC_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(MHC_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
configure_file("${PROJECT_SOURCE_DIR}/cmake/mhc.pc.in" "${PROJECT_BINARY_DIR}/mhc.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/mhc.pc" DESTINATION "${MHC_INSTALL_PKGCONFIGDIR}" COMPONENT Development)
