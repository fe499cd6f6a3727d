/* mhc.h as a C99 program sees it: built with -std=c99 -Wall -Wextra -Werror -pedantic and no CUDA
 * include directory. Uses every macro, struct and initializer, and runs a host plan through C. */
#include "mhc/mhc.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if defined(__CUDA_RUNTIME_H__) || defined(__DRIVER_TYPES_H__) || defined(CUDA_VERSION) || defined(__CUDACC__)
#error "mhc.h pulled in a CUDA header"
#endif
#ifdef __cplusplus
#error "this file must be compiled as C"
#endif

/* Compile-time checks (C99 has no static_assert). */
#define ABI_ASSERT(name, cond) typedef char abi_assert_##name[(cond) ? 1 : -1]
ABI_ASSERT(desc_size, sizeof(mhc_desc_t) == 80);
ABI_ASSERT(pref_size, sizeof(mhc_preference_t) == 24);
ABI_ASSERT(guarantee_size, sizeof(mhc_precision_guarantee_t) == 16);
ABI_ASSERT(args_size, sizeof(mhc_args_t) == 8 + 39 * sizeof(void*) + 16);
ABI_ASSERT(tensor_info_size, sizeof(mhc_tensor_info_t) == 8 + sizeof(void*) + 16 + 8 * MHC_TENSOR_MAX_RANK + 8);
ABI_ASSERT(status_width, sizeof(mhc_status_t) == 4);
ABI_ASSERT(version, MHC_VERSION == MHC_VERSION_MAJOR * 10000 + MHC_VERSION_MINOR * 100 + MHC_VERSION_PATCH);
ABI_ASSERT(abi, MHC_ABI_VERSION >= 1);
ABI_ASSERT(category, MHC_STATUS_CATEGORY(MHC_STATUS_BAD_PARAM_SHAPE) == MHC_STATUS_BAD_PARAM);
ABI_ASSERT(backend_any, MHC_BACKEND_ANY == (MHC_BACKEND_CUDA | MHC_BACKEND_HOST));

static int failures = 0;
#define EXPECT(cond)                                              \
  do {                                                            \
    if (!(cond)) {                                                \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                 \
    }                                                             \
  } while (0)

static const mhc_status_t kStatuses[] = {
    MHC_STATUS_SUCCESS,
    MHC_STATUS_BAD_PARAM, MHC_STATUS_BAD_PARAM_NULL_POINTER, MHC_STATUS_BAD_PARAM_STRUCT_SIZE,
    MHC_STATUS_BAD_PARAM_SHAPE, MHC_STATUS_BAD_PARAM_VALUE, MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM,
    MHC_STATUS_BAD_PARAM_MISALIGNED, MHC_STATUS_BAD_PARAM_WORKSPACE, MHC_STATUS_BAD_PARAM_MEMORY_SPACE,
    MHC_STATUS_BAD_PARAM_ABI_MISMATCH, MHC_STATUS_BAD_PARAM_DEVICE,
    MHC_STATUS_NOT_SUPPORTED, MHC_STATUS_NOT_SUPPORTED_NO_DEVICE, MHC_STATUS_NOT_SUPPORTED_SKU,
    MHC_STATUS_NOT_SUPPORTED_GUARANTEE, MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP,
    MHC_STATUS_INTERNAL, MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED, MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED,
    MHC_STATUS_EXECUTION_FAILED, MHC_STATUS_EXECUTION_FAILED_CUDA, MHC_STATUS_EXECUTION_FAILED_LAUNCH};

static const mhc_op_t kOps[] = {MHC_OP_PRENORM_GEMM, MHC_OP_PRE_FUSE,   MHC_OP_PRE,
                                MHC_OP_POST,         MHC_OP_HEAD,       MHC_OP_EXPAND,
                                MHC_OP_STATIC_PRE,   MHC_OP_STATIC_POST, MHC_OP_STATIC_LAYER,
                                MHC_OP_PRE_BACKWARD, MHC_OP_POST_BACKWARD, MHC_OP_HEAD_BACKWARD,
                                MHC_OP_EXPAND_BACKWARD, MHC_OP_STATIC_PRE_BACKWARD, MHC_OP_STATIC_POST_BACKWARD,
                                MHC_OP_STATIC_LAYER_BACKWARD};
static const mhc_sku_t kSkus[] = {MHC_SKU_HOST_PRENORM_GEMM, MHC_SKU_HOST_PRE_FUSE,   MHC_SKU_HOST_PRE,
                                  MHC_SKU_HOST_POST,         MHC_SKU_HOST_HEAD,       MHC_SKU_HOST_EXPAND,
                                  MHC_SKU_HOST_STATIC_PRE,   MHC_SKU_HOST_STATIC_POST, MHC_SKU_HOST_STATIC_LAYER,
                                  MHC_SKU_HOST_PRE_BACKWARD, MHC_SKU_HOST_POST_BACKWARD, MHC_SKU_HOST_HEAD_BACKWARD,
                                  MHC_SKU_HOST_EXPAND_BACKWARD, MHC_SKU_HOST_STATIC_PRE_BACKWARD,
                                  MHC_SKU_HOST_STATIC_POST_BACKWARD, MHC_SKU_HOST_STATIC_LAYER_BACKWARD};
