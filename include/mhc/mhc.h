/*
 * libmhc: manifold-constrained hyper-connections (DeepSeek-V4 mHC), stable C ABI.
 *
 * Plain C99. No CUDA headers: a stream is a `void*` holding a cudaStream_t (NULL = the legacy
 * default stream). Every function returns an mhc_status_t; outputs go through out-pointers.
 * No C enum crosses the ABI: every enumerated value is an int32_t/uint32_t typedef plus #defines,
 * so a value from a newer library is never undefined behaviour in an older binding.
 *
 * Lifecycle: mhc_desc_init -> mhc_plan_select -> mhc_plan_can_implement ->
 *            mhc_plan_workspace_size -> mhc_plan_run (many times) -> mhc_plan_destroy.
 * The exact semantics of every op are in docs/numerics.md; each op's tensors in docs/ops/.
 */
#ifndef MHC_MHC_H_
#define MHC_MHC_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(MHC_BUILDING_LIBRARY)
#    define MHC_API __declspec(dllexport)
#  else
#    define MHC_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define MHC_API __attribute__((visibility("default")))
#else
#  define MHC_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Versioning. The ABI version changes only on an incompatible change (it is the SONAME major).
 * ------------------------------------------------------------------------------------------- */
#define MHC_VERSION_MAJOR 0
#define MHC_VERSION_MINOR 5
#define MHC_VERSION_PATCH 0
#define MHC_VERSION (MHC_VERSION_MAJOR * 10000 + MHC_VERSION_MINOR * 100 + MHC_VERSION_PATCH)
#define MHC_ABI_VERSION 1

/* ---------------------------------------------------------------------------------------------
 * Status codes: category * 1000 + detail (cuDNN 9 style). MHC_STATUS_CATEGORY(s) gives the
 * category of any code, also of codes a newer library adds inside a known category.
 * ------------------------------------------------------------------------------------------- */
typedef int32_t mhc_status_t;
#define MHC_STATUS_CATEGORY(s) (((s) / 1000) * 1000)

#define MHC_STATUS_SUCCESS                        0

#define MHC_STATUS_BAD_PARAM                      2000
#define MHC_STATUS_BAD_PARAM_NULL_POINTER         2001 /* a required pointer is NULL            */
#define MHC_STATUS_BAD_PARAM_STRUCT_SIZE          2002 /* struct_size too small, or a non-zero  */
                                                       /* tail this library does not know       */
#define MHC_STATUS_BAD_PARAM_SHAPE                2003 /* T, n, C or S out of range             */
#define MHC_STATUS_BAD_PARAM_VALUE                2004 /* eps, repeat, post_mult, flags         */
#define MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM         2005 /* unknown op, dtype, backend, sku       */
#define MHC_STATUS_BAD_PARAM_MISALIGNED           2006 /* pointer misaligned for the SKU        */
#define MHC_STATUS_BAD_PARAM_WORKSPACE            2007 /* workspace too small or misaligned     */
#define MHC_STATUS_BAD_PARAM_MEMORY_SPACE         2008 /* host pointer to a CUDA SKU or reverse */
#define MHC_STATUS_BAD_PARAM_ABI_MISMATCH         2009 /* mhc_check_abi: header != library      */
#define MHC_STATUS_BAD_PARAM_DEVICE               2010 /* a CUDA plan used with another device's */
                                                       /* memory or stream, or another current  */
                                                       /* device (since 0.2)                    */

#define MHC_STATUS_NOT_SUPPORTED                  3000 /* no SKU implements the problem         */
#define MHC_STATUS_NOT_SUPPORTED_NO_DEVICE        3001 /* backend CUDA asked, no usable device  */
#define MHC_STATUS_NOT_SUPPORTED_SKU              3002 /* the forced SKU cannot implement it    */
#define MHC_STATUS_NOT_SUPPORTED_GUARANTEE        3003 /* required guarantees not available     */
#define MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP    3004 /* every SKU needs more than the cap     */

#define MHC_STATUS_INTERNAL                       4000
#define MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED     4001
#define MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED   4002

#define MHC_STATUS_EXECUTION_FAILED               5000
#define MHC_STATUS_EXECUTION_FAILED_CUDA          5001 /* a CUDA runtime call failed            */
#define MHC_STATUS_EXECUTION_FAILED_LAUNCH        5002 /* a kernel launch failed                */

/* ---------------------------------------------------------------------------------------------
 * Enumerations (int32_t values; unknown values are rejected with BAD_PARAM_UNKNOWN_ENUM).
 * ------------------------------------------------------------------------------------------- */
