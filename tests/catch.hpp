// Catch2 v2 (Debian) or v3 (Ubuntu 24.04, the GPU machine): one include for both. The build says
// which one it found (MHC_CATCH2_V3, tests/CMakeLists.txt).
#pragma once
#if MHC_CATCH2_V3
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
