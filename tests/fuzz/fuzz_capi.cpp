// libFuzzer harness of the libmhc C ABI, host backend.
//
// One input decodes into: an op id (valid ones and invalid ones), a descriptor (every field, out
// of range values included, struct_size smaller or larger), a preference (backends HOST mostly;
// NULL, ANY, CUDA, unknown bits, forced SKUs, struct_size), then up to three rounds of run
// arguments for the plan: args.tokens, args.struct_size (0.1 size, zero and non-zero tails),
// reserved0, one pointer per tensor (a real host buffer sized from mhc_plan_get_tensor_info,
// NULL, misaligned, or an output aliasing another tensor), an unused field set, a workspace, a
// stream. It calls mhc_desc_init, mhc_plan_select, every plan query, mhc_plan_can_implement,
// mhc_plan_run and mhc_plan_destroy.
//
// The oracle (a violation prints ORACLE FAILURE and aborts, which libFuzzer reports as a crash):
//   - every status is a code of mhc.h, never a category-only one (2000, 5000), and exactly the one
//     the documented rules give: docs/c_abi.md (the set of faults injected decides; where several
//     are injected, any of theirs, since the order of the select checks is not documented);
//   - a failing call leaves a message that names the function (mhc_get_last_error: the length,
//     the copy, the truncated copy), not cleared by a later successful call;
//   - a failing call writes nothing: every caller buffer (tensors, workspace, the structs) is
//     snapshotted before and compared after; can_implement never writes;
//   - a successful run writes every element of every output it was given (outputs are poisoned
//     before with NaN patterns no op produces from finite inputs: 0x7fa5 bf16, 0x7fa5a5a5 fp32),
//     nothing past this run's T rows, never an input; a second run on re-poisoned outputs gives
//     the same bits; a run with args.tokens < desc.tokens gives the rows of the full run;
//   - the plan queries agree with the descriptor and with the op tables of docs/c_abi.md.
// Buffers are exact heap allocations (AddressSanitizer sees any access past them) sized from
// mhc_plan_get_tensor_info; they are wrong only in ways the library is documented to detect.
// Inputs are finite and in the ranges the tests use. Runs stay small: at most 1 MiB of tensors and
// about 2e6 multiply-adds (larger valid shapes are selected and queried, and run only when a small
// args.tokens brings them within that).
//
// Built two ways (tests/fuzz/CMakeLists.txt): with libFuzzer (scripts/sanitize.sh), and with
// MHC_FUZZ_REPLAY_MAIN as a plain program that runs files or directories of inputs once
// (ctest fuzz_corpus_replay, every build).
#include <algorithm>
#include <cfloat>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mhc/mhc.h"

#ifndef MHC_FUZZ_STATUS_CODES  // tests/fuzz/CMakeLists.txt reads them from mhc.h
#error "MHC_FUZZ_STATUS_CODES: the comma-separated MHC_STATUS_* values of mhc.h"
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Oracle plumbing
// ---------------------------------------------------------------------------------------------
std::string g_context;  // what this input decoded to so far, printed with a failure

void note(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  g_context += buf;
  g_context += ' ';
}

[[noreturn]] void oracle_failure(const char* format, ...) {
  std::fprintf(stderr, "\n==mhc-fuzz== ORACLE FAILURE: ");
  va_list ap;
  va_start(ap, format);
  std::vfprintf(stderr, format, ap);
  va_end(ap);
  std::fprintf(stderr, "\n==mhc-fuzz== decoded input: %s\n", g_context.c_str());
  std::fflush(stderr);
  std::abort();
}

#define ORACLE(cond, ...)                   \
  do {                                      \
    if (!(cond)) oracle_failure(__VA_ARGS__); \
  } while (0)

constexpr int32_t kStatusCodes[] = {MHC_FUZZ_STATUS_CODES};

bool is_header_status(mhc_status_t s) {
  for (int32_t c : kStatusCodes)
    if (c == s) return true;
  return false;
}

// A small set of statuses.
struct Statuses {
  std::vector<mhc_status_t> v;
  void add(mhc_status_t s) {
    if (!has(s)) v.push_back(s);
  }
  bool has(mhc_status_t s) const { return std::find(v.begin(), v.end(), s) != v.end(); }
  bool empty() const { return v.empty(); }
  std::string str() const {
    std::string s;
    for (mhc_status_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
    return "{" + s + "}";
  }
};

std::string last_error() {
  const size_t len = mhc_get_last_error(nullptr, 0);
  std::string s(len + 1, '\0');
  mhc_get_last_error(&s[0], s.size());
  s.resize(len);
  return s;
}

// The message of a failure: non-empty, names `fn`, copied and truncated as documented, and kept
// by a later successful call.
void check_failure_message(const char* fn, mhc_status_t status) {
  const size_t len = mhc_get_last_error(nullptr, 0);
  ORACLE(len > 0, "%s returned %d and left an empty message", fn, status);
  std::vector<char> buf(len + 8, '\x7f');
  ORACLE(mhc_get_last_error(buf.data(), len + 1) == len, "%s: mhc_get_last_error length changed", fn);
  ORACLE(buf[len] == '\0' && std::strlen(buf.data()) == len && buf[len + 1] == '\x7f',
         "%s: mhc_get_last_error(buf, len + 1) did not copy len bytes plus a NUL", fn);
  const std::string message(buf.data(), len);
  ORACLE(message.find(fn) != std::string::npos, "%s returned %d with a message that does not name it: \"%s\"", fn,
         status, message.c_str());
  char small[8];
  std::memset(small, '\x7f', sizeof small);
  ORACLE(mhc_get_last_error(small, 4) == len, "%s: mhc_get_last_error(buf, 4) length", fn);
  const size_t copied = std::min<size_t>(len, 3);
  ORACLE(std::memcmp(small, message.data(), copied) == 0 && small[copied] == '\0' && small[4] == '\x7f',
         "%s: mhc_get_last_error(buf, 4) copied more than 3 bytes plus a NUL", fn);
  mhc_preference_t p;
  ORACLE(mhc_preference_init(&p) == MHC_STATUS_SUCCESS, "mhc_preference_init failed");
  ORACLE(last_error() == message, "%s: a successful call changed the last error message", fn);
}

// Every status: a code of mhc.h (not a category-only one), one of `allowed`; a failure's message.
void expect(const char* fn, mhc_status_t status, const Statuses& allowed) {
  ORACLE(is_header_status(status), "%s returned %d: not a status code of mhc.h", fn, status);
  ORACLE(status != MHC_STATUS_BAD_PARAM && status != MHC_STATUS_EXECUTION_FAILED,
         "%s returned the category-only status %d", fn, status);
  const char* name = mhc_status_string(status);
  ORACLE(name != nullptr && std::strncmp(name, "MHC_STATUS_", 11) == 0 && std::strstr(name, "unknown") == nullptr,
         "mhc_status_string(%d) = \"%s\"", status, name ? name : "(null)");
  ORACLE(allowed.has(status), "%s returned %d (%s), expected one of %s; message: \"%s\"", fn, status, name,
         allowed.str().c_str(), status ? last_error().c_str() : "");
  if (status != MHC_STATUS_SUCCESS) check_failure_message(fn, status);
}

void expect(const char* fn, mhc_status_t status, mhc_status_t want) {
  Statuses s;
  s.add(want);
  expect(fn, status, s);
}

// ---------------------------------------------------------------------------------------------
// Input decoding: every read past the end gives 0, the "valid, default" choice.
// ---------------------------------------------------------------------------------------------
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(u8()) << (8 * i);
    return v;
  }
  uint64_t u64() { return u32() | (static_cast<uint64_t>(u32()) << 32); }
  template <typename T, size_t N>
  T pick(const T (&v)[N]) {
    return v[u8() % N];
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// splitmix64: the input values, from a seed the input gives.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1p-53; }
};