typedef int32_t mhc_op_t;
/* Family A: dynamic (DeepSeek-V4) hyper-connections, bf16 residual. */
#define MHC_OP_PRENORM_GEMM   1  /* A1: D = A w(fn)^T, Q = sum A^2, split-K partials or reduced */
#define MHC_OP_PRE_FUSE       2  /* A2: RMS, gates, Sinkhorn, layer_input from (D, Q)           */
#define MHC_OP_PRE            3  /* A3: A1 then A2                                              */
#define MHC_OP_POST           4  /* A4: out = post X + comb^T R                                 */
#define MHC_OP_HEAD           5  /* A5: final-layer pre mix, N = n                              */
#define MHC_OP_EXPAND         6  /* A6: R[t,i,:] = E[t,:]                                       */
/* The layer boundary (A7): post of one sublayer, then the next sublayer's pre, in one op. */
#define MHC_OP_BOUNDARY          7  /* post, mix of the new H, collapse (+ RMSNorm); V4, or V4.1    */
                                    /* with MHC_DESC_FLAG_SHIFTED (collapse with the carried pre) */
#define MHC_OP_BOUNDARY_COLLAPSE 8  /* V4.1 critical part: post, collapse with the carried pre   */
                                    /* (+ RMSNorm); also the V4.1 head                            */
#define MHC_OP_BOUNDARY_MIX      9  /* V4.1 mix part: pre, post, comb of H (no layer input)      */
#define MHC_OP_BOUNDARY_FIRST    10 /* first boundary: H = expand(E), its mix, collapse (+ norm) */
/* Family B: static hyper-connections (HyperConnectionPlan, Tier 1). */
#define MHC_OP_STATIC_PRE     16 /* B1: layer_input = RMSNorm(sum_i s_pre[i] x_i) * w           */
#define MHC_OP_STATIC_POST    17 /* B2: out = M x + s_post F                                    */
#define MHC_OP_STATIC_LAYER   18 /* B3: B2(B1) with F = B1's output                             */
/* 64 and up: backward ops (training; since 0.4), id = 64 + the forward op's id. Each reads the
 * gradients of its forward's outputs (args.grad_*) and writes those of its inputs
 * (args.out_grad_*); args.grad_accumulate picks, per gradient output, overwrite or add. */
#define MHC_OP_PRE_BACKWARD    67 /* A3': dR, dfn, dscale, dbase from dlayer_input, dpost, dcomb */
#define MHC_OP_POST_BACKWARD   68 /* A4': dX, dR, dpost, dcomb from dout                         */
#define MHC_OP_HEAD_BACKWARD   69 /* A5': dR, dfn, dscale, dbase from dy (N = n)                 */
#define MHC_OP_EXPAND_BACKWARD 70 /* A6': dE[t,:] = sum_i dR[t,i,:]                              */
/* Family B backward (since 0.5): dx and the parameters' gradients, through the guarded Sinkhorn. */
#define MHC_OP_STATIC_PRE_BACKWARD   80 /* B1': dx, dh_pre, dw from dlayer_input                 */
#define MHC_OP_STATIC_POST_BACKWARD  81 /* B2': dx, dF, dh_post, dh_res from dout                */
#define MHC_OP_STATIC_LAYER_BACKWARD 82 /* B3': dx, dh_pre, dh_post, dh_res, dw from dout        */

typedef int32_t mhc_dtype_t;
#define MHC_DTYPE_BF16 1
#define MHC_DTYPE_FP32 2
#define MHC_DTYPE_TF32 3 /* a math precision / weight precision, never a storage dtype */
#define MHC_DTYPE_FP64 4 /* a math precision / accumulator (the host backend)        */
#define MHC_DTYPE_TF32X3 5 /* weight precision: fn = hi + lo, both tf32 (about fp32)  */

typedef uint32_t mhc_backend_mask_t;
#define MHC_BACKEND_CUDA 0x1u
#define MHC_BACKEND_HOST 0x2u
#define MHC_BACKEND_ANY  0x3u /* CUDA when a device is present, else the host backend */

/* Guarantees a plan makes (mhc_precision_guarantee_t.flags) and a caller may require. */
typedef uint32_t mhc_guarantee_flags_t;
#define MHC_GUARANTEE_DETERMINISTIC   0x1u /* two runs on the same inputs: bit-identical     */
#define MHC_GUARANTEE_BIT_STABLE      0x2u /* bit-identical across plans/processes, same GPU */
#define MHC_GUARANTEE_BATCH_INVARIANT 0x4u /* a token's row does not depend on T             */
#define MHC_GUARANTEE_NO_ATOMICS      0x8u /* no atomic read-modify-write in any reduction   */

