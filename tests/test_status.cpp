// Library-level entry points: versions and the ABI check, status strings, the thread-local
// last-error message, SKU names.
#include <cstdio>

#include "op_buffers.hpp"

using namespace mhc_test;

TEST_CASE("status: versions and the ABI check", "[status]") {
  CHECK(mhc_get_version() == MHC_VERSION);
  CHECK(mhc_get_abi_version() == MHC_ABI_VERSION);
  char expected[32];
  std::snprintf(expected, sizeof expected, "%d.%d.%d", MHC_VERSION_MAJOR, MHC_VERSION_MINOR, MHC_VERSION_PATCH);
  REQUIRE(mhc_get_version_string() != nullptr);
  CHECK(std::string(mhc_get_version_string()) == expected);

  REQUIRE_OK(mhc_check_abi(MHC_ABI_VERSION));
  for (uint32_t other : {0u, MHC_ABI_VERSION + 1u, 0xffffffffu}) {
    INFO("abi " << other);
    REQUIRE_STATUS(mhc_check_abi(other), MHC_STATUS_BAD_PARAM_ABI_MISMATCH, "abi_version");
    CHECK(MHC_STATUS_CATEGORY(MHC_STATUS_BAD_PARAM_ABI_MISMATCH) == MHC_STATUS_BAD_PARAM);
  }
}

TEST_CASE("status: a static name for every code", "[status]") {
  struct Code {
    mhc_status_t code;
    const char* name;
  };
#define MHC_TEST_CODE(c) {c, #c}
  const Code codes[] = {
      MHC_TEST_CODE(MHC_STATUS_SUCCESS),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_NULL_POINTER),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_STRUCT_SIZE),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_SHAPE),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_VALUE),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_MISALIGNED),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_WORKSPACE),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_MEMORY_SPACE),
      MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_ABI_MISMATCH), MHC_TEST_CODE(MHC_STATUS_BAD_PARAM_DEVICE),
      MHC_TEST_CODE(MHC_STATUS_NOT_SUPPORTED),
      MHC_TEST_CODE(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE),
      MHC_TEST_CODE(MHC_STATUS_NOT_SUPPORTED_SKU),
      MHC_TEST_CODE(MHC_STATUS_NOT_SUPPORTED_GUARANTEE),
      MHC_TEST_CODE(MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP),
      MHC_TEST_CODE(MHC_STATUS_INTERNAL),
      MHC_TEST_CODE(MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED),
      MHC_TEST_CODE(MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED),
      MHC_TEST_CODE(MHC_STATUS_EXECUTION_FAILED),
      MHC_TEST_CODE(MHC_STATUS_EXECUTION_FAILED_CUDA),
      MHC_TEST_CODE(MHC_STATUS_EXECUTION_FAILED_LAUNCH),
  };
#undef MHC_TEST_CODE
  for (const Code& c : codes) {
    INFO(c.name);
    const char* s = mhc_status_string(c.code);
    REQUIRE(s != nullptr);
    CHECK(std::string(s) == c.name);
    CHECK(mhc_status_string(c.code) == s);  // static storage: the same pointer every time
  }
  // A code a newer library adds inside a known category names that category.
  const Code newer[] = {{2999, "MHC_STATUS_BAD_PARAM"},
                        {2011, "MHC_STATUS_BAD_PARAM"},
                        {3077, "MHC_STATUS_NOT_SUPPORTED"},
                        {4500, "MHC_STATUS_INTERNAL"},
                        {5003, "MHC_STATUS_EXECUTION_FAILED"}};
  for (const Code& c : newer) {
    INFO(c.code);
    const std::string s = mhc_status_string(c.code);
    CHECK(s.rfind(c.name, 0) == 0);
    CHECK(s.find("unknown") != std::string::npos);
    CHECK(MHC_STATUS_CATEGORY(c.code) == c.code / 1000 * 1000);
  }
  for (mhc_status_t unknown : {1, 999, 1000, 1001, 6000, 9999, -1, -2001, INT32_MAX, INT32_MIN}) {
    INFO(unknown);
    const char* s = mhc_status_string(unknown);
    REQUIRE(s != nullptr);
    CHECK(std::string(s) == "unknown mhc_status_t");
  }
}

TEST_CASE("status: the last-error message and its truncation", "[status]") {
  REQUIRE(mhc_check_abi(MHC_ABI_VERSION + 7) == MHC_STATUS_BAD_PARAM_ABI_MISMATCH);
  const size_t len = mhc_get_last_error(nullptr, 0);
  REQUIRE(len > 10);
  std::string full(len + 1, '#');
  CHECK(mhc_get_last_error(&full[0], full.size()) == len);
  CHECK(full[len] == '\0');
  full.resize(len);
  CHECK(full.find("mhc_check_abi") != std::string::npos);
  CHECK(full.find("abi_version = " + std::to_string(MHC_ABI_VERSION + 7)) != std::string::npos);
  CHECK(full.find('\0') == std::string::npos);

  char buf[16];
  std::memset(buf, '#', sizeof buf);
  CHECK(mhc_get_last_error(buf, 0) == len);  // cap 0: nothing written
  CHECK(buf[0] == '#');
  CHECK(mhc_get_last_error(buf, 5) == len);  // cap 5: four bytes and a NUL
  CHECK(std::string(buf) == full.substr(0, 4));
  CHECK(buf[5] == '#');
  CHECK(mhc_get_last_error(buf, 1) == len);
  CHECK(buf[0] == '\0');
  CHECK(buf[1] == full[1]);  // from the previous call: the cap was respected

  // The message belongs to the last failed call: successes keep it, a new failure replaces it.
  REQUIRE_OK(mhc_check_abi(MHC_ABI_VERSION));
  CHECK(last_error() == full);
  int32_t count = 0;
  REQUIRE_OK(mhc_cuda_device_count(&count));
  CHECK(last_error() == full);
  REQUIRE_STATUS(mhc_cuda_device_count(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER, "mhc_cuda_device_count");
  CHECK(last_error() != full);
}

TEST_CASE("status: SKU names", "[status]") {
  for (const OpVariant& v : all_variants()) {
    INFO(v.name);
    REQUIRE(mhc_sku_name(v.sku) != nullptr);
    CHECK(std::string(mhc_sku_name(v.sku)) == v.sku_name);
  }
  CHECK(mhc_sku_name(MHC_SKU_NONE) == nullptr);
  CHECK(mhc_sku_name(0x00010b00u) == nullptr);  // op 11: no op
  CHECK(mhc_sku_name(0x00010701u) == nullptr);  // a host variant that does not exist
  CHECK(mhc_sku_name(0xffffffffu) == nullptr);
}
