# The test registered in place of a binding test whose toolchain was not found at configure
# time: it fails, saying what to install (see bindings/cmake/MhcBindings.cmake).
message(FATAL_ERROR "${MESSAGE}\nInstall it (scripts/test.sh does, with apt-get) and re-run cmake, "
                    "or configure with -DMHC_BINDINGS=<subset or OFF> to leave this binding out.")