/* mhc_desc_t.flags */
#define MHC_DESC_FLAG_SPLIT_PARTIALS  0x1u /* A1: write partials [S,T,N]/[S,T];               */
                                           /* A2: read partials [S,T,N]/[S,T] (else reduced)  */
#define MHC_DESC_FLAG_SHIFTED         0x2u /* BOUNDARY, BOUNDARY_FIRST: V4.1 shifted collapse */
                                           /* (the carried pre; FIRST: u = E)                 */
#define MHC_DESC_FLAG_NORM            0x4u /* BOUNDARY*, not MIX: RMSNorm of the layer input  */
                                           /* with args->norm_weight, norm_eps, norm_scale    */

/* mhc_args_t.grad_accumulate (since 0.4): one bit per gradient output of the backward ops.
 * Set: the op adds its gradient to the output's current contents (beta 1; a bf16 output becomes
 * bf16(old + gradient), one rounding of the fp64 sum). Clear: the op overwrites the output
 * (beta 0) and never reads it. A bit for an output the op does not write is BAD_PARAM_VALUE. */
#define MHC_GRAD_ACCUMULATE_RESIDUAL     0x01u /* out_grad_residual     */
#define MHC_GRAD_ACCUMULATE_LAYER_OUTPUT 0x02u /* out_grad_layer_output */
#define MHC_GRAD_ACCUMULATE_POST_MIX     0x04u /* out_grad_post_mix     */
#define MHC_GRAD_ACCUMULATE_COMB_MIX     0x08u /* out_grad_comb_mix     */
#define MHC_GRAD_ACCUMULATE_EMBEDDING    0x10u /* out_grad_embedding    */
#define MHC_GRAD_ACCUMULATE_FN           0x20u /* out_grad_fn           */
#define MHC_GRAD_ACCUMULATE_SCALE        0x40u /* out_grad_scale        */
#define MHC_GRAD_ACCUMULATE_BASE         0x80u /* out_grad_base         */
/* since 0.5: the family B parameters */
#define MHC_GRAD_ACCUMULATE_H_PRE        0x100u /* out_grad_h_pre       */
#define MHC_GRAD_ACCUMULATE_H_POST       0x200u /* out_grad_h_post      */
#define MHC_GRAD_ACCUMULATE_H_RES        0x400u /* out_grad_h_res       */
#define MHC_GRAD_ACCUMULATE_NORM_WEIGHT  0x800u /* out_grad_norm_weight */

/* Kernel SKUs: stable ids. (backend/arch << 16) | (op << 8) | variant. */
typedef uint32_t mhc_sku_t;
#define MHC_SKU_NONE 0u /* in mhc_preference_t.forced_sku: let select choose */
#define MHC_SKU_HOST_PRENORM_GEMM 0x00010100u
#define MHC_SKU_HOST_PRE_FUSE     0x00010200u
#define MHC_SKU_HOST_PRE          0x00010300u
#define MHC_SKU_HOST_POST         0x00010400u
#define MHC_SKU_HOST_HEAD         0x00010500u
#define MHC_SKU_HOST_EXPAND       0x00010600u
#define MHC_SKU_HOST_BOUNDARY          0x00010700u
#define MHC_SKU_HOST_BOUNDARY_COLLAPSE 0x00010800u
#define MHC_SKU_HOST_BOUNDARY_MIX      0x00010900u
#define MHC_SKU_HOST_BOUNDARY_FIRST    0x00010a00u
#define MHC_SKU_HOST_STATIC_PRE   0x00011000u
#define MHC_SKU_HOST_STATIC_POST  0x00011100u
#define MHC_SKU_HOST_STATIC_LAYER 0x00011200u
#define MHC_SKU_HOST_PRE_BACKWARD    0x00014300u
#define MHC_SKU_HOST_POST_BACKWARD   0x00014400u
#define MHC_SKU_HOST_HEAD_BACKWARD   0x00014500u
#define MHC_SKU_HOST_EXPAND_BACKWARD 0x00014600u
#define MHC_SKU_HOST_STATIC_PRE_BACKWARD   0x00015000u
#define MHC_SKU_HOST_STATIC_POST_BACKWARD  0x00015100u
#define MHC_SKU_HOST_STATIC_LAYER_BACKWARD 0x00015200u
/* CUDA, portable (sm_80 and newer): tf32 mma.sync GEMM, 16-byte bandwidth kernels. */
#define MHC_SKU_SM80_PRENORM_GEMM 0x00500100u
#define MHC_SKU_SM80_PRE_FUSE     0x00500200u
#define MHC_SKU_SM80_PRE          0x00500300u
#define MHC_SKU_SM80_POST         0x00500400u
#define MHC_SKU_SM80_HEAD         0x00500500u
#define MHC_SKU_SM80_EXPAND       0x00500600u
/* CUDA, portable: backward (training). Since 0.4. */
#define MHC_SKU_SM80_POST_BACKWARD   0x00504400u
#define MHC_SKU_SM80_EXPAND_BACKWARD 0x00504600u
#define MHC_SKU_SM80_PRE_BACKWARD    0x00504300u
#define MHC_SKU_SM80_HEAD_BACKWARD   0x00504500u
/* CUDA, portable (sm_80 and newer): static-H layer (family B), one row-fused persistent kernel. */
#define MHC_SKU_SM80_STATIC_PRE   0x00501000u
#define MHC_SKU_SM80_STATIC_POST  0x00501100u
#define MHC_SKU_SM80_STATIC_LAYER 0x00501200u
#define MHC_SKU_SM80_STATIC_LAYER_1STAGE 0x00501201u /* one row buffer per row slot */
/* CUDA, portable: backward (training) of the static-H layer (family B): a persistent row kernel,
 * the parameters' gradients reduced in a fixed order through a workspace, a finalize in fp64.
 * Since 0.5. */
