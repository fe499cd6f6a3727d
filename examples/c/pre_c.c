/*
 * pre_c: one mHC pre step (MHC_OP_PRE) through the plain C ABI, checked against the fp64 host
 * reference.
 *
 *   residual R [T, n, C] bf16, fn [N, K] fp32, scale [3], base [N]  (K = n*C, N = n*(n+2))
 *   -> post_mix [T, n] fp32, comb_mix [T, n, n] fp32, layer_input [T, C] bf16
 *
 * The plan is selected once for up to T_max tokens (desc.tokens) with MHC_BACKEND_ANY: a CUDA SKU
 * when the library has one for this GPU, else the host fp64 SKU. It runs twice: on all T_max
 * tokens, then on the first T tokens only (args.tokens = T), as for a smaller batch. Before each
 * run the outputs are poisoned; after it every output is compared with the fp64 host backend on
 * the same inputs (examples/common/check.h, tolerances from docs/numerics.md).
 *
 * Usage: pre_c [T_max] [C] [T]      (defaults T_max = 8, C = 256, T = T_max/2 + 1; n = 4)
 * Exit status 0 when every output passes; 1 on a FAIL or a library error (printed with
 * mhc_status_string and mhc_get_last_error).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mhc/mhc.h>

#include "../common/check.h"

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

/* xorshift64*: the same data on every machine. */
static uint64_t g_state = 0x9e3779b97f4a7c15ull;
static float uniform(float lo, float hi) {
  g_state ^= g_state >> 12;
  g_state ^= g_state << 25;
  g_state ^= g_state >> 27;
  return lo + (hi - lo) * (float)((g_state * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
}

static void tensor_free(void* p, int on_gpu) {
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (on_gpu) {
    cudaFree(p);
    return;
  }
#endif
  (void)on_gpu;
  free(p);
}

/* A tensor where the plan runs (device memory for a CUDA SKU), filled from src unless NULL. */
static void* tensor_new(const void* src, size_t bytes, int on_gpu) {
  void* p = NULL;
  if (on_gpu) {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (cudaMalloc(&p, bytes) != cudaSuccess) p = NULL;
#endif
  } else {
    p = malloc(bytes);
  }
  if (p == NULL) fprintf(stderr, "pre_c: out of %s memory (%zu bytes)\n", on_gpu ? "device" : "host", bytes);
  if (p != NULL && src != NULL && !(on_gpu ? ex_copy_cuda : ex_copy_host)(p, src, bytes)) {
    tensor_free(p, on_gpu);
    p = NULL;
  }
  return p;
}

int main(int argc, char** argv) {
  const int64_t T_max = argc > 1 ? atoll(argv[1]) : 8;
  const int64_t C = argc > 2 ? atoll(argv[2]) : 256;
  const int64_t T = argc > 3 ? atoll(argv[3]) : T_max / 2 + 1;
  const int32_t n = 4;
  const int64_t K = n * C, N = (int64_t)n * (n + 2);

  enum { kResidual, kFn, kScale, kBase, kPost, kComb, kLayerInput, kCount };
  void* tensors[kCount] = {NULL}; /* where the plan runs */
  void* inputs[kBase + 1] = {NULL}; /* host data */
  size_t bytes[kCount];
  mhc_plan_t plan = NULL;
  void* workspace = NULL;
  void* workspace_block = NULL;
  size_t workspace_bytes = 0;
  int rc = 1, on_gpu = 0, passed = 1, i, r;
  int64_t k;
  mhc_sku_t sku = MHC_SKU_NONE;
  ex_copy_fn copy = ex_copy_host;
  mhc_desc_t desc;
  mhc_preference_t pref;
  mhc_args_t args;

  if (T_max < 1 || C < 1 || T < 1 || T > T_max) {
    fprintf(stderr, "usage: pre_c [T_max >= 1] [C >= 1] [T in 1..T_max]\n");
    return 1;
  }
  if (!ex_ok(mhc_check_abi(MHC_ABI_VERSION), "mhc_check_abi")) return 1;
  printf("libmhc %s (ABI %u)\n", mhc_get_version_string(), (unsigned)mhc_get_abi_version());

  /* 1. describe the problem: docs/numerics.md defaults for MHC_OP_PRE, then the dimensions.
   *    desc.tokens is the largest T the plan will run. */
  if (!ex_ok(mhc_desc_init(&desc, MHC_OP_PRE), "mhc_desc_init")) return 1;
  desc.tokens = T_max;
  desc.n = n;
  desc.hidden = C;

  /* 2. select: the GPU when the library has a CUDA SKU for it, else the host backend. */
  if (!ex_ok(mhc_preference_init(&pref), "mhc_preference_init")) return 1;
  pref.backends = MHC_BACKEND_ANY;
  if (!ex_ok(mhc_plan_select(&desc, &pref, &plan), "mhc_plan_select")) goto done;
  if (!ex_ok(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku")) goto done;
#ifndef MHC_EXAMPLE_WITH_CUDA
  if (!ex_is_host_sku(sku)) { /* a CUDA SKU, but no CUDA runtime here to allocate device memory */
    mhc_plan_destroy(plan);
    plan = NULL;
    pref.backends = MHC_BACKEND_HOST;
    if (!ex_ok(mhc_plan_select(&desc, &pref, &plan), "mhc_plan_select (host)")) goto done;
    if (!ex_ok(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku")) goto done;
  }
#endif
  on_gpu = !ex_is_host_sku(sku);
  copy = on_gpu ? ex_copy_cuda : ex_copy_host; /* moves bytes to and from the plan's tensors */
  if (!ex_describe_plan(plan)) goto done;

  /* 3. tensors for T_max tokens: random inputs (never zeros), outputs where the SKU runs. */
  bytes[kResidual] = (size_t)(T_max * K) * 2;
  bytes[kFn] = (size_t)(N * K) * 4;
  bytes[kScale] = 3 * 4;
  bytes[kBase] = (size_t)N * 4;
  bytes[kPost] = (size_t)(T_max * n) * 4;
  bytes[kComb] = (size_t)(T_max * n * n) * 4;
  bytes[kLayerInput] = (size_t)(T_max * C) * 2;
  for (i = 0; i <= kBase; ++i)
    if ((inputs[i] = malloc(bytes[i])) == NULL) goto done;
  for (k = 0; k < T_max * K; ++k) ((uint16_t*)inputs[kResidual])[k] = ex_to_bf16(uniform(-2.0f, 2.0f));
  for (k = 0; k < N * K; ++k) ((float*)inputs[kFn])[k] = uniform(-0.05f, 0.05f);
  for (k = 0; k < 3; ++k) ((float*)inputs[kScale])[k] = uniform(0.5f, 1.5f);
  for (k = 0; k < N; ++k) ((float*)inputs[kBase])[k] = uniform(-1.0f, 1.0f);
  for (i = 0; i < kCount; ++i)
    if ((tensors[i] = tensor_new(i <= kBase ? inputs[i] : NULL, bytes[i], on_gpu)) == NULL) goto done;

  if (!ex_ok(mhc_args_init(&args), "mhc_args_init")) goto done;
  args.residual = tensors[kResidual];
  args.fn = tensors[kFn];
  args.scale = tensors[kScale];
  args.base = tensors[kBase];
  args.out_post_mix = tensors[kPost];
  args.out_comb_mix = tensors[kComb];
  args.out_layer_input = tensors[kLayerInput];
  if (!ex_ok(mhc_plan_can_implement(plan, &args), "mhc_plan_can_implement")) goto done;

  /* 4. workspace: 0 bytes for the host SKUs; a CUDA SKU may ask for some (256-byte aligned). */
  if (!ex_ok(mhc_plan_workspace_size(plan, &workspace_bytes), "mhc_plan_workspace_size")) goto done;
  if (workspace_bytes > 0) {
    if ((workspace_block = tensor_new(NULL, workspace_bytes + 256, on_gpu)) == NULL) goto done;
    workspace = (void*)(((uintptr_t)workspace_block + 255) & ~(uintptr_t)255);
  }

  /* 5. run the plan twice: on all T_max tokens (args.tokens = 0 means desc.tokens), then on
   *    the first T only, the same plan serving a smaller batch. Check each run. */
  for (r = 0; r < 2; ++r) {
    char label[96];
    args.tokens = r == 0 ? 0 : T;
    snprintf(label, sizeof label, "run %d, args.tokens = %lld%s", r + 1, (long long)args.tokens,
             r == 0 ? " (= desc.tokens)" : "");
    if (!ex_poison_outputs(plan, &args, copy)) goto done;
    /* stream NULL: the legacy default stream; host SKUs run on this thread */
    if (!ex_ok(mhc_plan_run(plan, NULL, workspace, workspace_bytes, &args), "mhc_plan_run")) goto done;
    passed &= ex_check_run(plan, &args, copy, label);
  }
  printf("pre_c: 1 plan checked against the fp64 host reference: %s\n",
         passed ? "all PASS" : "FAIL: MHC_OP_PRE");
  rc = passed ? 0 : 1;

done:
  if (plan != NULL && !ex_ok(mhc_plan_destroy(plan), "mhc_plan_destroy")) rc = 1;
  tensor_free(workspace_block, on_gpu);
  for (i = 0; i < kCount; ++i) tensor_free(tensors[i], on_gpu);
  for (i = 0; i <= kBase; ++i) free(inputs[i]);
  return rc;
}