uint16_t float_to_bf16(float f) {  // round to nearest even; finite inputs only
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// ---------------------------------------------------------------------------------------------
// What docs/c_abi.md says about each op
// ---------------------------------------------------------------------------------------------
enum Uses : uint32_t {
  kSinkhorn = 1,      // sinkhorn_repeat 1..1000
  kRmsEps = 2,        // finite > 0
  kPreEps = 4,
  kSinkhornEps = 8,
  kPostMult = 16,     // finite
  kStaticEps = 32,    // finite > 0
};

struct OpInfo {
  mhc_op_t id;
  bool family_b;
  bool split_k;        // A1, A3, A7, A9, A10: num_splits 0..G
  bool partial_count;  // A2: with partials 1..G, else 0 or 1
  bool partials_flag;  // takes MHC_DESC_FLAG_SPLIT_PARTIALS
  uint32_t uses;
  uint32_t modes;      // the MHC_DESC_FLAG_SHIFTED / MHC_DESC_FLAG_NORM it takes (NORM: reads norm_eps, norm_scale)
};

constexpr uint32_t kMix = kSinkhorn | kRmsEps | kPreEps | kSinkhornEps | kPostMult;
constexpr uint32_t kShifted = MHC_DESC_FLAG_SHIFTED, kNorm = MHC_DESC_FLAG_NORM;

constexpr OpInfo kOpInfo[] = {
    {MHC_OP_PRENORM_GEMM, false, true, false, true, 0, 0},
    {MHC_OP_PRE_FUSE, false, false, true, true, kMix, 0},
    {MHC_OP_PRE, false, true, false, false, kMix, 0},
    {MHC_OP_POST, false, false, false, false, 0, 0},
    {MHC_OP_HEAD, false, false, false, false, kRmsEps | kPreEps, 0},
    {MHC_OP_EXPAND, false, false, false, false, 0, 0},
    {MHC_OP_BOUNDARY, false, true, false, false, kMix, kShifted | kNorm},
    {MHC_OP_BOUNDARY_COLLAPSE, false, false, false, false, 0, kNorm},
    {MHC_OP_BOUNDARY_MIX, false, true, false, false, kMix, 0},
    {MHC_OP_BOUNDARY_FIRST, false, true, false, false, kMix, kShifted | kNorm},
    {MHC_OP_STATIC_PRE, true, false, false, false, kStaticEps, 0},
    {MHC_OP_STATIC_POST, true, false, false, false, kSinkhorn | kStaticEps, 0},
    {MHC_OP_STATIC_LAYER, true, false, false, false, kSinkhorn | kStaticEps, 0},
    {MHC_OP_PRE_BACKWARD, false, false, false, false, kMix, 0},
    {MHC_OP_POST_BACKWARD, false, false, false, false, 0, 0},
    {MHC_OP_HEAD_BACKWARD, false, false, false, false, kRmsEps | kPreEps, 0},
    {MHC_OP_EXPAND_BACKWARD, false, false, false, false, 0, 0},
    {MHC_OP_STATIC_PRE_BACKWARD, true, false, false, false, kStaticEps, 0},
    {MHC_OP_STATIC_POST_BACKWARD, true, false, false, false, kSinkhorn | kStaticEps, 0},
    {MHC_OP_STATIC_LAYER_BACKWARD, true, false, false, false, kSinkhorn | kStaticEps, 0},
};

// Valid ops (a seed's first byte 0..8 picks one of A1-A6, B1-B3), ids that are no op (9..17), the
// boundary ops of 0.3 (18..21: appended, so the older seeds keep their meaning), the backward ops
// of 0.4 (22..25) and ids beside them that are no op (26, 27), the family B backward ops of 0.5
// (28..30) and the ids beside them (31, 32).
constexpr mhc_op_t kOpIds[] = {1, 2, 3, 4, 5, 6, 16, 17, 18, 0, 11, 12, 15, 19, 64, -1, INT32_MAX, INT32_MIN,
                               7, 8, 9, 10, 67, 68, 69, 70, 66, 71, 80, 81, 82, 79, 83};

// The smallest published struct_size of mhc_desc_t (0.1, 0.2: before norm_eps) and of mhc_args_t
// (0.1: before tokens); the 0.2 mhc_args_t ends after tokens.
constexpr uint32_t kDescMinSize = offsetof(mhc_desc_t, norm_eps);
constexpr uint32_t kArgsMinSize = offsetof(mhc_args_t, tokens);
constexpr uint32_t kArgs02Size = offsetof(mhc_args_t, pre_mix);
constexpr uint32_t kArgs03Size = offsetof(mhc_args_t, grad_residual);  // 0.3: no gradient fields
constexpr uint32_t kArgs04Size = offsetof(mhc_args_t, out_grad_h_pre);  // 0.4: no family B gradients
constexpr size_t kArgsRaw = 512;  // room for mhc_args_t and a larger caller's tail

const OpInfo* find_op(mhc_op_t op) {
  for (const OpInfo& o : kOpInfo)
    if (o.id == op) return &o;
  return nullptr;
}

mhc_sku_t host_sku(mhc_op_t op) { return 0x00010000u | (static_cast<uint32_t>(op) << 8); }
mhc_sku_t cuda_sku(mhc_op_t op) { return 0x00500000u | (static_cast<uint32_t>(op) << 8); }

constexpr int64_t kMaxElements = int64_t{1} << 46;

// One tensor as the docs' table gives it: the expected mhc_tensor_info_t.
struct TensorModel {
  const char* field;
  size_t offset;
  int32_t role;
  mhc_dtype_t dtype;
  int32_t required;
  std::vector<int64_t> shape;
  int32_t token_dim;
};

#define FIELD(f) #f, offsetof(mhc_args_t, f)

// The tensors of the plan's descriptor `d` (num_splits as the plan resolved it).
std::vector<TensorModel> tensor_model(const mhc_desc_t& d) {
  const int64_t T = d.tokens, C = d.hidden, n = d.n, K = n * C, N = n * (n + 2);
  const bool partials = (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
  const int64_t S = d.num_splits;
  const mhc_dtype_t BF = MHC_DTYPE_BF16, F32 = MHC_DTYPE_FP32, act = d.act_dtype;
  const int32_t IN = MHC_TENSOR_ROLE_INPUT, OUT = MHC_TENSOR_ROLE_OUTPUT;
  const TensorModel residual{FIELD(residual), IN, BF, 1, {T, n, C}, 0};
  const TensorModel residual_act{FIELD(residual), IN, act, 1, {T, n, C}, 0};
  auto parts = [&](std::vector<int64_t> tail) {
    if (partials) tail.insert(tail.begin(), S);
    return tail;
  };
  switch (d.op) {
    case MHC_OP_PRENORM_GEMM:
      return {residual, {FIELD(fn), IN, F32, 1, {N, K}, -1},
              {FIELD(out_gemm), OUT, F32, 1, parts({T, N}), partials ? 1 : 0},
              {FIELD(out_sqrsum), OUT, F32, 1, parts({T}), partials ? 1 : 0}};
    case MHC_OP_PRE_FUSE:
      return {{FIELD(gemm_out), IN, F32, 1, parts({T, N}), partials ? 1 : 0},
              {FIELD(sqrsum), IN, F32, 1, parts({T}), partials ? 1 : 0},
              {FIELD(scale), IN, F32, 1, {3}, -1},
              {FIELD(base), IN, F32, 1, {N}, -1},
              residual,
              {FIELD(out_post_mix), OUT, F32, 1, {T, n}, 0},
              {FIELD(out_comb_mix), OUT, F32, 1, {T, n, n}, 0},
              {FIELD(out_layer_input), OUT, BF, 1, {T, C}, 0}};
    case MHC_OP_PRE:
      return {residual,
              {FIELD(fn), IN, F32, 1, {N, K}, -1},
              {FIELD(scale), IN, F32, 1, {3}, -1},
              {FIELD(base), IN, F32, 1, {N}, -1},
              {FIELD(out_post_mix), OUT, F32, 1, {T, n}, 0},
              {FIELD(out_comb_mix), OUT, F32, 1, {T, n, n}, 0},
              {FIELD(out_layer_input), OUT, BF, 1, {T, C}, 0},
              {FIELD(out_gemm), OUT, F32, 0, {T, N}, 0},
              {FIELD(out_sqrsum), OUT, F32, 0, {T}, 0}};
    case MHC_OP_POST:
      return {{FIELD(layer_output), IN, BF, 1, {T, C}, 0}, residual,
              {FIELD(post_mix), IN, F32, 1, {T, n}, 0},
              {FIELD(comb_mix), IN, F32, 1, {T, n, n}, 0},
              {FIELD(out_residual), OUT, BF, 1, {T, n, C}, 0}};
    case MHC_OP_HEAD:
      return {residual, {FIELD(fn), IN, F32, 1, {n, K}, -1}, {FIELD(scale), IN, F32, 1, {1}, -1},
              {FIELD(base), IN, F32, 1, {n}, -1}, {FIELD(out_layer_input), OUT, BF, 1, {T, C}, 0},
              {FIELD(out_gemm), OUT, F32, 0, {T, n}, 0}, {FIELD(out_sqrsum), OUT, F32, 0, {T}, 0}};
    case MHC_OP_EXPAND:
      return {{FIELD(embedding), IN, BF, 1, {T, C}, 0}, {FIELD(out_residual), OUT, BF, 1, {T, n, C}, 0}};
    // The backward ops: weight gradients have no T (sums over the run's tokens).
    case MHC_OP_PRE_BACKWARD:
    case MHC_OP_HEAD_BACKWARD: {
      const bool head = d.op == MHC_OP_HEAD_BACKWARD;
      const int64_t M = head ? n : N, G = head ? 1 : 3;
      std::vector<TensorModel> v = {residual,
                                    {FIELD(fn), IN, F32, 1, {M, K}, -1},
                                    {FIELD(scale), IN, F32, 1, {G}, -1},
                                    {FIELD(base), IN, F32, 1, {M}, -1},
                                    {FIELD(gemm_out), IN, F32, 1, {T, M}, 0},
                                    {FIELD(sqrsum), IN, F32, 1, {T}, 0},
                                    {FIELD(grad_layer_input), IN, BF, 1, {T, C}, 0}};
      if (!head) {
        v.push_back({FIELD(grad_post_mix), IN, F32, 1, {T, n}, 0});
        v.push_back({FIELD(grad_comb_mix), IN, F32, 1, {T, n, n}, 0});
      }
      v.push_back({FIELD(out_grad_residual), OUT, BF, 1, {T, n, C}, 0});
      v.push_back({FIELD(out_grad_fn), OUT, F32, 1, {M, K}, -1});
      v.push_back({FIELD(out_grad_scale), OUT, F32, 1, {G}, -1});
      v.push_back({FIELD(out_grad_base), OUT, F32, 1, {M}, -1});
      return v;
    }
    case MHC_OP_POST_BACKWARD:
      return {{FIELD(layer_output), IN, BF, 1, {T, C}, 0}, residual,
              {FIELD(post_mix), IN, F32, 1, {T, n}, 0},
              {FIELD(comb_mix), IN, F32, 1, {T, n, n}, 0},
              {FIELD(grad_residual), IN, BF, 1, {T, n, C}, 0},
              {FIELD(out_grad_layer_output), OUT, BF, 1, {T, C}, 0},
              {FIELD(out_grad_residual), OUT, BF, 1, {T, n, C}, 0},
              {FIELD(out_grad_post_mix), OUT, F32, 1, {T, n}, 0},
              {FIELD(out_grad_comb_mix), OUT, F32, 1, {T, n, n}, 0}};
    case MHC_OP_EXPAND_BACKWARD:
      return {{FIELD(grad_residual), IN, BF, 1, {T, n, C}, 0}, {FIELD(out_grad_embedding), OUT, BF, 1, {T, C}, 0}};
    // The boundary: pre_mix (A7) exists only with SHIFTED, norm_weight only with NORM; out_pre_mix
    // (A7, A10) is optional except with SHIFTED.
    case MHC_OP_BOUNDARY:
    case MHC_OP_BOUNDARY_FIRST: {
      const bool shifted = (d.flags & MHC_DESC_FLAG_SHIFTED) != 0, norm = (d.flags & MHC_DESC_FLAG_NORM) != 0;
      std::vector<TensorModel> v;
      if (d.op == MHC_OP_BOUNDARY) {
        v = {{FIELD(layer_output), IN, BF, 1, {T, C}, 0}, residual, {FIELD(post_mix), IN, F32, 1, {T, n}, 0},
             {FIELD(comb_mix), IN, F32, 1, {T, n, n}, 0}};
        if (shifted) v.push_back({FIELD(pre_mix), IN, F32, 1, {T, n}, 0});
      } else {
        v = {{FIELD(embedding), IN, BF, 1, {T, C}, 0}};
      }
      v.push_back({FIELD(fn), IN, F32, 1, {N, K}, -1});
      v.push_back({FIELD(scale), IN, F32, 1, {3}, -1});
      v.push_back({FIELD(base), IN, F32, 1, {N}, -1});
      if (norm) v.push_back({FIELD(norm_weight), IN, BF, 1, {C}, -1});
      v.push_back({FIELD(out_residual), OUT, BF, 1, {T, n, C}, 0});
      v.push_back({FIELD(out_layer_input), OUT, BF, 1, {T, C}, 0});
      v.push_back({FIELD(out_post_mix), OUT, F32, 1, {T, n}, 0});
      v.push_back({FIELD(out_comb_mix), OUT, F32, 1, {T, n, n}, 0});
      v.push_back({FIELD(out_pre_mix), OUT, F32, shifted ? 1 : 0, {T, n}, 0});
      return v;
    }
    case MHC_OP_BOUNDARY_COLLAPSE: {
      std::vector<TensorModel> v = {{FIELD(layer_output), IN, BF, 1, {T, C}, 0}, residual,
                                    {FIELD(post_mix), IN, F32, 1, {T, n}, 0},
                                    {FIELD(comb_mix), IN, F32, 1, {T, n, n}, 0},
                                    {FIELD(pre_mix), IN, F32, 1, {T, n}, 0}};
      if (d.flags & MHC_DESC_FLAG_NORM) v.push_back({FIELD(norm_weight), IN, BF, 1, {C}, -1});
      v.push_back({FIELD(out_residual), OUT, BF, 0, {T, n, C}, 0});
      v.push_back({FIELD(out_layer_input), OUT, BF, 1, {T, C}, 0});
      return v;
    }
    case MHC_OP_BOUNDARY_MIX:
      return {residual,
              {FIELD(fn), IN, F32, 1, {N, K}, -1},
              {FIELD(scale), IN, F32, 1, {3}, -1},
              {FIELD(base), IN, F32, 1, {N}, -1},
              {FIELD(out_post_mix), OUT, F32, 1, {T, n}, 0},
              {FIELD(out_comb_mix), OUT, F32, 1, {T, n, n}, 0},
              {FIELD(out_pre_mix), OUT, F32, 1, {T, n}, 0}};
    case MHC_OP_STATIC_PRE:
      return {residual_act, {FIELD(norm_weight), IN, BF, 1, {C}, -1}, {FIELD(h_pre), IN, F32, 1, {n}, -1},
              {FIELD(out_layer_input), OUT, act, 1, {T, C}, 0}, {FIELD(out_rms), OUT, F32, 0, {T}, 0}};
    case MHC_OP_STATIC_POST:
      return {residual_act, {FIELD(layer_output), IN, act, 1, {T, C}, 0}, {FIELD(h_post), IN, F32, 1, {n}, -1},
              {FIELD(h_res), IN, F32, 1, {n, n}, -1}, {FIELD(out_residual), OUT, act, 1, {T, n, C}, 0}};
    case MHC_OP_STATIC_LAYER:
      return {residual_act, {FIELD(norm_weight), IN, BF, 1, {C}, -1}, {FIELD(h_pre), IN, F32, 1, {n}, -1},
              {FIELD(h_post), IN, F32, 1, {n}, -1}, {FIELD(h_res), IN, F32, 1, {n, n}, -1},
              {FIELD(out_residual), OUT, act, 1, {T, n, C}, 0}};
    // The family B backward ops: activation gradients in act_dtype, the parameters' fp32 (no T).
    case MHC_OP_STATIC_PRE_BACKWARD:
      return {residual_act, {FIELD(norm_weight), IN, BF, 1, {C}, -1}, {FIELD(h_pre), IN, F32, 1, {n}, -1},
              {FIELD(grad_layer_input), IN, act, 1, {T, C}, 0}, {FIELD(out_grad_residual), OUT, act, 1, {T, n, C}, 0},
              {FIELD(out_grad_h_pre), OUT, F32, 1, {n}, -1}, {FIELD(out_grad_norm_weight), OUT, F32, 1, {C}, -1}};
    case MHC_OP_STATIC_POST_BACKWARD:
      return {residual_act, {FIELD(layer_output), IN, act, 1, {T, C}, 0}, {FIELD(h_post), IN, F32, 1, {n}, -1},
              {FIELD(h_res), IN, F32, 1, {n, n}, -1}, {FIELD(grad_residual), IN, act, 1, {T, n, C}, 0},
              {FIELD(out_grad_residual), OUT, act, 1, {T, n, C}, 0},
              {FIELD(out_grad_layer_output), OUT, act, 1, {T, C}, 0}, {FIELD(out_grad_h_post), OUT, F32, 1, {n}, -1},
              {FIELD(out_grad_h_res), OUT, F32, 1, {n, n}, -1}};
    case MHC_OP_STATIC_LAYER_BACKWARD:
      return {residual_act, {FIELD(norm_weight), IN, BF, 1, {C}, -1}, {FIELD(h_pre), IN, F32, 1, {n}, -1},
              {FIELD(h_post), IN, F32, 1, {n}, -1}, {FIELD(h_res), IN, F32, 1, {n, n}, -1},
              {FIELD(grad_residual), IN, act, 1, {T, n, C}, 0}, {FIELD(out_grad_residual), OUT, act, 1, {T, n, C}, 0},
              {FIELD(out_grad_h_pre), OUT, F32, 1, {n}, -1}, {FIELD(out_grad_h_post), OUT, F32, 1, {n}, -1},
              {FIELD(out_grad_h_res), OUT, F32, 1, {n, n}, -1}, {FIELD(out_grad_norm_weight), OUT, F32, 1, {C}, -1}};
    default:
      return {};
  }
}

// Every pointer field of mhc_args_t.
constexpr size_t kPointerFields[] = {
    offsetof(mhc_args_t, residual),     offsetof(mhc_args_t, fn),           offsetof(mhc_args_t, scale),
    offsetof(mhc_args_t, base),         offsetof(mhc_args_t, gemm_out),     offsetof(mhc_args_t, sqrsum),
    offsetof(mhc_args_t, layer_output), offsetof(mhc_args_t, post_mix),     offsetof(mhc_args_t, comb_mix),
    offsetof(mhc_args_t, embedding),    offsetof(mhc_args_t, norm_weight),  offsetof(mhc_args_t, h_pre),
    offsetof(mhc_args_t, h_post),       offsetof(mhc_args_t, h_res),        offsetof(mhc_args_t, out_gemm),
    offsetof(mhc_args_t, out_sqrsum),   offsetof(mhc_args_t, out_post_mix), offsetof(mhc_args_t, out_comb_mix),
    offsetof(mhc_args_t, out_layer_input), offsetof(mhc_args_t, out_residual), offsetof(mhc_args_t, out_rms),
    offsetof(mhc_args_t, pre_mix),      offsetof(mhc_args_t, out_pre_mix),
    offsetof(mhc_args_t, grad_residual),     offsetof(mhc_args_t, grad_layer_input),
    offsetof(mhc_args_t, grad_post_mix),     offsetof(mhc_args_t, grad_comb_mix),
    offsetof(mhc_args_t, out_grad_residual), offsetof(mhc_args_t, out_grad_layer_output),
    offsetof(mhc_args_t, out_grad_post_mix), offsetof(mhc_args_t, out_grad_comb_mix),
    offsetof(mhc_args_t, out_grad_embedding), offsetof(mhc_args_t, out_grad_fn),
    offsetof(mhc_args_t, out_grad_scale),    offsetof(mhc_args_t, out_grad_base),
    offsetof(mhc_args_t, out_grad_h_pre),    offsetof(mhc_args_t, out_grad_h_post),
    offsetof(mhc_args_t, out_grad_h_res),    offsetof(mhc_args_t, out_grad_norm_weight)};

// The range of an input's values (the ranges the test suites use).
void input_range(const std::string& field, int64_t K, double* lo, double* hi, bool* activation) {
  *activation = false;
  *lo = -1.0, *hi = 1.0;
  if (field == "residual" || field == "layer_output" || field == "embedding") {
    *lo = -2.0, *hi = 2.0, *activation = true;
  } else if (field == "fn") {
    *lo = -0.05, *hi = 0.05;
  } else if (field == "scale" || field == "norm_weight") {
    *lo = 0.5, *hi = 1.5;
  } else if (field == "sqrsum") {
    *lo = 0.5, *hi = 2.0 * static_cast<double>(std::max<int64_t>(K, 1));
  } else if (field == "post_mix") {
    *lo = 0.0, *hi = 2.0;
  } else if (field == "comb_mix") {
    *lo = 0.0, *hi = 1.0;
  }
}

// ---------------------------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------------------------
constexpr uint16_t kPoisonBf16 = 0x7fa5;
constexpr uint32_t kPoisonF32 = 0x7fa5a5a5u;
constexpr size_t kMaxTensorBytes = size_t{1} << 20;  // all tensors of one run together
constexpr double kMaxWork = 2e6;                        // rough multiply-adds of one run

// An exact heap allocation: AddressSanitizer reports any access past it.
struct Buffer {
  std::unique_ptr<unsigned char[]> mem;
  size_t size = 0;
  explicit Buffer(size_t n = 0) : mem(n ? new unsigned char[n] : nullptr), size(n) {}
  unsigned char* data() const { return mem.get(); }
  std::vector<unsigned char> snapshot() const { return std::vector<unsigned char>(data(), data() + size); }
  bool same(const std::vector<unsigned char>& s) const { return s.size() == size && std::memcmp(s.data(), data(), size) == 0; }
};

int64_t elements_at(const std::vector<int64_t>& shape, int32_t token_dim, int64_t T) {
  int64_t e = 1;
  for (size_t k = 0; k < shape.size(); ++k) e *= static_cast<int32_t>(k) == token_dim ? T : shape[k];
  return e;
}

size_t elem_size(mhc_dtype_t t) { return t == MHC_DTYPE_BF16 ? 2 : 4; }

void poison(unsigned char* p, size_t bytes, mhc_dtype_t t) {
  for (size_t b = 0; b + elem_size(t) <= bytes; b += elem_size(t)) {
    if (t == MHC_DTYPE_BF16)
      std::memcpy(p + b, &kPoisonBf16, 2);
    else
      std::memcpy(p + b, &kPoisonF32, 4);
  }
}

bool is_poison(const unsigned char* p, mhc_dtype_t t) {
  return t == MHC_DTYPE_BF16 ? std::memcmp(p, &kPoisonBf16, 2) == 0 : std::memcmp(p, &kPoisonF32, 4) == 0;
}

// Copies the rows t < T_rows of a tensor laid out for T_src into one laid out for T_dst (outer
// dimensions before token_dim, inner after it).
void copy_rows(const TensorModel& m, const unsigned char* src, int64_t T_src, unsigned char* dst, int64_t T_dst,
               int64_t T_rows) {
  if (m.token_dim < 0) {
    std::memcpy(dst, src, static_cast<size_t>(elements_at(m.shape, -1, 0)) * elem_size(m.dtype));
    return;
  }
  int64_t outer = 1, inner = 1;
  for (int32_t k = 0; k < m.token_dim; ++k) outer *= m.shape[k];
  for (size_t k = m.token_dim + 1; k < m.shape.size(); ++k) inner *= m.shape[k];
  const size_t row = static_cast<size_t>(inner) * elem_size(m.dtype);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(dst + static_cast<size_t>(o * T_dst) * row, src + static_cast<size_t>(o * T_src) * row,
                static_cast<size_t>(T_rows) * row);
}

void fill_input(const TensorModel& m, unsigned char* p, int64_t elements, int64_t K, Rng& rng, int value_mode) {
  double lo, hi;
  bool activation;
  input_range(m.field, K, &lo, &hi, &activation);
  if (activation && value_mode == 1) lo *= 1e-3, hi *= 1e-3;
  if (activation && value_mode == 2) lo *= 100.0, hi *= 100.0;
  for (int64_t i = 0; i < elements; ++i) {
    const float v = activation && value_mode == 3 ? 0.0f : static_cast<float>(rng.uniform(lo, hi));
    if (m.dtype == MHC_DTYPE_BF16) {
      const uint16_t b = float_to_bf16(v);
      std::memcpy(p + 2 * i, &b, 2);
    } else {
      std::memcpy(p + 4 * i, &v, 4);
    }
  }
}

void set_pointer(unsigned char* args, size_t offset, const void* p) { std::memcpy(args + offset, &p, sizeof p); }

// ---------------------------------------------------------------------------------------------
// The descriptor
// ---------------------------------------------------------------------------------------------
struct DescCase {
  alignas(16) unsigned char raw[256];  // the struct, then struct_size's tail
  mhc_desc_t d;                         // the fields as set (raw holds them)
  uint32_t struct_size = sizeof(mhc_desc_t);
  bool tail_nonzero = false;
};

float special_float(Input& in) {
  const float v[] = {0.0f, -0.0f, -1e-6f, std::numeric_limits<float>::quiet_NaN(), INFINITY, -INFINITY,
                     1e-45f, FLT_MAX, -FLT_MAX, 1e-6f, 3.0f};
  return in.pick(v);
}

DescCase decode_desc(Input& in, mhc_op_t op, const OpInfo* info) {
  DescCase c;
  std::memset(c.raw, 0, sizeof c.raw);
  mhc_desc_t d = MHC_DESC_INIT;
  d.op = op;
  if (info) ORACLE(mhc_desc_init(&d, op) == MHC_STATUS_SUCCESS, "mhc_desc_init(op %d) failed", op);

  switch (in.u8() % 8) {  // tokens
    case 6: {
      const int64_t v[] = {0, -1, INT64_MIN, INT64_MAX, int64_t{1} << 40, 64, 33, int64_t{1} << 20};
      d.tokens = in.pick(v);
      break;
    }
    case 7: d.tokens = static_cast<int64_t>(in.u64()); break;
    default: d.tokens = 1 + in.u8() % 8;
  }
  switch (in.u8() % 8) {  // hidden
    case 6: {
      const int64_t v[] = {0, -1, INT64_MIN, INT64_MAX, int64_t{1} << 40, int64_t{1} << 23, 65, 4096, kMaxElements};
      d.hidden = in.pick(v);
      break;
    }
    case 7: d.hidden = static_cast<int64_t>(in.u64()); break;
    default: d.hidden = 1 + in.u8() % 64;
  }
  switch (in.u8() % 8) {  // n
    case 5: d.n = 1 + in.u8() % 32; break;
    case 6: {
      const int32_t v[] = {0, -1, 9, 33, INT32_MIN, INT32_MAX};
      d.n = in.pick(v);
      break;
    }
    case 7: d.n = static_cast<int32_t>(in.u32()); break;
    default: d.n = 1 + in.u8() % 8;
  }
  const bool shape_ok = d.hidden >= 1 && d.n >= 1 && d.n <= 32 && d.hidden <= kMaxElements / d.n;
  const int64_t G = shape_ok ? (int64_t{d.n} * d.hidden + 63) / 64 : 8;
  switch (in.u8() % 4) {  // num_splits
    case 1: d.num_splits = static_cast<int32_t>(1 + in.u8() % std::min<int64_t>(G, 255)); break;
    case 2: {
      const int64_t v[] = {-1, 1, G, G + 1, INT32_MAX, INT32_MIN};
      d.num_splits = static_cast<int32_t>(std::clamp<int64_t>(in.pick(v), INT32_MIN, INT32_MAX));
      break;
    }
    case 3: d.num_splits = static_cast<int32_t>(in.u32()); break;
    default: break;
  }
  switch (in.u8() % 4) {  // flags
    case 1: d.flags = MHC_DESC_FLAG_SPLIT_PARTIALS; break;
    case 2: {  // the boundary's modes (valid on A7/A8/A10 as their cards say), unknown bits
      const uint32_t v[] = {2u, 3u, 0x80000000u, 0xffffffffu, 4u, 6u, 5u, 8u};
      d.flags = in.pick(v);
      break;
    }
    case 3: d.flags = in.u32(); break;
    default: break;
  }
  switch (in.u8() % 4) {  // act_dtype
    case 1: d.act_dtype = MHC_DTYPE_BF16; break;
    case 2: d.act_dtype = MHC_DTYPE_FP32; break;
    case 3: {
      const int32_t v[] = {0, MHC_DTYPE_TF32, MHC_DTYPE_FP64, MHC_DTYPE_TF32X3, 6, -1, INT32_MAX};
      d.act_dtype = in.pick(v);
      break;
    }
    default: break;
  }
  switch (in.u8() % 4) {  // weight_precision
    case 1: d.weight_precision = MHC_DTYPE_FP32; break;
    case 2: {
      const int32_t v[] = {0, MHC_DTYPE_BF16, MHC_DTYPE_FP64, MHC_DTYPE_TF32X3, 6, -1};
      d.weight_precision = in.pick(v);
      break;
    }
    case 3: d.weight_precision = static_cast<int32_t>(in.u32()); break;
    default: break;
  }
  switch (in.u8() % 4) {  // sinkhorn_repeat
    case 1: d.sinkhorn_repeat = 1 + in.u8() % 40; break;
    case 2: {
      const int32_t v[] = {0, -1, 1001, INT32_MIN, INT32_MAX, 1000, 1};
      d.sinkhorn_repeat = in.pick(v);
      break;
    }
    case 3: d.sinkhorn_repeat = static_cast<int32_t>(in.u32()); break;
    default: break;
  }
  for (int k = in.u8() % 4; k > 0; --k) {  // the float fields
    float* f[] = {&d.rms_eps, &d.pre_eps, &d.sinkhorn_eps, &d.post_mult, &d.static_eps, &d.norm_eps, &d.norm_scale};
    float* target = f[in.u8() % 7];
    switch (in.u8() % 3) {
      case 0: *target = std::pow(10.0f, -static_cast<float>(in.u8() % 12)); break;
      case 1: *target = special_float(in); break;
      default: {
        const uint32_t bits = in.u32();
        std::memcpy(target, &bits, 4);
      }
    }
  }
  if (in.u8() % 8 == 7) d.reserved0 = in.u32() | 1u;
  std::memcpy(c.raw, &d, sizeof d);
  switch (in.u8() % 8) {  // struct_size
    case 5: {  // the 0.2 struct (72: no norm_eps, norm_scale), a cut one, larger ones with a zero tail
      const uint32_t v[] = {kDescMinSize, 76, sizeof(mhc_desc_t) + 8, 128, 256};
      c.struct_size = in.pick(v);
      break;
    }
    case 6: {
      const uint32_t v[] = {sizeof(mhc_desc_t) + 8, 128, 256};
      c.struct_size = in.pick(v);
      c.raw[sizeof(mhc_desc_t) + in.u8() % (c.struct_size - sizeof(mhc_desc_t))] = static_cast<unsigned char>(1 + in.u8() % 255);
      c.tail_nonzero = true;
      break;
    }
    case 7: {
      const uint32_t v[] = {0, 4, 8, 64, kDescMinSize - 1};
      c.struct_size = in.pick(v);
      break;
    }
    default: break;
  }
  d.struct_size = c.struct_size;
  std::memcpy(c.raw, &c.struct_size, 4);
  // What the library reads: struct_size bytes, zero-extended (a 0.2 caller's struct has no norm
  // fields; the bytes past it in raw are never read).
  if (c.struct_size < sizeof(mhc_desc_t) && c.struct_size >= kDescMinSize)
    std::memset(reinterpret_cast<unsigned char*>(&d) + c.struct_size, 0, sizeof(mhc_desc_t) - c.struct_size);
  c.d = d;
  note("desc{op=%d T=%" PRId64 " C=%" PRId64 " n=%d S=%d flags=%#x act=%d wp=%d rep=%d eps=%g,%g,%g,%g,%g norm=%g,%g "
       "res=%u size=%u%s}",
       d.op, d.tokens, d.hidden, d.n, d.num_splits, d.flags, d.act_dtype, d.weight_precision, d.sinkhorn_repeat,
       static_cast<double>(d.rms_eps), static_cast<double>(d.pre_eps), static_cast<double>(d.sinkhorn_eps),
       static_cast<double>(d.post_mult), static_cast<double>(d.static_eps), static_cast<double>(d.norm_eps),
       static_cast<double>(d.norm_scale), d.reserved0, c.struct_size,
       c.tail_nonzero ? " tail" : "");
  return c;
}

bool finite_positive(float v) { return v > 0.0f && std::isfinite(v); }

// The statuses the descriptor's faults give (docs/c_abi.md, status codes and mhc_desc_t).
void desc_faults(const DescCase& c, const OpInfo* op, Statuses& f) {
  const mhc_desc_t& d = c.d;
  if (c.struct_size < kDescMinSize || c.tail_nonzero) f.add(MHC_STATUS_BAD_PARAM_STRUCT_SIZE);
  if (op == nullptr) {
    f.add(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
    return;
  }
  if (d.reserved0 != 0) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  const int32_t n_max = op->family_b ? 32 : 8;
  bool shape_ok = true;
  if (d.tokens < 1 || d.hidden < 1 || d.n < 1 || d.n > n_max) shape_ok = false;
  if (shape_ok && (d.hidden > kMaxElements / d.n || d.tokens > kMaxElements / (d.n * d.hidden))) shape_ok = false;
  if (!shape_ok) f.add(MHC_STATUS_BAD_PARAM_SHAPE);
  // act_dtype: family A takes BF16, family B BF16 or FP32; another known dtype is VALUE.
  const bool act_known = d.act_dtype >= MHC_DTYPE_BF16 && d.act_dtype <= MHC_DTYPE_TF32X3;
  const bool act_ok = d.act_dtype == MHC_DTYPE_BF16 || (op->family_b && d.act_dtype == MHC_DTYPE_FP32);
  if (!act_ok) f.add(act_known ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
  const bool wp_known = d.weight_precision >= MHC_DTYPE_BF16 && d.weight_precision <= MHC_DTYPE_TF32X3;
  if (d.weight_precision != MHC_DTYPE_TF32 && d.weight_precision != MHC_DTYPE_FP32 &&
      d.weight_precision != MHC_DTYPE_TF32X3)
    f.add(wp_known ? MHC_STATUS_BAD_PARAM_VALUE : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
  if (d.flags & ~(MHC_DESC_FLAG_SPLIT_PARTIALS | kShifted | kNorm)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  const bool partials = (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS) != 0;
  if (partials && !op->partials_flag) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((d.flags & kShifted) && !(op->modes & kShifted)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((d.flags & kNorm) && !(op->modes & kNorm)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((d.flags & kNorm) && (op->modes & kNorm) &&
      (!finite_positive(d.norm_eps) || !std::isfinite(d.norm_scale) || d.norm_scale == 0.0f))
    f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kSinkhorn) && (d.sinkhorn_repeat < 1 || d.sinkhorn_repeat > 1000)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kRmsEps) && !finite_positive(d.rms_eps)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kPreEps) && !finite_positive(d.pre_eps)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kSinkhornEps) && !finite_positive(d.sinkhorn_eps)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kPostMult) && !std::isfinite(d.post_mult)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if ((op->uses & kStaticEps) && !finite_positive(d.static_eps)) f.add(MHC_STATUS_BAD_PARAM_VALUE);
  if (d.n >= 1 && d.n <= n_max && d.hidden >= 1 && d.hidden <= kMaxElements / d.n) {
    const int64_t G = (int64_t{d.n} * d.hidden + 63) / 64;
    bool splits_ok;
    if (op->split_k)
      splits_ok = d.num_splits >= 0 && d.num_splits <= G;
    else if (op->partial_count)
      splits_ok = partials ? d.num_splits >= 1 && d.num_splits <= G : d.num_splits == 0 || d.num_splits == 1;
    else
      splits_ok = d.num_splits == 0;
    if (!splits_ok) f.add(MHC_STATUS_BAD_PARAM_SHAPE);
  }
}

// ---------------------------------------------------------------------------------------------
// The preference
// ---------------------------------------------------------------------------------------------
bool g_cuda_device = false;  // a CUDA device is usable (a replay on a GPU machine): HOST only

struct PrefCase {
  alignas(16) unsigned char raw[64];
  mhc_preference_t p;
  bool null = false;
  uint32_t struct_size = sizeof(mhc_preference_t);
  bool tail_nonzero = false;
};

PrefCase decode_pref(Input& in, mhc_op_t op) {
  PrefCase c;
  std::memset(c.raw, 0, sizeof c.raw);
  mhc_preference_t p = MHC_PREFERENCE_INIT;
  std::memset(&p, 0xa5, sizeof p);  // mhc_preference_init must write every field
  ORACLE(mhc_preference_init(&p) == MHC_STATUS_SUCCESS, "mhc_preference_init failed");
  const mhc_preference_t init = MHC_PREFERENCE_INIT;
  ORACLE(std::memcmp(&p, &init, sizeof p) == 0, "mhc_preference_init != MHC_PREFERENCE_INIT");
  p.backends = MHC_BACKEND_HOST;
  const uint8_t mode = in.u8() % 8;
  if (mode == 4 && !g_cuda_device) {
    c.null = true;
  } else if (mode == 5 && !g_cuda_device) {
    p.backends = MHC_BACKEND_ANY;
  } else if (mode >= 6) {
    const mhc_backend_mask_t backends[] = {MHC_BACKEND_HOST, MHC_BACKEND_ANY, MHC_BACKEND_CUDA, 0u, 0x4u, 0x6u, 0xffffffffu};
    const mhc_guarantee_flags_t required[] = {0u, 0x1u, 0x4u, 0xfu, 0x10u, 0x80000000u};
    const mhc_sku_t forced[] = {MHC_SKU_NONE, host_sku(op), host_sku(op == 1 ? 2 : 1), cuda_sku(op), MHC_SKU_SM90_PRE,
                                0xdeadbeefu, 0x00010b00u};
    const uint64_t cap[] = {UINT64_MAX, 0, 1};
    p.backends = in.pick(backends);
    p.required = in.pick(required);
    p.forced_sku = in.pick(forced);
    p.max_workspace_bytes = in.pick(cap);
    if (g_cuda_device) {  // host plans only, whatever the input says
      if (p.backends & MHC_BACKEND_CUDA) p.backends = MHC_BACKEND_HOST;
      if ((p.forced_sku >> 16) != 1) p.forced_sku = MHC_SKU_NONE;
    }
    switch (in.u8() % 6) {
      case 1: c.struct_size = 32; break;
      case 2:
        c.struct_size = 32;
        c.raw[sizeof(mhc_preference_t) + in.u8() % 8] = 1;
        c.tail_nonzero = true;
        break;
      case 3: c.struct_size = 16; break;
      case 4: c.struct_size = 0; break;
      case 5: c.struct_size = 64; break;
      default: break;
    }
  }
  p.struct_size = c.struct_size;
  std::memcpy(c.raw, &p, sizeof p);
  c.p = p;
  if (c.null)
    note("pref=NULL");
  else
    note("pref{backends=%#x required=%#x forced=%#x cap=%" PRIu64 " size=%u%s}", p.backends, p.required,
         p.forced_sku, p.max_workspace_bytes, c.struct_size, c.tail_nonzero ? " tail" : "");
  return c;
}

void pref_faults(const PrefCase& c, const OpInfo* op, Statuses& f) {
  if (c.null) return;  // MHC_PREFERENCE_INIT: ANY, which is the host backend without a device
  const mhc_preference_t& p = c.p;
  if (c.struct_size < sizeof(mhc_preference_t) || c.tail_nonzero) f.add(MHC_STATUS_BAD_PARAM_STRUCT_SIZE);
  if (p.backends == 0 || (p.backends & ~MHC_BACKEND_ANY)) f.add(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
  if (p.required & ~0xfu) f.add(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
  const bool forced = p.forced_sku != MHC_SKU_NONE;
  const bool forced_known = forced && mhc_sku_name(p.forced_sku) != nullptr;
  if (forced && !forced_known) f.add(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
  const bool forced_host = (p.forced_sku >> 16) == 1;
  if (forced_known) {
    const mhc_op_t forced_op = static_cast<mhc_op_t>((p.forced_sku >> 8) & 0xffu);
    if (op && forced_op != op->id) f.add(MHC_STATUS_NOT_SUPPORTED_SKU);
    if (!(p.backends & (forced_host ? MHC_BACKEND_HOST : MHC_BACKEND_CUDA))) f.add(MHC_STATUS_NOT_SUPPORTED_SKU);
    if (!forced_host && !g_cuda_device) f.add(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE);
  }
  if (p.backends == MHC_BACKEND_CUDA && !forced && !g_cuda_device) f.add(MHC_STATUS_NOT_SUPPORTED_NO_DEVICE);
  if (p.backends == MHC_BACKEND_CUDA && forced_known && forced_host) f.add(MHC_STATUS_NOT_SUPPORTED_SKU);
}

// ---------------------------------------------------------------------------------------------
// Plan queries
// ---------------------------------------------------------------------------------------------
void check_null_plan_calls() {
  mhc_args_t a;
  mhc_args_init(&a);
  size_t bytes = 7;
  mhc_sku_t sku = 7;
  int32_t count = 7;
  mhc_desc_t d;
  d.struct_size = sizeof d;
  mhc_precision_guarantee_t g;
  g.struct_size = sizeof g;
  mhc_tensor_info_t info;
  info.struct_size = sizeof info;
  expect("mhc_plan_can_implement", mhc_plan_can_implement(nullptr, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_workspace_size", mhc_plan_workspace_size(nullptr, &bytes), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_run", mhc_plan_run(nullptr, nullptr, nullptr, 0, &a), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_get_sku", mhc_plan_get_sku(nullptr, &sku), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_get_desc", mhc_plan_get_desc(nullptr, &d), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_get_precision_guarantee", mhc_plan_get_precision_guarantee(nullptr, &g),
         MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_get_tensor_count", mhc_plan_get_tensor_count(nullptr, &count), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  expect("mhc_plan_get_tensor_info", mhc_plan_get_tensor_info(nullptr, 0, &info), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  ORACLE(bytes == 7 && sku == 7 && count == 7, "a call on a NULL plan wrote its out-pointer");
  expect("mhc_plan_destroy", mhc_plan_destroy(nullptr), MHC_STATUS_SUCCESS);
}

// An out-struct call with caller struct_size `size` in a 256-byte buffer: on success the library's
// bytes, zeros up to size, the caller's size kept, nothing past size; on failure nothing written.
template <typename F>
mhc_status_t out_struct_call(const char* fn, uint32_t size, size_t lib_size, unsigned char* out, F call) {
  unsigned char raw[256 + 16];
  std::memset(raw, 0xa5, sizeof raw);
  std::memcpy(raw, &size, 4);
  unsigned char before[sizeof raw];
  std::memcpy(before, raw, sizeof raw);
  const mhc_status_t s = call(raw);
  if (s != MHC_STATUS_SUCCESS) {
    ORACLE(std::memcmp(raw, before, sizeof raw) == 0, "%s failed and wrote its out-struct", fn);
    return s;
  }
  uint32_t kept;
  std::memcpy(&kept, raw, 4);
  ORACLE(kept == size, "%s changed struct_size %u to %u", fn, size, kept);
  for (size_t i = lib_size; i < size; ++i) ORACLE(raw[i] == 0, "%s: byte %zu past its struct not zeroed", fn, i);
  for (size_t i = size; i < sizeof raw; ++i)
    if (i >= lib_size) ORACLE(raw[i] == 0xa5, "%s wrote byte %zu past struct_size %u", fn, i, size);
  for (size_t i = size; i < lib_size; ++i)  // an older caller's smaller struct
    ORACLE(raw[i] == 0xa5, "%s wrote byte %zu past struct_size %u (an older, smaller struct)", fn, i, size);
  std::memcpy(out, raw, std::min<size_t>(size, lib_size));
  return s;
}

// A caller struct_size for an out-struct: the library's, the smallest published (min_size: an
// older caller's; the library's own for structs that never grew), larger ones, too small ones.
uint32_t pick_out_size(Input& in, size_t lib_size, size_t min_size) {
  const uint32_t sizes[] = {static_cast<uint32_t>(lib_size), static_cast<uint32_t>(min_size),
                            static_cast<uint32_t>(lib_size + 8), 256u, static_cast<uint32_t>(min_size - 1), 0u};
  return in.pick(sizes);
}
uint32_t pick_out_size(Input& in, size_t lib_size) { return pick_out_size(in, lib_size, lib_size); }

mhc_status_t out_size_status(uint32_t size, size_t min_size) {
  return size < min_size ? MHC_STATUS_BAD_PARAM_STRUCT_SIZE : MHC_STATUS_SUCCESS;
}

// The plan's queries; returns the plan's descriptor (num_splits resolved) and its tensors.
void check_plan_queries(Input& in, mhc_plan_t plan, const DescCase& dc, const PrefCase& pc, const OpInfo& op,
                        mhc_desc_t* resolved, std::vector<mhc_tensor_info_t>* tensors) {
  const mhc_desc_t& d = dc.d;
  const bool batch_invariant = !pc.null && (pc.p.required & MHC_GUARANTEE_BATCH_INVARIANT);

  mhc_sku_t sku = 0;
  expect("mhc_plan_get_sku", mhc_plan_get_sku(plan, &sku), MHC_STATUS_SUCCESS);
  ORACLE(sku == host_sku(op.id), "mhc_plan_get_sku = %#x, expected the host SKU %#x", sku, host_sku(op.id));
  const char* name = mhc_sku_name(sku);
  ORACLE(name && std::strncmp(name, "host_fp64_", 10) == 0, "mhc_sku_name(%#x) = %s", sku, name ? name : "(null)");
  expect("mhc_plan_get_sku", mhc_plan_get_sku(plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);

  size_t ws = 12345;
  expect("mhc_plan_workspace_size", mhc_plan_workspace_size(plan, &ws), MHC_STATUS_SUCCESS);
  ORACLE(ws == 0, "host plan workspace_size = %zu", ws);
  expect("mhc_plan_workspace_size", mhc_plan_workspace_size(plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);

  // get_desc: the descriptor as given, num_splits resolved (docs/numerics.md, split-K).
  {
    const uint32_t size = pick_out_size(in, sizeof(mhc_desc_t), kDescMinSize);
    mhc_desc_t got{};
    const mhc_status_t s = out_struct_call("mhc_plan_get_desc", size, sizeof got, reinterpret_cast<unsigned char*>(&got),
                                           [&](unsigned char* raw) { return mhc_plan_get_desc(plan, reinterpret_cast<mhc_desc_t*>(raw)); });
    expect("mhc_plan_get_desc", s, out_size_status(size, kDescMinSize));
    mhc_desc_t full{};
    full.struct_size = sizeof full;
    expect("mhc_plan_get_desc", mhc_plan_get_desc(plan, &full), MHC_STATUS_SUCCESS);
    if (s == MHC_STATUS_SUCCESS) {  // the bytes both know
      got.struct_size = full.struct_size;
      ORACLE(std::memcmp(&got, &full, std::min<size_t>(size, sizeof got)) == 0,
             "mhc_plan_get_desc differs with struct_size %u", size);
    }
    const int64_t G = (int64_t{d.n} * d.hidden + 63) / 64;
    int32_t S = 0;
    if (op.split_k)
      S = d.num_splits ? d.num_splits
                       : static_cast<int32_t>(std::min<int64_t>(
                             batch_invariant ? std::clamp<int64_t>(G / 8, 1, 64) : (d.tokens <= 64 ? 32 : 16), G));
    else if (op.partial_count && (d.flags & MHC_DESC_FLAG_SPLIT_PARTIALS))
      S = d.num_splits;
    mhc_desc_t want_desc = d;
    want_desc.struct_size = sizeof(mhc_desc_t);
    want_desc.num_splits = S;
    ORACLE(std::memcmp(&full, &want_desc, sizeof full) == 0,
           "mhc_plan_get_desc: not the descriptor given with num_splits %d (got num_splits %d)", S, full.num_splits);
    *resolved = full;
  }

  // The precision guarantee: fp64, every guarantee (batch invariance unless S follows T).
  {
    const uint32_t size = pick_out_size(in, sizeof(mhc_precision_guarantee_t));
    mhc_precision_guarantee_t g{};
    const mhc_status_t s =
        out_struct_call("mhc_plan_get_precision_guarantee", size, sizeof g, reinterpret_cast<unsigned char*>(&g),
                        [&](unsigned char* raw) {
                          return mhc_plan_get_precision_guarantee(plan, reinterpret_cast<mhc_precision_guarantee_t*>(raw));
                        });
    expect("mhc_plan_get_precision_guarantee", s, out_size_status(size, sizeof g));
    if (s == MHC_STATUS_SUCCESS) {
      const bool s_from_t = op.split_k && d.num_splits == 0 && !batch_invariant;
      const mhc_guarantee_flags_t flags = MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE |
                                          MHC_GUARANTEE_NO_ATOMICS | (s_from_t ? 0u : MHC_GUARANTEE_BATCH_INVARIANT);
      ORACLE(g.math_precision == MHC_DTYPE_FP64 && g.accumulator == MHC_DTYPE_FP64 && g.flags == flags,
             "host guarantee: math %d acc %d flags %#x, expected fp64 fp64 %#x", g.math_precision, g.accumulator,
             g.flags, flags);
    }
  }

  // The tensors: the op's table at T = desc.tokens.
  int32_t count = -1;
  expect("mhc_plan_get_tensor_count", mhc_plan_get_tensor_count(plan, &count), MHC_STATUS_SUCCESS);
  expect("mhc_plan_get_tensor_count", mhc_plan_get_tensor_count(plan, nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);
  const std::vector<TensorModel> model = tensor_model(*resolved);  // the op's table in the plan's mode
  ORACLE(!model.empty(), "harness: no tensor model of op %d", op.id);
  ORACLE(count == static_cast<int32_t>(model.size()), "mhc_plan_get_tensor_count = %d, op %d flags %#x has %zu tensors",
         count, op.id, resolved->flags, model.size());
  tensors->clear();
  for (int32_t i = 0; i < count; ++i) {
    mhc_tensor_info_t t{};
    t.struct_size = sizeof t;
    expect("mhc_plan_get_tensor_info", mhc_plan_get_tensor_info(plan, i, &t), MHC_STATUS_SUCCESS);
    const TensorModel& m = model[i];
    bool ok = t.struct_size == sizeof t && t.field && std::strcmp(t.field, m.field) == 0 &&
              t.field_offset == m.offset && t.role == m.role && t.dtype == m.dtype && t.required == m.required &&
              t.rank == static_cast<int32_t>(m.shape.size()) && t.token_dim == m.token_dim && t.reserved0 == 0;
    for (int k = 0; ok && k < MHC_TENSOR_MAX_RANK; ++k)
      ok = t.shape[k] == (k < t.rank ? m.shape[k] : 0);
    ORACLE(ok, "mhc_plan_get_tensor_info(%d) = {%s off %u role %d dtype %d req %d rank %d [%" PRId64 ",%" PRId64
               ",%" PRId64 ",%" PRId64 "] tdim %d}, expected {%s off %zu role %d dtype %d req %d rank %zu tdim %d}",
           i, t.field ? t.field : "(null)", t.field_offset, t.role, t.dtype, t.required, t.rank, t.shape[0],
           t.shape[1], t.shape[2], t.shape[3], t.token_dim, m.field, m.offset, m.role, m.dtype, m.required,
           m.shape.size(), m.token_dim);
    tensors->push_back(t);
  }
  // One call with a wrong index, struct_size or NULL.
  {
    int32_t index = static_cast<int32_t>(in.u8()) % count;
    bool bad_index = false;
    switch (in.u8() % 4) {
      case 1: {
        const int32_t bad[] = {-1, count, count + 1, INT32_MAX, INT32_MIN};
        index = in.pick(bad);
        bad_index = true;
        break;
      }
      case 2:
        expect("mhc_plan_get_tensor_info", mhc_plan_get_tensor_info(plan, index, nullptr),
               MHC_STATUS_BAD_PARAM_NULL_POINTER);
        return;
      default: break;
    }
    const uint32_t size = pick_out_size(in, sizeof(mhc_tensor_info_t));
    Statuses want;
    if (bad_index) want.add(MHC_STATUS_BAD_PARAM_VALUE);
    if (size < sizeof(mhc_tensor_info_t)) want.add(MHC_STATUS_BAD_PARAM_STRUCT_SIZE);
    if (want.empty()) want.add(MHC_STATUS_SUCCESS);
    mhc_tensor_info_t t{};
    const mhc_status_t s = out_struct_call(
        "mhc_plan_get_tensor_info", size, sizeof t, reinterpret_cast<unsigned char*>(&t),
        [&](unsigned char* raw) { return mhc_plan_get_tensor_info(plan, index, reinterpret_cast<mhc_tensor_info_t*>(raw)); });
    expect("mhc_plan_get_tensor_info", s, want);
    if (s == MHC_STATUS_SUCCESS) {
      t.struct_size = sizeof t;
      ORACLE(std::memcmp(&t, &(*tensors)[index], sizeof t) == 0, "mhc_plan_get_tensor_info(%d) differs with struct_size %u",
             index, size);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Runs
// ---------------------------------------------------------------------------------------------
struct TensorBuf {
  TensorModel m;
  Buffer buf;           // the allocation: elements at T_alloc (plus 4 bytes when misaligned)
  int64_t alloc_elems;  // at T_alloc
  int64_t run_elems;    // at this run's T
  const void* ptr;      // what goes into args
  int mode;             // 0 real, 1 NULL, 2 misaligned, 3 alias
};

// One round of arguments for `plan`.
void run_round(Input& in, mhc_plan_t plan, const mhc_desc_t& pd, const OpInfo& op) {
  const int64_t T_desc = pd.tokens;
  const std::vector<TensorModel> model = tensor_model(pd);
  note("round{");

  // args.tokens and args.struct_size
  int64_t tokens = 0;
  switch (in.u8() % 8) {
    case 3:
    case 4: tokens = 1 + static_cast<int64_t>(in.u64() % static_cast<uint64_t>(T_desc)); break;
    case 5: tokens = T_desc; break;
    case 6: {
      const int64_t bad[] = {-1, T_desc == INT64_MAX ? -2 : T_desc + 1, INT64_MIN, INT64_MAX, -T_desc};
      tokens = in.pick(bad);
      break;
    }
    case 7: tokens = static_cast<int64_t>(in.u64()); break;
    default: break;
  }
  uint32_t args_size = sizeof(mhc_args_t);
  bool args_tail = false;
  alignas(16) unsigned char args_raw[kArgsRaw];
  std::memset(args_raw, 0, sizeof args_raw);
  switch (in.u8() % 8) {
    case 5: args_size = kArgsMinSize; break;  // a 0.1 caller: tokens is not read
    case 6: {  // larger (with a zero or a non-zero tail), a 0.3 caller (no gradient fields), a 0.2
               // caller (no pre_mix, out_pre_mix), or a 0.4 caller (no family B gradients)
      const uint32_t v[] = {sizeof(mhc_args_t) + 8, kArgs03Size, sizeof(mhc_args_t) + 8, kArgs02Size, kArgs04Size};
      const int k = in.u8() % 5;
      args_size = v[k];
      if (k == 2) {
        args_raw[sizeof(mhc_args_t) + in.u8() % 8] = 1;
        args_tail = true;
      }
      break;
    }
    case 7: {
      const uint32_t v[] = {0, 8, 100, kArgsMinSize - 1};
      args_size = in.pick(v);
      break;
    }
    default: break;
  }
  const uint32_t reserved0 = in.u8() % 8 == 7 ? (in.u32() | 1u) : 0u;
  const bool size_fault = args_size < kArgsMinSize || args_tail;
  const bool tokens_read = args_size >= kArgs02Size;
  // A pointer field past a smaller (older) struct_size is not read: it is NULL to the library.
  auto field_read = [&](size_t offset) { return offset + sizeof(void*) <= args_size; };
  const bool tokens_fault = tokens_read && !(tokens == 0 || (tokens >= 1 && tokens <= T_desc));
  const int64_t T_run = !tokens_read || tokens == 0 || tokens_fault ? T_desc : tokens;

  // Buffers: sized for T_run (or for desc.tokens: a larger buffer is allowed), within limits.
  int64_t T_alloc = T_run;
  if (T_run < T_desc && in.u8() % 4 == 3) T_alloc = T_desc;
  double bytes_alloc = 0;
  for (const TensorModel& m : model)
    bytes_alloc += static_cast<double>(elements_at(m.shape, m.token_dim, T_alloc)) * static_cast<double>(elem_size(m.dtype));
  // Rough multiply-adds: T K (mixes + 2), plus Sinkhorn n^2 repeat per token (family A) or once.
  const double K = static_cast<double>(pd.n) * static_cast<double>(pd.hidden);
  const double mixes = op.split_k || op.partial_count || (op.uses & kSinkhorn) ? pd.n * (pd.n + 2.0) : pd.n;
  const double sinkhorn = (op.uses & kSinkhorn) ? 4.0 * pd.n * pd.n * std::max(pd.sinkhorn_repeat, 1) : 0.0;
  const double work = static_cast<double>(T_run) * K * (mixes + 2.0) + (op.family_b ? 1.0 : static_cast<double>(T_run)) * sinkhorn;
  const bool buffers = bytes_alloc <= static_cast<double>(kMaxTensorBytes) && work <= kMaxWork;
  const int value_mode = in.u8() % 4;
  Rng rng{in.u32()};

  std::vector<TensorBuf> ts;
  for (size_t i = 0; i < model.size(); ++i) {
    TensorBuf t{model[i], Buffer(), 0, 0, nullptr, 0};
    t.alloc_elems = elements_at(t.m.shape, t.m.token_dim, T_alloc);
    t.run_elems = elements_at(t.m.shape, t.m.token_dim, T_run);
    t.mode = buffers ? 0 : 1;
    if (buffers) {
      const uint8_t b = in.u8() % 16;
      if (b == 12) t.mode = 1;
      if (b == 13) t.mode = 2;
      if (b == 14 && t.m.role == MHC_TENSOR_ROLE_OUTPUT) t.mode = 3;
    }
    const size_t bytes = static_cast<size_t>(t.alloc_elems) * elem_size(t.m.dtype);
    if (buffers) t.buf = Buffer(bytes + (t.mode == 2 ? 4 : 0));
    ts.push_back(std::move(t));
  }
  // Pointers: aliases point into another tensor whose own pointer is real (an overlap for sure).
  for (TensorBuf& t : ts) {
    if (!field_read(t.m.offset) && !size_fault) t.mode = 1;  // the 0.2 struct has no such field
    if (t.mode == 0) t.ptr = t.buf.data();
    if (t.mode == 2) t.ptr = t.buf.data() + (in.u8() % 2 ? 1 : (elem_size(t.m.dtype) == 4 ? 2 : 1));
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i].mode != 3) continue;
    const size_t j = (i + 1 + in.u8() % ts.size()) % ts.size();
    if (j == i || ts[j].mode != 0) {
      ts[i].mode = 0;
      ts[i].ptr = ts[i].buf.data();
      continue;
    }
    const size_t jbytes = static_cast<size_t>(ts[j].run_elems) * elem_size(ts[j].m.dtype);
    ts[i].ptr = ts[j].buf.data() + (in.u8() % 2 ? 0 : jbytes / 2 / 4 * 4);
  }
  // An unused field set.
  Buffer dummy(64);
  std::memset(dummy.data(), 0x3c, dummy.size);
  size_t unused_field = SIZE_MAX;
  if (in.u8() % 8 == 7) {
    const size_t f = kPointerFields[in.u8() % (sizeof kPointerFields / sizeof kPointerFields[0])];
    bool used = false;
    for (const TensorModel& m : model) used |= m.offset == f;
    if (!used && field_read(f)) unused_field = f;
  }
  // Workspace and stream.
  Buffer ws_mem(512 + 256);
  unsigned char* ws_aligned = ws_mem.data() + (256 - reinterpret_cast<uintptr_t>(ws_mem.data()) % 256) % 256;
  void* workspace = nullptr;
  size_t ws_bytes = 0;
  bool ws_fault = false;
  switch (in.u8() % 8) {
    case 4: workspace = ws_aligned, ws_bytes = 256; break;
    case 5: workspace = ws_aligned, ws_bytes = 0; break;
    case 6: ws_bytes = 1 + in.u8(), ws_fault = true; break;
    case 7: workspace = ws_aligned + 8, ws_bytes = 64, ws_fault = true; break;
    default: break;
  }
  std::memset(ws_mem.data(), 0x5a, ws_mem.size);
  void* stream = in.u8() % 4 == 3 ? reinterpret_cast<void*>(uintptr_t{0x1000}) : nullptr;  // host SKUs ignore it
  const bool null_args = in.u8() % 32 == 31;

  // Values: finite inputs, poisoned outputs.
  for (TensorBuf& t : ts) {
    if (!t.buf.data()) continue;
    if (t.m.role == MHC_TENSOR_ROLE_INPUT)
      fill_input(t.m, t.buf.data(), static_cast<int64_t>(t.buf.size / elem_size(t.m.dtype)), static_cast<int64_t>(K), rng,
                 value_mode);
    else
      poison(t.buf.data(), t.buf.size, t.m.dtype);
  }
  mhc_args_t a;
  std::memset(&a, 0, sizeof a);
  a.struct_size = args_size;
  a.reserved0 = reserved0;
  a.tokens = tokens;
  std::memcpy(args_raw, &a, sizeof a);
  for (const TensorBuf& t : ts) set_pointer(args_raw, t.m.offset, t.ptr);
  if (unused_field != SIZE_MAX) set_pointer(args_raw, unused_field, dummy.data());
  const mhc_args_t* args = null_args ? nullptr : reinterpret_cast<const mhc_args_t*>(args_raw);

  // The status the documented rules give, in their order.
  mhc_status_t want = MHC_STATUS_SUCCESS;
  const char* why = "valid";
  if (null_args) {
    want = MHC_STATUS_BAD_PARAM_NULL_POINTER, why = "args NULL";
  } else if (size_fault) {
    want = MHC_STATUS_BAD_PARAM_STRUCT_SIZE, why = "args->struct_size";
  } else if (reserved0) {
    want = MHC_STATUS_BAD_PARAM_VALUE, why = "args->reserved0";
  } else if (tokens_fault) {
    want = MHC_STATUS_BAD_PARAM_SHAPE, why = "args->tokens";
  } else if (unused_field != SIZE_MAX) {
    want = MHC_STATUS_BAD_PARAM_VALUE, why = "unused field set";
  } else {
    for (const TensorBuf& t : ts) {
      if (t.ptr == nullptr && t.m.required) {
        want = MHC_STATUS_BAD_PARAM_NULL_POINTER, why = t.m.field;
        break;
      }
      if (t.ptr && reinterpret_cast<uintptr_t>(t.ptr) % elem_size(t.m.dtype) != 0) {
        want = MHC_STATUS_BAD_PARAM_MISALIGNED, why = t.m.field;
        break;
      }
    }
    if (want == MHC_STATUS_SUCCESS) {
      for (size_t i = 0; i < ts.size() && want == MHC_STATUS_SUCCESS; ++i) {
        if (ts[i].m.role != MHC_TENSOR_ROLE_OUTPUT || !ts[i].ptr) continue;
        const uintptr_t o0 = reinterpret_cast<uintptr_t>(ts[i].ptr);
        const uintptr_t o1 = o0 + static_cast<uintptr_t>(ts[i].run_elems) * elem_size(ts[i].m.dtype);
        for (size_t j = 0; j < ts.size(); ++j) {
          if (j == i || !ts[j].ptr) continue;
          const uintptr_t b0 = reinterpret_cast<uintptr_t>(ts[j].ptr);
          const uintptr_t b1 = b0 + static_cast<uintptr_t>(ts[j].run_elems) * elem_size(ts[j].m.dtype);
          if (o0 < b1 && b0 < o1) {
            want = MHC_STATUS_BAD_PARAM_VALUE, why = "overlap";
            break;
          }
        }
      }
    }
  }
  note("tokens=%" PRId64 " size=%u%s res=%u T_run=%" PRId64 " T_alloc=%" PRId64 " buffers=%d values=%d ws=%p/%zu%s "
       "stream=%p unused=%lld want=%d (%s) modes=",
       tokens, args_size, args_tail ? " tail" : "", reserved0, T_run, T_alloc, buffers, value_mode, workspace,
       ws_bytes, ws_fault ? " fault" : "", stream, unused_field == SIZE_MAX ? -1LL : static_cast<long long>(unused_field),
       want, why);
  for (const TensorBuf& t : ts) note("%s:%d", t.m.field, t.mode);
  note("}");

  auto snapshot = [&] {
    std::vector<std::vector<unsigned char>> s;
    for (const TensorBuf& t : ts) s.push_back(t.buf.snapshot());
    s.push_back(dummy.snapshot());
    s.push_back(ws_mem.snapshot());
    s.push_back(std::vector<unsigned char>(args_raw, args_raw + sizeof args_raw));
    return s;
  };
  const auto before = snapshot();
  auto unchanged = [&](const char* what) {
    const auto now = snapshot();
    for (size_t i = 0; i < now.size(); ++i)
      ORACLE(now[i] == before[i], "%s wrote caller memory (buffer %zu: %s)", what, i,
             i < ts.size() ? ts[i].m.field : i == ts.size() ? "unused-field dummy" : i == ts.size() + 1 ? "workspace" : "args");
  };

  // can_implement: exactly the rule's status, never a write.
  expect("mhc_plan_can_implement", mhc_plan_can_implement(plan, args), want);
  unchanged("mhc_plan_can_implement");

  // run: the same, or the workspace's status (its place among the rules is not documented).
  Statuses run_want;
  if (want != MHC_STATUS_SUCCESS) run_want.add(want);
  if (ws_fault) run_want.add(MHC_STATUS_BAD_PARAM_WORKSPACE);
  if (run_want.empty()) run_want.add(MHC_STATUS_SUCCESS);
  const mhc_status_t s = mhc_plan_run(plan, stream, workspace, ws_bytes, args);
  expect("mhc_plan_run", s, run_want);
  if (s != MHC_STATUS_SUCCESS) {
    unchanged("a failing mhc_plan_run");
    return;
  }

  // Success: inputs and args as they were, every output element of this run written, the rest
  // of an output's buffer (rows past T_run) untouched.
  const auto after = snapshot();
  for (size_t i = 0; i < ts.size(); ++i) {
    const TensorBuf& t = ts[i];
    if (t.m.role == MHC_TENSOR_ROLE_INPUT || !t.ptr) {
      ORACLE(after[i] == before[i], "mhc_plan_run wrote %s, which is %s", t.m.field, t.ptr ? "an input" : "not set");
      continue;
    }
    const size_t es = elem_size(t.m.dtype);
    for (int64_t e = 0; e < t.run_elems; ++e)
      ORACLE(!is_poison(t.buf.data() + e * es, t.m.dtype), "mhc_plan_run left %s[%" PRId64 "] of %" PRId64 " unwritten",
             t.m.field, e, t.run_elems);
    for (int64_t e = t.run_elems; e < t.alloc_elems; ++e)
      ORACLE(is_poison(t.buf.data() + e * es, t.m.dtype),
             "mhc_plan_run wrote %s[%" PRId64 "], past the %" PRId64 " elements of T = %" PRId64, t.m.field, e,
             t.run_elems, T_run);
  }
  for (size_t i = ts.size(); i < after.size(); ++i)
    if (i != ts.size() + 1)  // the workspace is the plan's to use
      ORACLE(after[i] == before[i], "mhc_plan_run changed %s", i == ts.size() ? "the unused-field dummy" : "args");

  // Determinism: re-poisoned outputs, the same bits.
  for (TensorBuf& t : ts)
    if (t.m.role == MHC_TENSOR_ROLE_OUTPUT && t.ptr) poison(t.buf.data(), t.buf.size, t.m.dtype);
  expect("mhc_plan_run", mhc_plan_run(plan, stream, workspace, ws_bytes, args), MHC_STATUS_SUCCESS);
  const auto again = snapshot();
  for (size_t i = 0; i < ts.size(); ++i)
    ORACLE(again[i] == after[i], "two runs on the same inputs differ in %s", ts[i].m.field);

  // Run-time T: the rows of a run with T_run < desc.tokens are those of the full run.
  if (T_run < T_desc) {
    double full_bytes = 0;
    for (const TensorModel& m : model)
      full_bytes += static_cast<double>(elements_at(m.shape, m.token_dim, T_desc)) * static_cast<double>(elem_size(m.dtype));
    const double full_work = work / static_cast<double>(T_run) * static_cast<double>(T_desc);
    if (full_bytes > static_cast<double>(kMaxTensorBytes) || full_work > kMaxWork) return;
    std::vector<Buffer> full;
    alignas(16) unsigned char full_args[kArgsRaw];
    std::memset(full_args, 0, sizeof full_args);
    mhc_args_t fa;
    mhc_args_init(&fa);
    std::memcpy(full_args, &fa, sizeof fa);
    for (const TensorBuf& t : ts) {
      full.emplace_back(static_cast<size_t>(elements_at(t.m.shape, t.m.token_dim, T_desc)) * elem_size(t.m.dtype));
      Buffer& f = full.back();
      if (t.m.role == MHC_TENSOR_ROLE_INPUT) {
        fill_input(t.m, f.data(), static_cast<int64_t>(f.size / elem_size(t.m.dtype)), static_cast<int64_t>(K), rng, value_mode);
        copy_rows(t.m, static_cast<const unsigned char*>(t.ptr), T_run, f.data(), T_desc, T_run);
      } else {
        poison(f.data(), f.size, t.m.dtype);
      }
      if (t.ptr) set_pointer(full_args, t.m.offset, f.data());
    }
    expect("mhc_plan_run", mhc_plan_run(plan, nullptr, nullptr, 0, reinterpret_cast<const mhc_args_t*>(full_args)),
           MHC_STATUS_SUCCESS);
    for (size_t i = 0; i < ts.size(); ++i) {
      const TensorBuf& t = ts[i];
      // An output without T (a backward op's weight gradient) sums the run's tokens: no rows.
      if (t.m.role != MHC_TENSOR_ROLE_OUTPUT || !t.ptr || t.m.token_dim < 0) continue;
      Buffer rows(static_cast<size_t>(t.run_elems) * elem_size(t.m.dtype));
      copy_rows(t.m, full[i].data(), T_desc, rows.data(), T_run, T_run);
      ORACLE(std::memcmp(rows.data(), t.buf.data(), rows.size) == 0,
             "%s of a run with args.tokens = %" PRId64 " differs from the first rows of the run with desc.tokens = %" PRId64,
             t.m.field, T_run, T_desc);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Library-level calls (no plan)
// ---------------------------------------------------------------------------------------------
void check_library(Input& in) {
  ORACLE(mhc_get_version() == MHC_VERSION, "mhc_get_version");
  ORACLE(mhc_get_abi_version() == MHC_ABI_VERSION, "mhc_get_abi_version");
  char version[32];
  std::snprintf(version, sizeof version, "%d.%d.%d", MHC_VERSION_MAJOR, MHC_VERSION_MINOR, MHC_VERSION_PATCH);
  ORACLE(std::strcmp(mhc_get_version_string(), version) == 0, "mhc_get_version_string");
  const uint32_t abi = in.u8() % 4 == 3 ? in.u32() : MHC_ABI_VERSION;
  expect("mhc_check_abi", mhc_check_abi(abi), abi == MHC_ABI_VERSION ? MHC_STATUS_SUCCESS : MHC_STATUS_BAD_PARAM_ABI_MISMATCH);
  const int32_t s = static_cast<int32_t>(in.u32());
  ORACLE(mhc_status_string(s) != nullptr, "mhc_status_string(%d) is NULL", s);
  for (int32_t c : kStatusCodes) ORACLE(std::strstr(mhc_status_string(c), "unknown") == nullptr, "mhc_status_string(%d)", c);
  const mhc_op_t op = static_cast<mhc_op_t>(in.u32());
  ORACLE((mhc_op_name(op) != nullptr) == (find_op(op) != nullptr), "mhc_op_name(%d)", op);
  for (const OpInfo& o : kOpInfo) {
    ORACLE(mhc_op_name(o.id) && std::strncmp(mhc_op_name(o.id), "MHC_OP_", 7) == 0, "mhc_op_name(%d)", o.id);
    ORACLE(mhc_sku_name(host_sku(o.id)) != nullptr, "mhc_sku_name(host SKU of op %d) is NULL", o.id);
  }
  (void)mhc_sku_name(in.u32());
  int32_t count = -1;
  expect("mhc_cuda_device_count", mhc_cuda_device_count(&count), MHC_STATUS_SUCCESS);
  ORACLE(count >= 0 && (count > 0) == g_cuda_device, "mhc_cuda_device_count = %d", count);
  expect("mhc_cuda_device_count", mhc_cuda_device_count(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);
}

void one_input(const uint8_t* data, size_t size) {
  g_context.clear();
  Input in(data, size);
  const mhc_op_t op = in.pick(kOpIds);
  const OpInfo* info = find_op(op);
  note("op=%d", op);

  // mhc_desc_init: the defaults of MHC_DESC_INIT with op and the family's act_dtype; an unknown op
  // leaves the struct as it was.
  {
    alignas(16) unsigned char raw[128];
    std::memset(raw, 0xa5, sizeof raw);
    unsigned char before[sizeof raw];
    std::memcpy(before, raw, sizeof raw);
    const mhc_status_t s = mhc_desc_init(reinterpret_cast<mhc_desc_t*>(raw), op);
    expect("mhc_desc_init", s, info ? MHC_STATUS_SUCCESS : MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
    if (info) {
      mhc_desc_t want = MHC_DESC_INIT;
      want.op = op;
      want.act_dtype = info->family_b ? MHC_DTYPE_FP32 : MHC_DTYPE_BF16;
      ORACLE(std::memcmp(raw, &want, sizeof want) == 0, "mhc_desc_init(%d) != MHC_DESC_INIT with op, act_dtype", op);
      ORACLE(std::memcmp(raw + sizeof want, before + sizeof want, sizeof raw - sizeof want) == 0,
             "mhc_desc_init wrote past mhc_desc_t");
    } else {
      ORACLE(std::memcmp(raw, before, sizeof raw) == 0, "mhc_desc_init(unknown op %d) changed the struct", op);
    }
    Statuses null_want;
    null_want.add(MHC_STATUS_BAD_PARAM_NULL_POINTER);
    if (!info) null_want.add(MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
    expect("mhc_desc_init", mhc_desc_init(nullptr, op), null_want);
    expect("mhc_preference_init", mhc_preference_init(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);
    expect("mhc_args_init", mhc_args_init(nullptr), MHC_STATUS_BAD_PARAM_NULL_POINTER);
    mhc_args_t a;
    std::memset(&a, 0xa5, sizeof a);
    expect("mhc_args_init", mhc_args_init(&a), MHC_STATUS_SUCCESS);
    const mhc_args_t init = MHC_ARGS_INIT;
    ORACLE(std::memcmp(&a, &init, sizeof a) == 0, "mhc_args_init != MHC_ARGS_INIT");
  }

  const DescCase dc = decode_desc(in, op, info);
  const PrefCase pc = decode_pref(in, op);
  Statuses faults;
  desc_faults(dc, info, faults);
  pref_faults(pc, info, faults);

  const uint8_t select_mode = in.u8() % 16;
  const bool null_desc = select_mode == 15, null_out = select_mode == 14;
  if (null_desc || null_out) faults.add(MHC_STATUS_BAD_PARAM_NULL_POINTER);
  if (faults.empty()) faults.add(MHC_STATUS_SUCCESS);
  note("select=%d want=%s", select_mode, faults.str().c_str());

  unsigned char desc_before[sizeof dc.raw], pref_before[sizeof pc.raw];
  std::memcpy(desc_before, dc.raw, sizeof dc.raw);
  std::memcpy(pref_before, pc.raw, sizeof pc.raw);
  mhc_plan_t plan = reinterpret_cast<mhc_plan_t>(uintptr_t{0x10});  // select must overwrite it
  const mhc_status_t s =
      mhc_plan_select(null_desc ? nullptr : reinterpret_cast<const mhc_desc_t*>(dc.raw),
                      pc.null ? nullptr : reinterpret_cast<const mhc_preference_t*>(pc.raw), null_out ? nullptr : &plan);
  expect("mhc_plan_select", s, faults);
  ORACLE(std::memcmp(desc_before, dc.raw, sizeof dc.raw) == 0 && std::memcmp(pref_before, pc.raw, sizeof pc.raw) == 0,
         "mhc_plan_select wrote its const inputs");
  if (s != MHC_STATUS_SUCCESS || null_out) {
    ORACLE(null_out || plan == nullptr, "mhc_plan_select failed and left *plan = %p (expected NULL)", static_cast<void*>(plan));
    check_null_plan_calls();
    check_library(in);
    return;
  }
  ORACLE(plan != nullptr, "mhc_plan_select succeeded with *plan = NULL");

  mhc_desc_t resolved;
  std::vector<mhc_tensor_info_t> tensors;
  check_plan_queries(in, plan, dc, pc, *info, &resolved, &tensors);
  for (int r = 1 + in.u8() % 3; r > 0; --r) run_round(in, plan, resolved, *info);
  expect("mhc_plan_destroy", mhc_plan_destroy(plan), MHC_STATUS_SUCCESS);
  check_library(in);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool verbose = [] {
    int32_t count = 0;
    g_cuda_device = mhc_cuda_device_count(&count) == MHC_STATUS_SUCCESS && count > 0;
    return std::getenv("MHC_FUZZ_VERBOSE") != nullptr;  // print what each input decoded to
  }();
  one_input(data, size);
  if (verbose) std::fprintf(stderr, "==mhc-fuzz== %s\n", g_context.c_str());
  return 0;
}

#ifdef MHC_FUZZ_REPLAY_MAIN
// Replays files and directories of inputs once each, without libFuzzer (ctest fuzz_corpus_replay).
#include <filesystem>
#include <fstream>
#include <iterator>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.push_back(p);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream s(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay %s (%zu bytes)\n", f.string().c_str(), bytes.size());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replayed %zu inputs, 0 failures\n", files.size());
  return files.empty() ? 1 : 0;
}
#endif