#define MHC_SKU_SM80_STATIC_PRE_BACKWARD   0x00505000u
#define MHC_SKU_SM80_STATIC_POST_BACKWARD  0x00505100u
#define MHC_SKU_SM80_STATIC_LAYER_BACKWARD 0x00505200u
/* The same with the row buffer refilled while the row is worked on (one buffer per row slot: each
 * thread copies the bytes it reads, the next row's as soon as it is done with them) and the
 * finalize's Sinkhorn reverse on one warp for n <= 5; the same bits. Selected only when forced
 * until measured. Since 0.5. */
#define MHC_SKU_SM80_STATIC_PRE_BACKWARD_STREAMED   0x00505001u
#define MHC_SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED 0x00505201u
/* CUDA, portable: the fused pre stage over blocks of 8 tokens (partials summed once per token). */
#define MHC_SKU_SM80_PRE_FUSE_TOKENS 0x00500201u
/* CUDA, portable: the layer boundary. Critical path: post + collapse + RMSNorm in one kernel, a
 * CTA per token; mix part: the split-K two-pass pre engine on the new residual. */
#define MHC_SKU_SM80_BOUNDARY          0x00500700u
#define MHC_SKU_SM80_BOUNDARY_COLLAPSE 0x00500800u
#define MHC_SKU_SM80_BOUNDARY_MIX      0x00500900u
#define MHC_SKU_SM80_BOUNDARY_FIRST    0x00500a00u
/* CUDA, Hopper (sm_90): the same kernels chained with programmatic dependent launch. */
#define MHC_SKU_SM90_PRENORM_GEMM 0x00900100u
#define MHC_SKU_SM90_PRE          0x00900300u
#define MHC_SKU_SM90_HEAD         0x00900500u
/* CUDA, Hopper (sm_90): one launch, fn slots resident in shared memory, the residual read once
 * from DRAM (the fuse re-reads a token block from L2). TB16: 16-token blocks (same bits). */
#define MHC_SKU_SM90_PRENORM_GEMM_ONEPASS 0x00900101u
#define MHC_SKU_SM90_PRENORM_GEMM_NARROW  0x00900102u /* split-K GEMM without the wide-token kernel */
#define MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS 0x00900103u /* wide-token kernel with A in registers, not staged */
#define MHC_SKU_SM90_PRE_ONEPASS          0x00900301u
#define MHC_SKU_SM90_PRE_ONEPASS_TB16     0x00900302u
#define MHC_SKU_SM90_HEAD_ONEPASS         0x00900501u
/* CUDA, Hopper (sm_90): the split-K two-pass engine with its GEMM on bf16 tensor cores (fn as
 * exact bf16 terms, no conversion of the residual) for plans whose split count comes from T and
 * runs of >= 1024 tokens; other bits than the tf32 SKUs, the same tolerance. Since 0.5. */
#define MHC_SKU_SM90_PRENORM_GEMM_BF16    0x00900104u
#define MHC_SKU_SM90_PRE_BF16             0x00900303u
/* CUDA, Hopper (sm_90): the head in one launch on clusters of 8 CTAs (the residual read once from
 * DRAM, the ranks' partials added through distributed shared memory in rank order); n <= 4, C a
 * multiple of 1024 up to 8192. The default for plans of >= 256 tokens that do not require
 * MHC_GUARANTEE_BATCH_INVARIANT (which kernel a head plan gets depends on desc.tokens). Since 0.5. */
#define MHC_SKU_SM90_HEAD_CLUSTER         0x00900502u
/* CUDA, Hopper (sm_90): as MHC_SKU_SM90_HEAD_CLUSTER, its cluster barrier split around the next
 * block's partials (the same bits); selected only when forced. Since 0.5. */