static const mhc_dtype_t kDtypes[] = {MHC_DTYPE_BF16, MHC_DTYPE_FP32, MHC_DTYPE_TF32, MHC_DTYPE_FP64, MHC_DTYPE_TF32X3};

static void library_calls(void) {
  size_t i;
  char msg[256];
  int32_t devices = -1;
  EXPECT(mhc_check_abi(MHC_ABI_VERSION) == MHC_STATUS_SUCCESS);
  EXPECT(mhc_check_abi(MHC_ABI_VERSION + 1) == MHC_STATUS_BAD_PARAM_ABI_MISMATCH);
  EXPECT(mhc_get_last_error(msg, sizeof msg) > 0 && strstr(msg, "abi_version") != NULL);
  EXPECT(mhc_get_version() == MHC_VERSION);
  EXPECT(mhc_get_abi_version() == MHC_ABI_VERSION);
  EXPECT(mhc_get_version_string() != NULL && mhc_get_version_string()[0] != '\0');
  EXPECT(mhc_cuda_device_count(&devices) == MHC_STATUS_SUCCESS && devices >= 0);
  for (i = 0; i < sizeof kStatuses / sizeof kStatuses[0]; ++i)
    EXPECT(strncmp(mhc_status_string(kStatuses[i]), "MHC_STATUS_", 11) == 0);
  for (i = 0; i < sizeof kSkus / sizeof kSkus[0]; ++i) EXPECT(mhc_sku_name(kSkus[i]) != NULL);
  EXPECT(mhc_sku_name(MHC_SKU_NONE) == NULL);
  for (i = 0; i < sizeof kOps / sizeof kOps[0]; ++i)
    EXPECT(mhc_op_name(kOps[i]) != NULL && strncmp(mhc_op_name(kOps[i]), "MHC_OP_", 7) == 0);
  EXPECT(mhc_op_name(0) == NULL);
  for (i = 0; i < sizeof kDtypes / sizeof kDtypes[0]; ++i) EXPECT(kDtypes[i] > 0);
}

static void struct_calls(void) {
  size_t i;
  mhc_desc_t macro_desc = MHC_DESC_INIT, fn_desc;
  mhc_preference_t macro_pref = MHC_PREFERENCE_INIT, fn_pref;
  mhc_args_t macro_args = MHC_ARGS_INIT, fn_args;
  for (i = 0; i < sizeof kOps / sizeof kOps[0]; ++i) {
    EXPECT(mhc_desc_init(&fn_desc, kOps[i]) == MHC_STATUS_SUCCESS);
    EXPECT(fn_desc.op == kOps[i]);
    /* family B (and its backward, 64 + its id): fp32 */
    EXPECT(fn_desc.act_dtype == (kOps[i] % 64 >= MHC_OP_STATIC_PRE && kOps[i] % 64 <= MHC_OP_STATIC_LAYER
                                     ? MHC_DTYPE_FP32
                                     : MHC_DTYPE_BF16));
  }
  EXPECT(mhc_desc_init(&fn_desc, MHC_OP_PRE) == MHC_STATUS_SUCCESS);
  fn_desc.op = macro_desc.op;
  EXPECT(memcmp(&macro_desc, &fn_desc, sizeof fn_desc) == 0);
  EXPECT(mhc_preference_init(&fn_pref) == MHC_STATUS_SUCCESS);
  EXPECT(memcmp(&macro_pref, &fn_pref, sizeof fn_pref) == 0);
  EXPECT(mhc_args_init(&fn_args) == MHC_STATUS_SUCCESS);
  EXPECT(memcmp(&macro_args, &fn_args, sizeof fn_args) == 0);
  EXPECT(macro_pref.max_workspace_bytes == UINT64_MAX && macro_pref.required == 0u);
  EXPECT((MHC_GUARANTEE_DETERMINISTIC | MHC_GUARANTEE_BIT_STABLE | MHC_GUARANTEE_BATCH_INVARIANT |
          MHC_GUARANTEE_NO_ATOMICS) == 0xfu);
  EXPECT(MHC_DESC_FLAG_SPLIT_PARTIALS == 1u);
  EXPECT(macro_args.grad_accumulate == 0u && macro_args.reserved1 == 0u && macro_args.out_grad_base == NULL);
  EXPECT((MHC_GRAD_ACCUMULATE_RESIDUAL | MHC_GRAD_ACCUMULATE_LAYER_OUTPUT | MHC_GRAD_ACCUMULATE_POST_MIX |
          MHC_GRAD_ACCUMULATE_COMB_MIX | MHC_GRAD_ACCUMULATE_EMBEDDING | MHC_GRAD_ACCUMULATE_FN |
          MHC_GRAD_ACCUMULATE_SCALE | MHC_GRAD_ACCUMULATE_BASE) == 0xffu);
  EXPECT(macro_args.out_grad_h_pre == NULL && macro_args.out_grad_norm_weight == NULL);
  EXPECT((MHC_GRAD_ACCUMULATE_H_PRE | MHC_GRAD_ACCUMULATE_H_POST | MHC_GRAD_ACCUMULATE_H_RES |
          MHC_GRAD_ACCUMULATE_NORM_WEIGHT) == 0xf00u);
}

