/*
 * check.h: what the examples share (C99, usable from C and C++, only the public mhc.h).
 *
 *   ex_describe_plan(plan)            prints what a plan runs: op, backend, SKU, guarantees in words
 *   ex_poison_outputs(plan, args, copy)
 *                                     fills a run's outputs with NaN, so that an output the run
 *                                     never writes fails the check
 *   ex_check_run(plan, args, copy, label)
 *                                     runs the same inputs through a plan of the fp64 host backend
 *                                     and compares every output; prints PASS or FAIL per output
 *
 * `copy` moves bytes between host memory and the memory the plan's tensors live in: ex_copy_host
 * for a host plan, ex_copy_cuda for a CUDA plan. The tensors of a run come from
 * mhc_plan_get_tensor_info, so the check covers every output the run was given.
 *
 * Tolerances, from docs/numerics.md (against the fp64 host backend on the same inputs):
 *   fp32 outputs  |got - want| <= tol * (|want| + mean|want|),
 *                 tol = 2e-3 when the plan multiplies in tf32 (tf32 weights), else 1e-4
 *   bf16 outputs  |got - want| <= 1 bf16 ulp of want + 1e-5 * mean|want|
 * A plan that runs on the host backend itself must match the reference bit for bit.
 */
#ifndef MHC_EXAMPLES_CHECK_H_
#define MHC_EXAMPLES_CHECK_H_

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mhc/mhc.h>

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

/* ---- bf16 -------------------------------------------------------------------------------- */

/* float -> bf16, round to nearest even (finite inputs). */
static inline uint16_t ex_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

static inline float ex_from_bf16(uint16_t b) {
  const uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---- memory ------------------------------------------------------------------------------ */

typedef int (*ex_copy_fn)(void* dst, const void* src, size_t bytes); /* 1 on success */

static inline int ex_copy_host(void* dst, const void* src, size_t bytes) {
  memcpy(dst, src, bytes);
  return 1;
}

/* cudaMemcpyDefault: either direction (unified addressing). Synchronous, so the work queued
 * before it on blocking streams is done when it reads. */
static inline int ex_copy_cuda(void* dst, const void* src, size_t bytes) {
#ifdef MHC_EXAMPLE_WITH_CUDA
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDefault);
  if (e != cudaSuccess) fprintf(stderr, "cudaMemcpy: %s\n", cudaGetErrorString(e));
  return e == cudaSuccess;
#else
  (void)dst, (void)src, (void)bytes;
  fprintf(stderr, "a CUDA SKU was selected but the examples were built without CUDA\n");
  return 0;
#endif
}

/* SKU ids are (backend/arch << 16) | (op << 8) | variant; backend 1 is the host. */
static inline int ex_is_host_sku(mhc_sku_t sku) { return (sku >> 16) == 1; }

static inline int ex_ok(mhc_status_t s, const char* what) {
  char msg[512];
  if (s == MHC_STATUS_SUCCESS) return 1;
  mhc_get_last_error(msg, sizeof msg);
  fprintf(stderr, "%s failed: %s (%d): %s\n", what, mhc_status_string(s), (int)s, msg);
  return 0;
}

/* ---- words ------------------------------------------------------------------------------- */

static inline const char* ex_dtype_word(mhc_dtype_t d) {
  switch (d) {
    case MHC_DTYPE_BF16: return "bf16";
    case MHC_DTYPE_FP32: return "fp32";
    case MHC_DTYPE_TF32: return "tf32";
    case MHC_DTYPE_FP64: return "fp64";
    case MHC_DTYPE_TF32X3: return "tf32x3";
    default: return "unknown";
  }
}

static inline const char* ex_op_word(mhc_op_t op) {
  const char* name = mhc_op_name(op);
  return name ? name : "unknown op";
}

static inline const char* ex_sku_word(mhc_sku_t sku) {
  const char* name = mhc_sku_name(sku);
  return name ? name : "unknown SKU";
}

/* "deterministic, bit-stable, no atomics (not batch-invariant)": the guarantees a plan makes
 * and, as useful to a caller, the ones it does not. */
static inline void ex_guarantee_words(mhc_guarantee_flags_t flags, char* buf, size_t cap) {
  static const struct {
    mhc_guarantee_flags_t flag;
    const char* word;
  } kWords[] = {{MHC_GUARANTEE_DETERMINISTIC, "deterministic"},
                {MHC_GUARANTEE_BIT_STABLE, "bit-stable"},
                {MHC_GUARANTEE_BATCH_INVARIANT, "batch-invariant"},
                {MHC_GUARANTEE_NO_ATOMICS, "no atomics"}};
  char made[96] = "", missing[96] = "";
  size_t i;
  for (i = 0; i < sizeof kWords / sizeof kWords[0]; ++i) {
    char* list = (flags & kWords[i].flag) ? made : missing;
    if (list[0]) strcat(list, ", ");
    strcat(list, kWords[i].word);
  }
  snprintf(buf, cap, "%s%s%s%s", made[0] ? made : "none", missing[0] ? " (not " : "", missing,
           missing[0] ? ")" : "");
}