#define MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED 0x00900503u
/* CUDA, Hopper (sm_90): pre for decode-size runs in one launch on clusters of 16 CTAs (each a
 * 1/16 slice of C and of fn in shared memory, the ranks' partials added through distributed shared
 * memory in rank order, no partial through global memory); n <= 4, C a multiple of 128; plans that
 * neither require MHC_GUARANTEE_BATCH_INVARIANT nor set desc.num_splits. BOUNDARY_CLUSTER: the A7
 * boundary (V4 or shifted) in one launch of that kernel, then the RMSNorm's. Selected only when
 * forced until measured on a GPU. Since 0.5. */
#define MHC_SKU_SM90_PRE_CLUSTER          0x00900304u
#define MHC_SKU_SM90_BOUNDARY_CLUSTER     0x00900700u
/* CUDA, Hopper (sm_90): the pre and head backward per block of 256 tokens (the token kernel, then
 * the column kernel while the block's residual is in L2), chained with programmatic dependent
 * launch; the same bits as the sm80 SKUs. Selected only when forced until measured. Since 0.5. */
#define MHC_SKU_SM90_PRE_BACKWARD_CHUNKED  0x00904300u
#define MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED 0x00904500u

/* ---------------------------------------------------------------------------------------------
 * Descriptor: the problem. Fill it with mhc_desc_init (or MHC_DESC_INIT), then set op and dims.
 * struct_size rule (Linux copy_struct_from_user): a smaller struct from an older caller is
 * zero-extended; bytes past this library's struct must be zero, else BAD_PARAM_STRUCT_SIZE.
 * ------------------------------------------------------------------------------------------- */
typedef struct mhc_desc {
  uint32_t    struct_size;      /* sizeof(mhc_desc_t)                                        */
  mhc_op_t    op;               /* MHC_OP_*                                                  */
  int64_t     tokens;           /* T (family A) or B (family B), >= 1                        */
  int64_t     hidden;           /* C, >= 1                                                   */
  int32_t     n;                /* streams: 1..8 (family A), 1..32 (family B)                */
  int32_t     num_splits;       /* S: A1/A3 split-K count (0 = default policy), A2 partials  */
  mhc_dtype_t act_dtype;        /* residual dtype: BF16 (family A); FP32 or BF16 (family B)  */
  mhc_dtype_t weight_precision; /* A1/A3/A5 fn precision: TF32 (default), TF32X3 or FP32    */
  int32_t     sinkhorn_repeat;  /* A: sinkhorn_repeat; B: sinkhorn_iters. 1..1000, default 20 */
  uint32_t    flags;            /* MHC_DESC_FLAG_*                                           */
  float       rms_eps;          /* A: 1e-6                                                   */
  float       pre_eps;          /* A: 1e-6                                                   */
  float       sinkhorn_eps;     /* A: 1e-6                                                   */
  float       post_mult;        /* A: 2.0                                                    */
  float       static_eps;       /* B: 1e-5, the RMS eps and the Sinkhorn guard               */
  uint32_t    reserved0;        /* must be 0                                                 */
  /* since 0.3 */
  float       norm_eps;         /* A7 RMSNorm of the layer input (MHC_DESC_FLAG_NORM): 1e-6  */
  float       norm_scale;       /* A7 RMSNorm: x = bf16(u * rsqrt(...) * (w * norm_scale)): 1 */
} mhc_desc_t;

#define MHC_DESC_INIT                                                                        \
  { (uint32_t)sizeof(mhc_desc_t), 0, 0, 0, 4, 0, MHC_DTYPE_BF16, MHC_DTYPE_TF32, 20, 0u,      \
    1e-6f, 1e-6f, 1e-6f, 2.0f, 1e-5f, 0u, 1e-6f, 1.0f }

/* Preference: which backends, how much workspace, what must be guaranteed, a forced SKU. */
typedef struct mhc_preference {
  uint32_t              struct_size;         /* sizeof(mhc_preference_t)                      */
  mhc_backend_mask_t    backends;            /* MHC_BACKEND_*; default ANY                    */
  uint64_t              max_workspace_bytes; /* cap on mhc_plan_workspace_size; default none  */
  mhc_guarantee_flags_t required;            /* MHC_GUARANTEE_* the plan must make            */
  mhc_sku_t             forced_sku;          /* MHC_SKU_NONE or the SKU to use                */
} mhc_preference_t;

#define MHC_PREFERENCE_INIT \
  { (uint32_t)sizeof(mhc_preference_t), MHC_BACKEND_ANY, UINT64_MAX, 0u, MHC_SKU_NONE }

