// Versioned ABI structs (Linux copy_struct_from_user): a smaller struct from an older caller is
// zero-extended; a larger one is accepted only when every byte this library does not know is 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "error.hpp"

namespace mhc {

// Copies the caller's struct (whose first field is uint32_t struct_size) into *dst.
// `name` is the argument's name for messages; `min_size` the smallest size ever published.
template <typename T>
void copy_struct_in(T* dst, const T* src, const char* name, size_t min_size) {
  if (src == nullptr) fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "{} is NULL: expected a pointer to {}", name, name);
  uint32_t size = 0;
  std::memcpy(&size, src, sizeof size);
  if (size < min_size)
    fail(MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
         "{}->struct_size = {}: expected at least {} (set it to sizeof, or use the init function)",
         name, size, min_size);
  std::memset(dst, 0, sizeof(T));
  const auto* bytes = reinterpret_cast<const unsigned char*>(src);
  std::memcpy(dst, bytes, size < sizeof(T) ? size : sizeof(T));
  for (size_t i = sizeof(T); i < size; ++i)
    if (bytes[i] != 0)
      fail(MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
           "{}->struct_size = {}: byte {} past this library's {}-byte struct is non-zero "
           "(a field from a newer libmhc that this version does not know)",
           name, size, i, sizeof(T));
  dst->struct_size = static_cast<uint32_t>(sizeof(T));
}

// Writes *src to a caller struct of caller-declared size: the bytes both know, then zeros up to
// the caller's size (fields of a newer header that this library does not know read as 0).
template <typename T>
void copy_struct_out(T* dst, const T& src, const char* name, size_t min_size) {
  if (dst == nullptr) fail(MHC_STATUS_BAD_PARAM_NULL_POINTER, "{} is NULL: expected an output pointer", name);
  uint32_t size = 0;
  std::memcpy(&size, dst, sizeof size);
  if (size < min_size)
    fail(MHC_STATUS_BAD_PARAM_STRUCT_SIZE, "{}->struct_size = {}: expected at least {} (set it to sizeof)",
         name, size, min_size);
  auto* bytes = reinterpret_cast<unsigned char*>(dst);
  std::memcpy(bytes, &src, size < sizeof(T) ? size : sizeof(T));
  if (size > sizeof(T)) std::memset(bytes + sizeof(T), 0, size - sizeof(T));
  std::memcpy(bytes, &size, sizeof size);  // keep the caller's struct_size
}

}  // namespace mhc