/* A host expand plan, end to end: R[t, i, :] = E[t, :]. */
static void run_expand(void) {
  enum { T = 3, N_STREAMS = 4, C = 10 };
  uint16_t embedding[T * C], residual[T * N_STREAMS * C];
  mhc_desc_t desc = MHC_DESC_INIT;
  mhc_preference_t pref = MHC_PREFERENCE_INIT;
  mhc_args_t args = MHC_ARGS_INIT;
  mhc_precision_guarantee_t guarantee;
  mhc_tensor_info_t info;
  int32_t count = 0;
  mhc_plan_t plan = NULL;
  mhc_sku_t sku = MHC_SKU_NONE;
  size_t workspace = 1;
  int t, i, x;
  for (i = 0; i < T * C; ++i) embedding[i] = (uint16_t)(0x3f80 + i); /* 1.0, 1.0078, ... */
  for (i = 0; i < T * N_STREAMS * C; ++i) residual[i] = 0x7fa5;       /* poison */
  desc.op = MHC_OP_EXPAND;
  desc.tokens = T;
  desc.n = N_STREAMS;
  desc.hidden = C;
  pref.backends = MHC_BACKEND_HOST;
  pref.required = MHC_GUARANTEE_DETERMINISTIC;
  EXPECT(mhc_plan_select(&desc, &pref, &plan) == MHC_STATUS_SUCCESS && plan != NULL);
  EXPECT(mhc_plan_get_sku(plan, &sku) == MHC_STATUS_SUCCESS && sku == MHC_SKU_HOST_EXPAND);
  EXPECT(mhc_plan_workspace_size(plan, &workspace) == MHC_STATUS_SUCCESS && workspace == 0);
  guarantee.struct_size = sizeof guarantee;
  EXPECT(mhc_plan_get_precision_guarantee(plan, &guarantee) == MHC_STATUS_SUCCESS);
  EXPECT(guarantee.accumulator == MHC_DTYPE_FP64 && (guarantee.flags & MHC_GUARANTEE_DETERMINISTIC));
  EXPECT(mhc_plan_get_desc(plan, &desc) == MHC_STATUS_SUCCESS && desc.tokens == T);
  EXPECT(mhc_plan_get_tensor_count(plan, &count) == MHC_STATUS_SUCCESS && count == 2);
  info.struct_size = sizeof info;
  EXPECT(mhc_plan_get_tensor_info(plan, 1, &info) == MHC_STATUS_SUCCESS);
  EXPECT(strcmp(info.field, "out_residual") == 0 && info.role == MHC_TENSOR_ROLE_OUTPUT);
  EXPECT(info.field_offset == offsetof(mhc_args_t, out_residual) && info.dtype == MHC_DTYPE_BF16);
  EXPECT(info.rank == 3 && info.shape[0] == T && info.shape[1] == N_STREAMS && info.shape[2] == C);
  EXPECT(info.shape[3] == 0 && info.token_dim == 0 && info.required == 1);
  EXPECT(mhc_plan_get_tensor_info(plan, 2, &info) == MHC_STATUS_BAD_PARAM_VALUE);
  args.embedding = embedding;
  args.out_residual = residual;
  EXPECT(mhc_plan_can_implement(plan, &args) == MHC_STATUS_SUCCESS);
  args.tokens = T + 1;
  EXPECT(mhc_plan_run(plan, NULL, NULL, 0, &args) == MHC_STATUS_BAD_PARAM_SHAPE);
  EXPECT(residual[0] == 0x7fa5);
  args.tokens = 1; /* the first token only: the rest stays poisoned */
  EXPECT(mhc_plan_run(plan, NULL, NULL, 0, &args) == MHC_STATUS_SUCCESS);
  EXPECT(residual[0] == embedding[0] && residual[N_STREAMS * C] == 0x7fa5);
  args.tokens = 0;
  EXPECT(mhc_plan_run(plan, NULL, NULL, 0, &args) == MHC_STATUS_SUCCESS);
  for (t = 0; t < T; ++t)
    for (i = 0; i < N_STREAMS; ++i)
      for (x = 0; x < C; ++x) EXPECT(residual[(t * N_STREAMS + i) * C + x] == embedding[t * C + x]);
  args.embedding = (const char*)embedding + 1;
  EXPECT(mhc_plan_run(plan, NULL, NULL, 0, &args) == MHC_STATUS_BAD_PARAM_MISALIGNED);
  EXPECT(mhc_plan_destroy(plan) == MHC_STATUS_SUCCESS);
  EXPECT(mhc_plan_destroy(NULL) == MHC_STATUS_SUCCESS);
}

int main(void) {
  library_calls();
  struct_calls();
  run_expand();
  if (failures != 0) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c99_header: ok\n");
  return 0;
}