/* Written by the library (as mhc_desc_t is by mhc_plan_get_desc). The caller sets struct_size;
 * the library writes the fields both know, keeps struct_size, and zeroes the bytes from the end
 * of its own struct up to struct_size (the fields of a newer header read as 0). */
typedef struct mhc_precision_guarantee {
  uint32_t              struct_size;    /* set by the caller: sizeof(mhc_precision_guarantee_t) */
  mhc_dtype_t           math_precision; /* TF32, FP32 or FP64: the products                     */
  mhc_dtype_t           accumulator;    /* FP32 or FP64                                         */
  mhc_guarantee_flags_t flags;          /* MHC_GUARANTEE_*                                      */
} mhc_precision_guarantee_t;

/* ---------------------------------------------------------------------------------------------
 * Tensors of one run. Which fields an op reads or writes is listed per op in docs/c_abi.md.
 * All tensors are contiguous row-major. Unused fields must be NULL. struct_size as above.
 * ------------------------------------------------------------------------------------------- */
typedef struct mhc_args {
  uint32_t    struct_size;       /* sizeof(mhc_args_t)                                         */
  uint32_t    reserved0;         /* must be 0                                                  */
  /* inputs */
  const void* residual;          /* R [T,n,C] (A1-A5, A3'-A5'; family B, B': x [B,n,C])        */
  const void* fn;                /* fp32 [N,K] (A1, A3, A3'); fn_head [n,K] (A5, A5')          */
  const void* scale;             /* fp32 [3] (A2, A3, A3'); scale_head [1] (A5, A5')           */
  const void* base;              /* fp32 [N] (A2, A3, A3'); base_head [n] (A5, A5')            */
  const void* gemm_out;          /* A2: D fp32 [T,N] or [S,T,N]; A3', A5': saved D [T,N]       */
  const void* sqrsum;            /* A2: Q fp32 [T] or [S,T];     A3', A5': saved Q [T]         */
  const void* layer_output;      /* A4, A4': X bf16 [T,C]; B2, B2': F [B,C] in act_dtype       */
  const void* post_mix;          /* A4, A4': fp32 [T,n]                                        */
  const void* comb_mix;          /* A4, A4': fp32 [T,n,n]                                      */
  const void* embedding;         /* A6: E bf16 [T,C]                                           */
  const void* norm_weight;       /* B1, B3, B1', B3': bf16 [C]                                 */
  const void* h_pre;             /* B1, B3, B1', B3': fp32 [n]                                 */
  const void* h_post;            /* B2, B3, B2', B3': fp32 [n]                                 */
  const void* h_res;             /* B2, B3, B2', B3': fp32 [n,n]                               */
  /* outputs */
  void*       out_gemm;          /* A1: D [S,T,N] or [T,N]; A3, A5 (optional): reduced D [T,N] */
  void*       out_sqrsum;        /* A1: Q [S,T] or [T];     A3, A5 (optional): reduced Q [T]   */
  void*       out_post_mix;      /* A2, A3: fp32 [T,n]                                         */
  void*       out_comb_mix;      /* A2, A3: fp32 [T,n,n]                                       */
  void*       out_layer_input;   /* A2, A3: bf16 [T,C]; A5: y bf16 [T,C]; B1: [B,C] act_dtype  */
  void*       out_residual;      /* A4: bf16 [T,n,C]; A6: bf16 [T,n,C]; B2, B3: [B,n,C]        */
  void*       out_rms;           /* B1 (optional): fp32 [B]                                    */
  /* since 0.2 */
  int64_t     tokens;            /* this run's T (B): 1..desc.tokens; 0 = desc.tokens           */
  /* since 0.3 */
  const void* pre_mix;           /* A7 shifted, collapse: the carried pre p_prev fp32 [T,n]     */
  void*       out_pre_mix;       /* A7: this boundary's pre fp32 [T,n] (carried to the next)    */
  /* since 0.4: the backward ops (64+). grad_* are dL/d of the forward's outputs (inputs here),
   * out_grad_* dL/d of the forward's inputs. Saved activations: docs/training.md. */
  const void* grad_residual;     /* A4', A6': dL/d out_residual, bf16 [T,n,C]; B2', B3'         */
  const void* grad_layer_input;  /* A3', A5': dL/d out_layer_input, bf16 [T,C]; B1'             */
  const void* grad_post_mix;     /* A3': dL/d out_post_mix, fp32 [T,n]                          */
  const void* grad_comb_mix;     /* A3': dL/d out_comb_mix, fp32 [T,n,n]                        */
  void*       out_grad_residual;     /* A3'-A5': dL/d residual, bf16 [T,n,C]; B1'-B3'           */
  void*       out_grad_layer_output; /* A4': dL/d layer_output (dX), bf16 [T,C]; B2' (dF)       */
  void*       out_grad_post_mix;     /* A4': dL/d post_mix, fp32 [T,n]                          */
  void*       out_grad_comb_mix;     /* A4': dL/d comb_mix, fp32 [T,n,n]                        */
  void*       out_grad_embedding;    /* A6': dL/d embedding, bf16 [T,C]                         */
  void*       out_grad_fn;           /* A3': fp32 [N,K]; A5': [n,K] (sums over the run's T)     */
  void*       out_grad_scale;        /* A3': fp32 [3]; A5': [1]     (sums over the run's T)     */
  void*       out_grad_base;         /* A3': fp32 [N]; A5': [n]     (sums over the run's T)     */
  uint32_t    grad_accumulate;       /* MHC_GRAD_ACCUMULATE_* bits; 0: every gradient overwrites */
  uint32_t    reserved1;             /* must be 0                                               */
  /* since 0.5: the family B backward ops (B1'-B3'). They read and write grad_residual,
   * grad_layer_input, out_grad_residual and out_grad_layer_output in act_dtype ([B,...] shapes);
   * these are their parameters' gradients, fp32, sums over the run's B. */
  void*       out_grad_h_pre;        /* B1', B3': dL/d h_pre, fp32 [n]                          */
  void*       out_grad_h_post;       /* B2', B3': dL/d h_post, fp32 [n]                         */
  void*       out_grad_h_res;        /* B2', B3': dL/d h_res, fp32 [n,n]                        */
  void*       out_grad_norm_weight;  /* B1', B3': dL/d norm_weight, fp32 [C] (w itself is bf16) */
} mhc_args_t;

