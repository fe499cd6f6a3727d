/*
 * pre_c: one mHC pre step (MHC_OP_PRE, MATH.md A3) through the plain C ABI.
 *
 *   residual R [T, n, C] bf16, fn [N, K] fp32, scale [3], base [N]  (K = n*C, N = n*(n+2))
 *   -> post_mix [T, n] fp32, comb_mix [T, n, n] fp32, layer_input [T, C] bf16
 *
 * The plan is selected with MHC_BACKEND_ANY: a CUDA SKU when the library has one for this GPU,
 * else the host fp64 SKU. The buffers follow the SKU that was chosen: device memory (cudaMalloc)
 * for a CUDA SKU, host memory for a host SKU. Every status is checked; on failure the example
 * prints mhc_status_string and mhc_get_last_error and exits 1.
 *
 * Usage: pre_c [T] [C]      (defaults T = 8, C = 256; n = 4)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mhc/mhc.h>

#ifdef MHC_EXAMPLE_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

/* ---- small helpers ------------------------------------------------------------------------- */

static int check(mhc_status_t status, const char* what) {
  char message[1024];
  if (status == MHC_STATUS_SUCCESS) return 1;
  mhc_get_last_error(message, sizeof message);
  fprintf(stderr, "pre_c: %s failed: %s (%d): %s\n", what, mhc_status_string(status), (int)status, message);
  return 0;
}

#ifdef MHC_EXAMPLE_WITH_CUDA
static int check_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return 1;
  fprintf(stderr, "pre_c: %s failed: %s\n", what, cudaGetErrorString(e));
  return 0;
}
#endif

/* xorshift64*: the same data on every machine. */
static uint64_t g_state = 0x9e3779b97f4a7c15ull;
static float uniform(float lo, float hi) {
  g_state ^= g_state >> 12;
  g_state ^= g_state << 25;
  g_state ^= g_state >> 27;
  return lo + (hi - lo) * (float)((g_state * 0x2545f4914f6cdd1dull) >> 40) / 16777216.0f;
}

