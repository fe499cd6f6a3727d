// Catch2 v2 (Debian) or v3 (Ubuntu 24.04, the GPU machine): one include for both.
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