/* Every field spelled out: C99 -Wextra warns about a partial initializer list. */
#define MHC_ARGS_INIT                                                                        \
  { (uint32_t)sizeof(mhc_args_t), 0u,                                                        \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,      \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,                                 \
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0u, 0u,          \
    NULL, NULL, NULL, NULL }

/* ---------------------------------------------------------------------------------------------
 * Tensor info: what a plan reads and writes, for bindings that check tensors by shape.
 * mhc_plan_get_tensor_info writes it like mhc_precision_guarantee_t (the caller sets
 * struct_size). Shapes are for T = desc.tokens; the dimension token_dim is T and follows
 * args.tokens at run time.
 * ------------------------------------------------------------------------------------------- */
#define MHC_TENSOR_MAX_RANK 4

typedef int32_t mhc_tensor_role_t;
#define MHC_TENSOR_ROLE_INPUT  1
#define MHC_TENSOR_ROLE_OUTPUT 2

typedef struct mhc_tensor_info {
  uint32_t          struct_size;  /* set by the caller: sizeof(mhc_tensor_info_t)              */
  uint32_t          field_offset; /* offsetof(mhc_args_t, <field>)                             */
  const char*       field;        /* the mhc_args_t field name, "residual" (static storage)    */
  mhc_tensor_role_t role;         /* MHC_TENSOR_ROLE_INPUT or MHC_TENSOR_ROLE_OUTPUT           */
  mhc_dtype_t       dtype;        /* storage dtype: MHC_DTYPE_BF16 or MHC_DTYPE_FP32           */
  int32_t           required;     /* 1: must be set; 0: optional (NULL leaves it out)          */
  int32_t           rank;         /* 1..MHC_TENSOR_MAX_RANK                                    */
  int64_t           shape[MHC_TENSOR_MAX_RANK]; /* row-major, contiguous; unused entries 0     */
  int32_t           token_dim;    /* index of the T dimension in shape, or -1 (no T)           */
  int32_t           reserved0;    /* 0                                                         */
} mhc_tensor_info_t;

typedef struct mhc_plan_s* mhc_plan_t;

/* ---------------------------------------------------------------------------------------------
 * Library
 * ------------------------------------------------------------------------------------------- */
MHC_API uint32_t     mhc_get_version(void);        /* MHC_VERSION of the loaded library      */
MHC_API const char*  mhc_get_version_string(void); /* "0.5.0"                                */
MHC_API uint32_t     mhc_get_abi_version(void);    /* MHC_ABI_VERSION of the loaded library  */
/* Bindings call mhc_check_abi(MHC_ABI_VERSION) once: BAD_PARAM_ABI_MISMATCH if they differ. */
MHC_API mhc_status_t mhc_check_abi(uint32_t abi_version);

MHC_API const char*  mhc_status_string(mhc_status_t status); /* static; never NULL */
/* The calling thread's message for its last failed call. Copies at most cap-1 bytes plus a
 * NUL into buf (buf may be NULL when cap is 0) and returns the full length, without the NUL. */