/* Where a plan runs, in words. */
static inline void ex_backend_words(mhc_sku_t sku, char* buf, size_t cap) {
  int32_t devices = 0;
  mhc_cuda_device_count(&devices);
  if (ex_is_host_sku(sku)) {
    snprintf(buf, cap, "%s",
             devices == 0 ? "host fp64 backend (no GPU: ran on the host backend)"
                          : "host fp64 backend (a GPU is present, but this plan runs on the host)");
    return;
  }
#ifdef MHC_EXAMPLE_WITH_CUDA
  {
    int dev = 0;
    struct cudaDeviceProp prop;
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess) {
      snprintf(buf, cap, "GPU %d: %.200s (sm_%d%d)", dev, prop.name, prop.major, prop.minor);
      return;
    }
  }
#endif
  snprintf(buf, cap, "GPU");
}

/* Prints what a plan runs; 0 when the library call failed. */
static inline int ex_describe_plan(mhc_plan_t plan) {
  mhc_desc_t d;
  mhc_precision_guarantee_t g;
  mhc_sku_t sku = MHC_SKU_NONE;
  char where[256], words[128];
  memset(&d, 0, sizeof d);
  memset(&g, 0, sizeof g);
  d.struct_size = sizeof d;
  g.struct_size = sizeof g;
  if (!ex_ok(mhc_plan_get_desc(plan, &d), "mhc_plan_get_desc") ||
      !ex_ok(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku") ||
      !ex_ok(mhc_plan_get_precision_guarantee(plan, &g), "mhc_plan_get_precision_guarantee"))
    return 0;
  ex_backend_words(sku, where, sizeof where);
  ex_guarantee_words(g.flags, words, sizeof words);
  printf("plan %s: T = %lld, n = %d, C = %lld", ex_op_word(d.op), (long long)d.tokens, (int)d.n,
         (long long)d.hidden);
  if (d.num_splits != 0) printf(", num_splits = %d", (int)d.num_splits);
  printf("\n");
  printf("  backend     %s\n", where);
  printf("  SKU         %s\n", ex_sku_word(sku));
  printf("  guarantees  %s\n", words);
  printf("  precision   %s math, %s accumulator\n", ex_dtype_word(g.math_precision),
         ex_dtype_word(g.accumulator));
  return 1;
}

/* ---- the tensors of a run ---------------------------------------------------------------- */

/* The pointer args holds in the field a tensor info names. */
static inline void* ex_field(const mhc_args_t* args, const mhc_tensor_info_t* t) {
  void* p;
  memcpy(&p, (const char*)args + t->field_offset, sizeof p);
  return p;
}

static inline void ex_set_field(mhc_args_t* args, const mhc_tensor_info_t* t, void* p) {
  memcpy((char*)args + t->field_offset, &p, sizeof p);
}

/* Elements of a tensor for a run of `tokens` tokens (tensor info shapes are for desc.tokens). */
static inline size_t ex_elements(const mhc_tensor_info_t* t, int64_t tokens) {
  size_t count = 1;
  int k;
  for (k = 0; k < t->rank; ++k) count *= (size_t)(k == t->token_dim ? tokens : t->shape[k]);
  return count;
}

static inline int ex_tensor_info(mhc_plan_t plan, int32_t i, mhc_tensor_info_t* t) {
  memset(t, 0, sizeof *t);
  t->struct_size = sizeof *t;
  return ex_ok(mhc_plan_get_tensor_info(plan, i, t), "mhc_plan_get_tensor_info");
}

static inline int64_t ex_run_tokens(mhc_plan_t plan, const mhc_args_t* args) {
  mhc_desc_t d;
  memset(&d, 0, sizeof d);
  d.struct_size = sizeof d;
  if (args->tokens > 0) return args->tokens;
  return ex_ok(mhc_plan_get_desc(plan, &d), "mhc_plan_get_desc") ? d.tokens : 0;
}

/* NaN bit patterns: never a value a run computes here, and NaN fails every comparison. */
#define EX_POISON_BF16 0x7fa5u
#define EX_POISON_FP32 0x7fa5a5a5u

static inline void ex_poison(void* host, mhc_dtype_t dtype, size_t count) {
  const uint16_t p16 = EX_POISON_BF16;
  const uint32_t p32 = EX_POISON_FP32;
  size_t i;
  for (i = 0; i < count; ++i) {
    if (dtype == MHC_DTYPE_BF16) memcpy((uint16_t*)host + i, &p16, 2);
    else memcpy((uint32_t*)host + i, &p32, 4);
  }
}

static inline int ex_is_poison(const void* host, mhc_dtype_t dtype, size_t count) {
  const uint16_t p16 = EX_POISON_BF16;
  const uint32_t p32 = EX_POISON_FP32;
  size_t i;
  for (i = 0; i < count; ++i)
    if (dtype == MHC_DTYPE_BF16 ? memcmp((const uint16_t*)host + i, &p16, 2)
                                : memcmp((const uint32_t*)host + i, &p32, 4))
      return 0;
  return 1;
}

/* Poisons every output args gives the plan. 0 on failure. */
static inline int ex_poison_outputs(mhc_plan_t plan, const mhc_args_t* args, ex_copy_fn copy) {
  const int64_t tokens = ex_run_tokens(plan, args);
  int32_t count = 0, i;
  int ok = ex_ok(mhc_plan_get_tensor_count(plan, &count), "mhc_plan_get_tensor_count");
  for (i = 0; ok && i < count; ++i) {
    mhc_tensor_info_t t;
    size_t n, bytes;
    void* tmp;
    if (!ex_tensor_info(plan, i, &t)) return 0;
    if (t.role != MHC_TENSOR_ROLE_OUTPUT || ex_field(args, &t) == NULL) continue;
    n = ex_elements(&t, tokens);
    bytes = n * (t.dtype == MHC_DTYPE_BF16 ? 2 : 4);
    tmp = malloc(bytes);
    ok = tmp != NULL;
    if (ok) {
      ex_poison(tmp, t.dtype, n);
      ok = copy(ex_field(args, &t), tmp, bytes);
    }
    free(tmp);
  }
  return ok;
}

/* ---- the comparison ---------------------------------------------------------------------- */

/* Compares one output with the reference and prints one line. exact: bits must match too. */
static inline int ex_compare(const mhc_tensor_info_t* t, int64_t tokens, const void* got, const void* want,
                             double fp32_tol, int exact) {
  const size_t n = ex_elements(t, tokens);
  const int bf16 = t->dtype == MHC_DTYPE_BF16;
  double mean = 0.0, max_err = 0.0, max_ratio = 0.0;
  size_t i, bad = 0, nan = 0;
  char shape[64];
  int k, len = 0, pass;
  for (i = 0; i < n; ++i)
    mean += fabs(bf16 ? ex_from_bf16(((const uint16_t*)want)[i]) : ((const float*)want)[i]);
  mean /= (double)(n ? n : 1);
  for (i = 0; i < n; ++i) {
    double g, w, tol, err;
    if (bf16) {
      const uint16_t wb = ((const uint16_t*)want)[i];
      /* one ulp: the gap from |want| to the next bf16 away from zero */
      const double ulp =
          (double)ex_from_bf16((uint16_t)((wb & 0x7fffu) + 1u)) - fabs((double)ex_from_bf16(wb));
      g = ex_from_bf16(((const uint16_t*)got)[i]);
      w = ex_from_bf16(wb);
      tol = ulp + 1e-5 * mean;
    } else {
      g = ((const float*)got)[i];
      w = ((const float*)want)[i];
      tol = fp32_tol * (fabs(w) + mean);
    }
    err = fabs(g - w);
    if (!(err <= tol)) ++bad; /* NaN (poison never overwritten) counts as bad */
    if (err != err) ++nan;
    if (err > max_err) max_err = err;
    if (tol > 0.0 && err / tol > max_ratio) max_ratio = err / tol;
  }
  if (nan) max_err = max_ratio = NAN;
  pass = bad == 0 && (!exact || memcmp(got, want, n * (bf16 ? 2 : 4)) == 0);
  for (k = 0; k < t->rank; ++k)
    len += snprintf(shape + len, sizeof shape - (size_t)len, "%s%lld", k ? ", " : "[",
                    (long long)(k == t->token_dim ? tokens : t->shape[k]));
  snprintf(shape + len, sizeof shape - (size_t)len, "]");
  printf("  %-16s %s %-15s %s  max abs err %.3g, max err/tol %.3g", t->field, ex_dtype_word(t->dtype), shape,
         pass ? "PASS" : "FAIL", max_err, max_ratio);
  if (nan) printf(" (%zu of %zu elements NaN: never written?)\n", nan, n);
  else if (bad) printf(" (%zu of %zu elements out of tolerance)\n", bad, n);
  else printf("%s\n", !exact ? "" : pass ? " (bit-exact)" : " (not bit-exact)");
  return pass;
}

/*
 * Runs the inputs of `args` (the run just made with `plan`, outputs still in place) through a
 * plan of the fp64 host backend for the same descriptor and compares every output. Host copies
 * of the inputs and outputs are made with `copy`. Returns 1 when every output passes.
 */
static inline int ex_check_run(mhc_plan_t plan, const mhc_args_t* args, ex_copy_fn copy, const char* label) {
  enum { kMaxTensors = 16 };
  void* got[kMaxTensors] = {NULL}; /* host copies: inputs, or the plan's outputs */
  void* want[kMaxTensors] = {NULL}; /* the reference's outputs */
  mhc_tensor_info_t info[kMaxTensors];
  mhc_desc_t d;
  mhc_preference_t pref;
  mhc_plan_t ref = NULL;
  mhc_args_t ref_args = *args; /* same tokens; the tensor pointers are replaced below */
  mhc_precision_guarantee_t g;
  mhc_sku_t sku = MHC_SKU_NONE, ref_sku = MHC_SKU_NONE;
  const int64_t tokens = ex_run_tokens(plan, args);
  int32_t count = 0, i;
  int ok, all_pass = 1;

  memset(&d, 0, sizeof d);
  memset(&g, 0, sizeof g);
  d.struct_size = sizeof d;
  g.struct_size = sizeof g;
  ok = ex_ok(mhc_plan_get_desc(plan, &d), "mhc_plan_get_desc") &&
       ex_ok(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku") &&
       ex_ok(mhc_plan_get_precision_guarantee(plan, &g), "mhc_plan_get_precision_guarantee") &&
       ex_ok(mhc_plan_get_tensor_count(plan, &count), "mhc_plan_get_tensor_count") &&
       ex_ok(mhc_preference_init(&pref), "mhc_preference_init");
  if (ok && count > kMaxTensors) ok = 0;
  if (ok) {
    pref.backends = MHC_BACKEND_HOST; /* the fp64 reference */
    ok = ex_ok(mhc_plan_select(&d, &pref, &ref), "mhc_plan_select (host reference)") &&
         ex_ok(mhc_plan_get_sku(ref, &ref_sku), "mhc_plan_get_sku");
  }

  /* Host copies of the inputs; host buffers for both sets of outputs. The reference's buffers
   * hold desc.tokens rows, so that a run which ignores args.tokens fails here instead of
   * writing past them. */
  for (i = 0; ok && i < count; ++i) {
    mhc_tensor_info_t* t = &info[i];
    size_t size, used, full;
    if (!(ok = ex_tensor_info(plan, i, t))) break;
    if (ex_field(args, t) == NULL) continue; /* an optional tensor left out */
    size = t->dtype == MHC_DTYPE_BF16 ? 2 : 4;
    used = ex_elements(t, tokens);
    full = ex_elements(t, d.tokens);
    if (!(ok = (got[i] = calloc(full, size)) != NULL)) break;
    ok = copy(got[i], ex_field(args, t), used * size);
    if (t->role == MHC_TENSOR_ROLE_INPUT) {
      ex_set_field(&ref_args, t, got[i]);
    } else {
      if (!(ok = ok && (want[i] = malloc(full * size)) != NULL)) break;
      ex_poison(want[i], t->dtype, full);
      ex_set_field(&ref_args, t, want[i]);
    }
  }
  if (ok) ok = ex_ok(mhc_plan_run(ref, NULL, NULL, 0, &ref_args), "mhc_plan_run (host reference)");

  if (ok) {
    printf("%s: %s, T = %lld, vs the fp64 reference %s\n", label, ex_op_word(d.op), (long long)tokens,
           ex_sku_word(ref_sku));
    for (i = 0; i < count; ++i) {
      const mhc_tensor_info_t* t = &info[i];
      const size_t size = t->dtype == MHC_DTYPE_BF16 ? 2 : 4, used = ex_elements(t, tokens);
      if (t->role != MHC_TENSOR_ROLE_OUTPUT || want[i] == NULL) continue;
      all_pass &= ex_compare(t, tokens, got[i], want[i], g.math_precision == MHC_DTYPE_TF32 ? 2e-3 : 1e-4,
                             ex_is_host_sku(sku));
      if (!ex_is_poison((char*)want[i] + used * size, t->dtype, ex_elements(t, d.tokens) - used)) {
        printf("  %-16s FAIL  the reference wrote past args.tokens = %lld\n", t->field, (long long)tokens);
        all_pass = 0;
      }
    }
  } else {
    printf("%s: %s: FAIL: the check could not run\n", label, ex_op_word(d.op));
  }
  for (i = 0; i < kMaxTensors; ++i) {
    free(got[i]);
    free(want[i]);
  }
  mhc_plan_destroy(ref);
  return ok && all_pass;
}

#endif /* MHC_EXAMPLES_CHECK_H_ */