/* float -> bf16, round to nearest even (finite inputs). */
static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}
static float from_bf16(uint16_t b) {
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* One tensor: its host copy always, a device copy when the SKU runs on the GPU. */
typedef struct {
  void* host;
  void* dev;
  size_t bytes;
} buffer_t;

static int buffer_alloc(buffer_t* b, size_t bytes) {
  b->host = calloc(1, bytes);
  b->dev = NULL;
  b->bytes = bytes;
  if (b->host == NULL) fprintf(stderr, "pre_c: out of host memory (%zu bytes)\n", bytes);
  return b->host != NULL;
}

/* The pointer the plan sees: device memory on the GPU, else the host copy. */
static void* buffer_ptr(const buffer_t* b, int on_gpu) { return on_gpu ? b->dev : b->host; }

static int buffer_to_device(buffer_t* b, int copy_in) {
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (!check_cuda(cudaMalloc(&b->dev, b->bytes), "cudaMalloc")) return 0;
  if (copy_in && !check_cuda(cudaMemcpy(b->dev, b->host, b->bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D"))
    return 0;
  return 1;
#else
  (void)b;
  (void)copy_in;
  fprintf(stderr, "pre_c: a CUDA SKU was selected but this example was built without CUDA\n");
  return 0;
#endif
}

static int buffer_to_host(buffer_t* b) {
#ifdef MHC_EXAMPLE_WITH_CUDA
  return check_cuda(cudaMemcpy(b->host, b->dev, b->bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
#else
  (void)b;
  return 0;
#endif
}

static void buffer_free(buffer_t* b) {
#ifdef MHC_EXAMPLE_WITH_CUDA
  if (b->dev) cudaFree(b->dev);
#endif
  free(b->host);
  b->host = b->dev = NULL;
}

static const char* sku_name(mhc_sku_t sku) {
  const char* name = mhc_sku_name(sku);
  return name ? name : "unknown";
}

/* ---- the example --------------------------------------------------------------------------- */

int main(int argc, char** argv) {
  const int64_t T = argc > 1 ? atoll(argv[1]) : 8;
  const int64_t C = argc > 2 ? atoll(argv[2]) : 256;
  const int32_t n = 4;
  const int64_t K = n * C, N = (int64_t)n * (n + 2);

  enum { kResidual, kFn, kScale, kBase, kPost, kComb, kLayerInput, kCount };
  buffer_t buf[kCount];
  mhc_plan_t plan = NULL;
  void* workspace = NULL;
  void* workspace_block = NULL;
  int rc = 1, on_gpu = 0, i;
  int64_t t, k;
  int32_t devices = 0;
  mhc_sku_t sku = MHC_SKU_NONE;
  size_t workspace_bytes = 0;
  mhc_desc_t desc;
  mhc_preference_t pref;
  mhc_args_t args;
  mhc_precision_guarantee_t guarantee;

  memset(buf, 0, sizeof buf);
  if (T < 1 || C < 1) {
    fprintf(stderr, "usage: pre_c [T >= 1] [C >= 1]\n");
    return 1;
  }
  if (!check(mhc_check_abi(MHC_ABI_VERSION), "mhc_check_abi")) return 1;
  if (!check(mhc_cuda_device_count(&devices), "mhc_cuda_device_count")) return 1;
  printf("libmhc %s (ABI %u), CUDA devices: %d\n", mhc_get_version_string(), (unsigned)mhc_get_abi_version(),
         (int)devices);

  /* 1. describe the problem: MATH.md defaults for MHC_OP_PRE, then the dimensions. */
  if (!check(mhc_desc_init(&desc, MHC_OP_PRE), "mhc_desc_init")) return 1;
  desc.tokens = T;
  desc.n = n;
  desc.hidden = C;

  /* 2. select: the GPU when the library has a CUDA SKU for it, else the host backend. */
  if (!check(mhc_preference_init(&pref), "mhc_preference_init")) return 1;
  pref.backends = MHC_BACKEND_ANY;
  if (!check(mhc_plan_select(&desc, &pref, &plan), "mhc_plan_select")) goto done;
  if (!check(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku")) goto done;
#ifndef MHC_EXAMPLE_WITH_CUDA
  if ((sku >> 16) != 1) { /* a CUDA SKU, but no CUDA runtime here to allocate device memory */
    check(mhc_plan_destroy(plan), "mhc_plan_destroy");
    plan = NULL;
    pref.backends = MHC_BACKEND_HOST;
    if (!check(mhc_plan_select(&desc, &pref, &plan), "mhc_plan_select (host)")) goto done;
    if (!check(mhc_plan_get_sku(plan, &sku), "mhc_plan_get_sku")) goto done;
  }
#endif
  on_gpu = (sku >> 16) != 1; /* SKU ids: (backend/arch << 16) | (op << 8) | variant; 1 = host */
  memset(&guarantee, 0, sizeof guarantee);
  guarantee.struct_size = sizeof guarantee;
  if (!check(mhc_plan_get_precision_guarantee(plan, &guarantee), "mhc_plan_get_precision_guarantee")) goto done;
  if (!check(mhc_plan_get_desc(plan, &desc), "mhc_plan_get_desc")) goto done;
  printf("plan: T=%lld n=%d C=%lld num_splits=%d sku=%s (0x%08x) guarantees=0x%x\n", (long long)T, (int)n,
         (long long)C, (int)desc.num_splits, sku_name(sku), (unsigned)sku, (unsigned)guarantee.flags);

  /* 3. tensors: random inputs (never zeros), outputs allocated where the SKU runs. */
  if (!buffer_alloc(&buf[kResidual], (size_t)(T * K) * 2) || !buffer_alloc(&buf[kFn], (size_t)(N * K) * 4) ||
      !buffer_alloc(&buf[kScale], 3 * 4) || !buffer_alloc(&buf[kBase], (size_t)N * 4) ||
      !buffer_alloc(&buf[kPost], (size_t)(T * n) * 4) || !buffer_alloc(&buf[kComb], (size_t)(T * n * n) * 4) ||
      !buffer_alloc(&buf[kLayerInput], (size_t)(T * C) * 2))
    goto done;
  for (k = 0; k < T * K; ++k) ((uint16_t*)buf[kResidual].host)[k] = to_bf16(uniform(-2.0f, 2.0f));
  for (k = 0; k < N * K; ++k) ((float*)buf[kFn].host)[k] = uniform(-0.05f, 0.05f);
  for (k = 0; k < 3; ++k) ((float*)buf[kScale].host)[k] = uniform(0.5f, 1.5f);
  for (k = 0; k < N; ++k) ((float*)buf[kBase].host)[k] = uniform(-1.0f, 1.0f);
  if (on_gpu)
    for (i = 0; i < kCount; ++i)
      if (!buffer_to_device(&buf[i], i < kPost)) goto done;

  if (!check(mhc_args_init(&args), "mhc_args_init")) goto done;
  args.residual = buffer_ptr(&buf[kResidual], on_gpu);
  args.fn = buffer_ptr(&buf[kFn], on_gpu);
  args.scale = buffer_ptr(&buf[kScale], on_gpu);
  args.base = buffer_ptr(&buf[kBase], on_gpu);
  args.out_post_mix = buffer_ptr(&buf[kPost], on_gpu);
  args.out_comb_mix = buffer_ptr(&buf[kComb], on_gpu);
  args.out_layer_input = buffer_ptr(&buf[kLayerInput], on_gpu);
  if (!check(mhc_plan_can_implement(plan, &args), "mhc_plan_can_implement")) goto done;

  /* 4. workspace: 0 bytes for the host SKUs; a CUDA SKU may ask for some (256-byte aligned). */
  if (!check(mhc_plan_workspace_size(plan, &workspace_bytes), "mhc_plan_workspace_size")) goto done;
  if (workspace_bytes > 0) {
    if (on_gpu) {
#ifdef MHC_EXAMPLE_WITH_CUDA
      if (!check_cuda(cudaMalloc(&workspace, workspace_bytes), "cudaMalloc (workspace)")) goto done;
      workspace_block = workspace;
#endif
    } else {
      workspace_block = malloc(workspace_bytes + 255);
      if (workspace_block == NULL) goto done;
      workspace = (void*)(((uintptr_t)workspace_block + 255) & ~(uintptr_t)255);
    }
  }

  /* 5. run (stream NULL: the legacy default stream; host SKUs run on this thread). */
  if (!check(mhc_plan_run(plan, NULL, workspace, workspace_bytes, &args), "mhc_plan_run")) goto done;
  if (on_gpu) {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (!check_cuda(cudaDeviceSynchronize(), "cudaDeviceSynchronize")) goto done;
#endif
    for (i = kPost; i < kCount; ++i)
      if (!buffer_to_host(&buf[i])) goto done;
  }

  /* 6. a few outputs. */
  for (t = 0; t < (T < 2 ? T : 2); ++t) {
    const float* post = (const float*)buf[kPost].host + t * n;
    const float* comb = (const float*)buf[kComb].host + t * n * n;
    const uint16_t* li = (const uint16_t*)buf[kLayerInput].host + t * C;
    printf("token %lld: post_mix =", (long long)t);
    for (i = 0; i < n; ++i) printf(" %.6f", post[i]);
    printf("\ntoken %lld: comb_mix[0][:] =", (long long)t);
    for (i = 0; i < n; ++i) printf(" %.6f", comb[i]);
    printf("\ntoken %lld: layer_input[0:4] =", (long long)t);
    for (k = 0; k < (C < 4 ? C : 4); ++k) printf(" %.5f", from_bf16(li[k]));
    printf("\n");
  }
  printf("ran %s on %s\n", sku_name(sku), on_gpu ? "GPU" : "host");
  rc = 0;

done:
  if (plan != NULL && !check(mhc_plan_destroy(plan), "mhc_plan_destroy")) rc = 1;
  if (on_gpu) {
#ifdef MHC_EXAMPLE_WITH_CUDA
    if (workspace_block) cudaFree(workspace_block);
#endif
  } else {
    free(workspace_block);
  }
  for (i = 0; i < kCount; ++i) buffer_free(&buf[i]);
  return rc;
}