MHC_API size_t       mhc_get_last_error(char* buf, size_t cap);

/* Number of usable CUDA devices (0 on a machine without a driver or GPU; never an error). */
MHC_API mhc_status_t mhc_cuda_device_count(int32_t* count);

/* Fill defaults (docs/numerics.md) for op; sets struct_size. act_dtype is BF16 for family A and FP32
 * (Tier 1) for family B. An unknown op: BAD_PARAM_UNKNOWN_ENUM and *desc is left as it was. */
MHC_API mhc_status_t mhc_desc_init(mhc_desc_t* desc, mhc_op_t op);
MHC_API mhc_status_t mhc_preference_init(mhc_preference_t* pref);
MHC_API mhc_status_t mhc_args_init(mhc_args_t* args);
/* The same for a struct of the caller's size (pass sizeof; since 0.3): the bytes both know, zeros
 * past this library's struct, struct_size = struct_size. The two functions above write this
 * library's whole struct, which overruns a smaller struct of an older header: callers that may
 * run on a newer library use these. BAD_PARAM_STRUCT_SIZE below the first published size (72,
 * 176) or above 65536, and then nothing is written. */
MHC_API mhc_status_t mhc_desc_init_sized(mhc_desc_t* desc, size_t struct_size, mhc_op_t op);
MHC_API mhc_status_t mhc_args_init_sized(mhc_args_t* args, size_t struct_size);

/* Static name of a SKU ("host_fp64_pre", "sm90_..."), or NULL for an unknown id. */
MHC_API const char*  mhc_sku_name(mhc_sku_t sku);
/* Static name of an op ("MHC_OP_PRE"), or NULL for an unknown id. Since 0.2. */
MHC_API const char*  mhc_op_name(mhc_op_t op);

/* ---------------------------------------------------------------------------------------------
 * Plans. A plan is immutable after select; every function below may be called on one plan
 * from several threads at once. run is stream-ordered, allocates nothing, never synchronizes
 * and can be captured in a CUDA graph (CUDA SKUs); host SKUs run on the calling thread.
 * ------------------------------------------------------------------------------------------- */
/* Validate desc, pick a SKU under pref (NULL = MHC_PREFERENCE_INIT), allocate the plan's
 * scratch on the current CUDA device (CUDA SKUs). *plan is NULL on failure. desc.tokens is
 * the largest T the plan runs: each run takes any 1 <= args.tokens <= desc.tokens (workspace is
 * sized for desc.tokens), so one plan serves every batch size of a layer shape. */
MHC_API mhc_status_t mhc_plan_select(const mhc_desc_t* desc, const mhc_preference_t* pref,
                                     mhc_plan_t* plan);
/* Pure: validate args against the plan (pointers, alignment, memory space). */
MHC_API mhc_status_t mhc_plan_can_implement(mhc_plan_t plan, const mhc_args_t* args);
/* Bytes of workspace a run may use: a pure function of the plan. */
MHC_API mhc_status_t mhc_plan_workspace_size(mhc_plan_t plan, size_t* bytes);
/* Validate (as can_implement) and run. workspace may be NULL: the plan then uses its own
 * scratch, and such runs of one plan must be ordered on one stream. With a caller workspace of
 * at least mhc_plan_workspace_size bytes (256-byte aligned) runs are fully reentrant. */
MHC_API mhc_status_t mhc_plan_run(mhc_plan_t plan, void* stream, void* workspace,
                                  size_t workspace_bytes, const mhc_args_t* args);
MHC_API mhc_status_t mhc_plan_get_sku(mhc_plan_t plan, mhc_sku_t* sku);
MHC_API mhc_status_t mhc_plan_get_precision_guarantee(mhc_plan_t plan,
                                                      mhc_precision_guarantee_t* guarantee);
/* The validated descriptor with defaults resolved (num_splits as the plan will run it). */
MHC_API mhc_status_t mhc_plan_get_desc(mhc_plan_t plan, mhc_desc_t* desc);
/* The plan's tensors (the mhc_args_t fields its op reads and writes): how many, and each one's
 * field, role, dtype, shape at T = desc.tokens and whether it is required. Since 0.2. */
MHC_API mhc_status_t mhc_plan_get_tensor_count(mhc_plan_t plan, int32_t* count);
MHC_API mhc_status_t mhc_plan_get_tensor_info(mhc_plan_t plan, int32_t index, mhc_tensor_info_t* info);
/* Waits for this plan's in-flight work on its scratch, then frees it. NULL is a no-op. */
MHC_API mhc_status_t mhc_plan_destroy(mhc_plan_t plan);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MHC_MHC_H_ */
