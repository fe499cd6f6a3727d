//! Raw declarations of `include/mhc/mhc.h`, written by hand (no bindgen): the `mhc-sys` crate.
//!
//! Every enumerated C value is an integer type alias plus constants, as in the header: a status,
//! op, dtype or SKU from a newer library is an ordinary integer here, never undefined behaviour.
//! `mhc/tests/abi.rs` proves these declarations match the header: the value of every constant, the
//! size, alignment and signedness of every typedef, the size and alignment of every struct and
//! the offset and size of every field, read from a C program compiled against `mhc.h`.
#![allow(non_camel_case_types)]
// The header documents every item; this module repeats its declarations only.
#![allow(missing_docs)]

use std::os::raw::{c_char, c_void};

pub type mhc_status_t = i32;
pub type mhc_op_t = i32;
pub type mhc_dtype_t = i32;
pub type mhc_backend_mask_t = u32;
pub type mhc_guarantee_flags_t = u32;
pub type mhc_sku_t = u32;
pub type mhc_tensor_role_t = i32;

macro_rules! constants {
    ($($name:ident: $ty:ty = $value:expr;)*) => {
        $(pub const $name: $ty = $value;)*
        /// Every constant of this module by its C name, for the header-match test.
        pub const CONSTANTS: &[(&str, i64)] = &[$((stringify!($name), $name as i64),)*];
    };
}

constants! {
    MHC_VERSION_MAJOR: u32 = 0;
    MHC_VERSION_MINOR: u32 = 5;
    MHC_VERSION_PATCH: u32 = 0;
    MHC_VERSION: u32 = MHC_VERSION_MAJOR * 10000 + MHC_VERSION_MINOR * 100 + MHC_VERSION_PATCH;
    MHC_ABI_VERSION: u32 = 1;

    MHC_STATUS_SUCCESS: mhc_status_t = 0;
    MHC_STATUS_BAD_PARAM: mhc_status_t = 2000;
    MHC_STATUS_BAD_PARAM_NULL_POINTER: mhc_status_t = 2001;
    MHC_STATUS_BAD_PARAM_STRUCT_SIZE: mhc_status_t = 2002;
    MHC_STATUS_BAD_PARAM_SHAPE: mhc_status_t = 2003;
    MHC_STATUS_BAD_PARAM_VALUE: mhc_status_t = 2004;
    MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM: mhc_status_t = 2005;
    MHC_STATUS_BAD_PARAM_MISALIGNED: mhc_status_t = 2006;
    MHC_STATUS_BAD_PARAM_WORKSPACE: mhc_status_t = 2007;
    MHC_STATUS_BAD_PARAM_MEMORY_SPACE: mhc_status_t = 2008;
    MHC_STATUS_BAD_PARAM_ABI_MISMATCH: mhc_status_t = 2009;
    MHC_STATUS_BAD_PARAM_DEVICE: mhc_status_t = 2010;
    MHC_STATUS_NOT_SUPPORTED: mhc_status_t = 3000;
    MHC_STATUS_NOT_SUPPORTED_NO_DEVICE: mhc_status_t = 3001;
    MHC_STATUS_NOT_SUPPORTED_SKU: mhc_status_t = 3002;
    MHC_STATUS_NOT_SUPPORTED_GUARANTEE: mhc_status_t = 3003;
    MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP: mhc_status_t = 3004;
    MHC_STATUS_INTERNAL: mhc_status_t = 4000;
    MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED: mhc_status_t = 4001;
    MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED: mhc_status_t = 4002;
    MHC_STATUS_EXECUTION_FAILED: mhc_status_t = 5000;
    MHC_STATUS_EXECUTION_FAILED_CUDA: mhc_status_t = 5001;
    MHC_STATUS_EXECUTION_FAILED_LAUNCH: mhc_status_t = 5002;

    MHC_OP_PRENORM_GEMM: mhc_op_t = 1;
    MHC_OP_PRE_FUSE: mhc_op_t = 2;
    MHC_OP_PRE: mhc_op_t = 3;
    MHC_OP_POST: mhc_op_t = 4;
    MHC_OP_HEAD: mhc_op_t = 5;
    MHC_OP_EXPAND: mhc_op_t = 6;
    MHC_OP_BOUNDARY: mhc_op_t = 7;
    MHC_OP_BOUNDARY_COLLAPSE: mhc_op_t = 8;
    MHC_OP_BOUNDARY_MIX: mhc_op_t = 9;
    MHC_OP_BOUNDARY_FIRST: mhc_op_t = 10;
    MHC_OP_STATIC_PRE: mhc_op_t = 16;
    MHC_OP_STATIC_POST: mhc_op_t = 17;
    MHC_OP_STATIC_LAYER: mhc_op_t = 18;
    MHC_OP_PRE_BACKWARD: mhc_op_t = 67;
    MHC_OP_POST_BACKWARD: mhc_op_t = 68;
    MHC_OP_HEAD_BACKWARD: mhc_op_t = 69;
    MHC_OP_EXPAND_BACKWARD: mhc_op_t = 70;
    MHC_OP_STATIC_PRE_BACKWARD: mhc_op_t = 80;
    MHC_OP_STATIC_POST_BACKWARD: mhc_op_t = 81;
    MHC_OP_STATIC_LAYER_BACKWARD: mhc_op_t = 82;

    MHC_DTYPE_BF16: mhc_dtype_t = 1;
    MHC_DTYPE_FP32: mhc_dtype_t = 2;
    MHC_DTYPE_TF32: mhc_dtype_t = 3;
    MHC_DTYPE_FP64: mhc_dtype_t = 4;
    MHC_DTYPE_TF32X3: mhc_dtype_t = 5;

    MHC_BACKEND_CUDA: mhc_backend_mask_t = 0x1;
    MHC_BACKEND_HOST: mhc_backend_mask_t = 0x2;
    MHC_BACKEND_ANY: mhc_backend_mask_t = 0x3;

    MHC_GUARANTEE_DETERMINISTIC: mhc_guarantee_flags_t = 0x1;
    MHC_GUARANTEE_BIT_STABLE: mhc_guarantee_flags_t = 0x2;
    MHC_GUARANTEE_BATCH_INVARIANT: mhc_guarantee_flags_t = 0x4;
    MHC_GUARANTEE_NO_ATOMICS: mhc_guarantee_flags_t = 0x8;

    MHC_DESC_FLAG_SPLIT_PARTIALS: u32 = 0x1;
    MHC_DESC_FLAG_SHIFTED: u32 = 0x2;
    MHC_DESC_FLAG_NORM: u32 = 0x4;

    MHC_GRAD_ACCUMULATE_RESIDUAL: u32 = 0x01;
    MHC_GRAD_ACCUMULATE_LAYER_OUTPUT: u32 = 0x02;
    MHC_GRAD_ACCUMULATE_POST_MIX: u32 = 0x04;
    MHC_GRAD_ACCUMULATE_COMB_MIX: u32 = 0x08;
    MHC_GRAD_ACCUMULATE_EMBEDDING: u32 = 0x10;
    MHC_GRAD_ACCUMULATE_FN: u32 = 0x20;
    MHC_GRAD_ACCUMULATE_SCALE: u32 = 0x40;
    MHC_GRAD_ACCUMULATE_BASE: u32 = 0x80;
    MHC_GRAD_ACCUMULATE_H_PRE: u32 = 0x100;
    MHC_GRAD_ACCUMULATE_H_POST: u32 = 0x200;
    MHC_GRAD_ACCUMULATE_H_RES: u32 = 0x400;
    MHC_GRAD_ACCUMULATE_NORM_WEIGHT: u32 = 0x800;

    MHC_SKU_NONE: mhc_sku_t = 0;
    MHC_SKU_HOST_PRENORM_GEMM: mhc_sku_t = 0x00010100;
    MHC_SKU_HOST_PRE_FUSE: mhc_sku_t = 0x00010200;
    MHC_SKU_HOST_PRE: mhc_sku_t = 0x00010300;
    MHC_SKU_HOST_POST: mhc_sku_t = 0x00010400;
    MHC_SKU_HOST_HEAD: mhc_sku_t = 0x00010500;
    MHC_SKU_HOST_EXPAND: mhc_sku_t = 0x00010600;
    MHC_SKU_HOST_BOUNDARY: mhc_sku_t = 0x00010700;
    MHC_SKU_HOST_BOUNDARY_COLLAPSE: mhc_sku_t = 0x00010800;
    MHC_SKU_HOST_BOUNDARY_MIX: mhc_sku_t = 0x00010900;
    MHC_SKU_HOST_BOUNDARY_FIRST: mhc_sku_t = 0x00010a00;
    MHC_SKU_HOST_STATIC_PRE: mhc_sku_t = 0x00011000;
    MHC_SKU_HOST_STATIC_POST: mhc_sku_t = 0x00011100;
    MHC_SKU_HOST_STATIC_LAYER: mhc_sku_t = 0x00011200;
    MHC_SKU_HOST_PRE_BACKWARD: mhc_sku_t = 0x00014300;
    MHC_SKU_HOST_POST_BACKWARD: mhc_sku_t = 0x00014400;
    MHC_SKU_HOST_HEAD_BACKWARD: mhc_sku_t = 0x00014500;
    MHC_SKU_HOST_EXPAND_BACKWARD: mhc_sku_t = 0x00014600;
    MHC_SKU_HOST_STATIC_PRE_BACKWARD: mhc_sku_t = 0x00015000;
    MHC_SKU_HOST_STATIC_POST_BACKWARD: mhc_sku_t = 0x00015100;
    MHC_SKU_HOST_STATIC_LAYER_BACKWARD: mhc_sku_t = 0x00015200;
    MHC_SKU_SM80_PRENORM_GEMM: mhc_sku_t = 0x00500100;
    MHC_SKU_SM80_PRE_FUSE: mhc_sku_t = 0x00500200;
    MHC_SKU_SM80_PRE: mhc_sku_t = 0x00500300;
    MHC_SKU_SM80_POST: mhc_sku_t = 0x00500400;
    MHC_SKU_SM80_HEAD: mhc_sku_t = 0x00500500;
    MHC_SKU_SM80_EXPAND: mhc_sku_t = 0x00500600;
    MHC_SKU_SM80_POST_BACKWARD: mhc_sku_t = 0x00504400;
    MHC_SKU_SM80_PRE_BACKWARD: mhc_sku_t = 0x00504300;
    MHC_SKU_SM80_HEAD_BACKWARD: mhc_sku_t = 0x00504500;
    MHC_SKU_SM80_EXPAND_BACKWARD: mhc_sku_t = 0x00504600;
    MHC_SKU_SM80_STATIC_PRE: mhc_sku_t = 0x00501000;
    MHC_SKU_SM80_STATIC_POST: mhc_sku_t = 0x00501100;
    MHC_SKU_SM80_STATIC_LAYER: mhc_sku_t = 0x00501200;
    MHC_SKU_SM80_STATIC_LAYER_1STAGE: mhc_sku_t = 0x00501201;
    MHC_SKU_SM80_STATIC_PRE_BACKWARD: mhc_sku_t = 0x00505000;
    MHC_SKU_SM80_STATIC_POST_BACKWARD: mhc_sku_t = 0x00505100;
    MHC_SKU_SM80_STATIC_LAYER_BACKWARD: mhc_sku_t = 0x00505200;
    MHC_SKU_SM90_PRENORM_GEMM: mhc_sku_t = 0x00900100;
    MHC_SKU_SM90_PRE: mhc_sku_t = 0x00900300;
    MHC_SKU_SM90_HEAD: mhc_sku_t = 0x00900500;
    MHC_SKU_SM80_PRE_FUSE_TOKENS: mhc_sku_t = 0x00500201;
    MHC_SKU_SM80_BOUNDARY: mhc_sku_t = 0x00500700;
    MHC_SKU_SM80_BOUNDARY_COLLAPSE: mhc_sku_t = 0x00500800;
    MHC_SKU_SM80_BOUNDARY_MIX: mhc_sku_t = 0x00500900;
    MHC_SKU_SM80_BOUNDARY_FIRST: mhc_sku_t = 0x00500a00;
    MHC_SKU_SM90_PRENORM_GEMM_ONEPASS: mhc_sku_t = 0x00900101;
    MHC_SKU_SM90_PRENORM_GEMM_NARROW: mhc_sku_t = 0x00900102;
    MHC_SKU_SM90_PRENORM_GEMM_WIDE_REGS: mhc_sku_t = 0x00900103;
    MHC_SKU_SM90_PRE_ONEPASS: mhc_sku_t = 0x00900301;
    MHC_SKU_SM90_PRE_ONEPASS_TB16: mhc_sku_t = 0x00900302;
    MHC_SKU_SM90_PRENORM_GEMM_BF16: mhc_sku_t = 0x00900104;
    MHC_SKU_SM90_PRE_BF16: mhc_sku_t = 0x00900303;
    MHC_SKU_SM90_HEAD_ONEPASS: mhc_sku_t = 0x00900501;
    MHC_SKU_SM80_STATIC_PRE_BACKWARD_STREAMED: mhc_sku_t = 0x00505001;
    MHC_SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED: mhc_sku_t = 0x00505201;
    MHC_SKU_SM90_PRE_CLUSTER: mhc_sku_t = 0x00900304;
    MHC_SKU_SM90_BOUNDARY_CLUSTER: mhc_sku_t = 0x00900700;
    MHC_SKU_SM90_HEAD_CLUSTER: mhc_sku_t = 0x00900502;
    MHC_SKU_SM90_HEAD_CLUSTER_PIPELINED: mhc_sku_t = 0x00900503;
    MHC_SKU_SM90_PRE_BACKWARD_CHUNKED: mhc_sku_t = 0x00904300;
    MHC_SKU_SM90_HEAD_BACKWARD_CHUNKED: mhc_sku_t = 0x00904500;

    MHC_TENSOR_MAX_RANK: usize = 4;
    MHC_TENSOR_ROLE_INPUT: mhc_tensor_role_t = 1;
    MHC_TENSOR_ROLE_OUTPUT: mhc_tensor_role_t = 2;
}

/// `MHC_STATUS_CATEGORY(s)`.
pub const fn mhc_status_category(status: mhc_status_t) -> mhc_status_t {
    (status / 1000) * 1000
}

/// `mhc_desc_t`: the problem.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct mhc_desc_t {
    pub struct_size: u32,
    pub op: mhc_op_t,
    pub tokens: i64,
    pub hidden: i64,
    pub n: i32,
    pub num_splits: i32,
    pub act_dtype: mhc_dtype_t,
    pub weight_precision: mhc_dtype_t,
    pub sinkhorn_repeat: i32,
    pub flags: u32,
    pub rms_eps: f32,
    pub pre_eps: f32,
    pub sinkhorn_eps: f32,
    pub post_mult: f32,
    pub static_eps: f32,
    pub reserved0: u32,
    /// Since 0.3: the RMSNorm eps of the layer input (`MHC_DESC_FLAG_NORM`), default 1e-6.
    pub norm_eps: f32,
    /// Since 0.3: the RMSNorm weight scale, `x = bf16(u * rsqrt(...) * (w * norm_scale))`, default 1.
    pub norm_scale: f32,
}

/// `mhc_preference_t`: how select chooses.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct mhc_preference_t {
    pub struct_size: u32,
    pub backends: mhc_backend_mask_t,
    pub max_workspace_bytes: u64,
    pub required: mhc_guarantee_flags_t,
    pub forced_sku: mhc_sku_t,
}

/// `mhc_precision_guarantee_t`: what a plan promises (written by the library).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct mhc_precision_guarantee_t {
    pub struct_size: u32,
    pub math_precision: mhc_dtype_t,
    pub accumulator: mhc_dtype_t,
    pub flags: mhc_guarantee_flags_t,
}

/// `mhc_args_t`: the tensors of one run.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mhc_args_t {
    pub struct_size: u32,
    pub reserved0: u32,
    pub residual: *const c_void,
    pub fn_: *const c_void,
    pub scale: *const c_void,
    pub base: *const c_void,
    pub gemm_out: *const c_void,
    pub sqrsum: *const c_void,
    pub layer_output: *const c_void,
    pub post_mix: *const c_void,
    pub comb_mix: *const c_void,
    pub embedding: *const c_void,
    pub norm_weight: *const c_void,
    pub h_pre: *const c_void,
    pub h_post: *const c_void,
    pub h_res: *const c_void,
    pub out_gemm: *mut c_void,
    pub out_sqrsum: *mut c_void,
    pub out_post_mix: *mut c_void,
    pub out_comb_mix: *mut c_void,
    pub out_layer_input: *mut c_void,
    pub out_residual: *mut c_void,
    pub out_rms: *mut c_void,
    /// Since 0.2: this run's T, 1..=desc.tokens; 0 means desc.tokens.
    pub tokens: i64,
    /// Since 0.3: A7 shifted, collapse: the carried pre p_prev fp32 `[T, n]`.
    pub pre_mix: *const c_void,
    /// Since 0.3: A7: this boundary's pre fp32 `[T, n]` (carried to the next).
    pub out_pre_mix: *mut c_void,
    /// Since 0.4 (backward ops): dL/d out_residual, bf16 `[T, n, C]` (A4', A6').
    pub grad_residual: *const c_void,
    /// Since 0.4: dL/d out_layer_input, bf16 `[T, C]` (A3', A5').
    pub grad_layer_input: *const c_void,
    /// Since 0.4: dL/d out_post_mix, fp32 `[T, n]` (A3').
    pub grad_post_mix: *const c_void,
    /// Since 0.4: dL/d out_comb_mix, fp32 `[T, n, n]` (A3').
    pub grad_comb_mix: *const c_void,
    /// Since 0.4: dL/d residual, bf16 `[T, n, C]` (A3'-A5').
    pub out_grad_residual: *mut c_void,
    /// Since 0.4: dL/d layer_output, bf16 `[T, C]` (A4').
    pub out_grad_layer_output: *mut c_void,
    /// Since 0.4: dL/d post_mix, fp32 `[T, n]` (A4').
    pub out_grad_post_mix: *mut c_void,
    /// Since 0.4: dL/d comb_mix, fp32 `[T, n, n]` (A4').
    pub out_grad_comb_mix: *mut c_void,
    /// Since 0.4: dL/d embedding, bf16 `[T, C]` (A6').
    pub out_grad_embedding: *mut c_void,
    /// Since 0.4: dL/d fn, fp32 `[N, K]` (A3'), `[n, K]` (A5'): sums over the run's T.
    pub out_grad_fn: *mut c_void,
    /// Since 0.4: dL/d scale, fp32 `[3]` (A3'), `[1]` (A5').
    pub out_grad_scale: *mut c_void,
    /// Since 0.4: dL/d base, fp32 `[N]` (A3'), `[n]` (A5').
    pub out_grad_base: *mut c_void,
    /// Since 0.4: `MHC_GRAD_ACCUMULATE_*` bits; 0: every gradient output is overwritten.
    pub grad_accumulate: u32,
    pub reserved1: u32,
    /// Since 0.5 (family B backward): dL/d h_pre, fp32 `[n]` (B1', B3').
    pub out_grad_h_pre: *mut c_void,
    /// Since 0.5: dL/d h_post, fp32 `[n]` (B2', B3').
    pub out_grad_h_post: *mut c_void,
    /// Since 0.5: dL/d h_res, fp32 `[n, n]` (B2', B3').
    pub out_grad_h_res: *mut c_void,
    /// Since 0.5: dL/d norm_weight, fp32 `[C]` (B1', B3').
    pub out_grad_norm_weight: *mut c_void,
}

/// `mhc_tensor_info_t`: one tensor a plan reads or writes (written by the library).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mhc_tensor_info_t {
    pub struct_size: u32,
    pub field_offset: u32,
    pub field: *const c_char,
    pub role: mhc_tensor_role_t,
    pub dtype: mhc_dtype_t,
    pub required: i32,
    pub rank: i32,
    pub shape: [i64; MHC_TENSOR_MAX_RANK],
    pub token_dim: i32,
    pub reserved0: i32,
}

/// The opaque plan (`struct mhc_plan_s`).
#[repr(C)]
pub struct mhc_plan_s {
    _private: [u8; 0],
}
pub type mhc_plan_t = *mut mhc_plan_s;

extern "C" {
    pub fn mhc_get_version() -> u32;
    pub fn mhc_get_version_string() -> *const c_char;
    pub fn mhc_get_abi_version() -> u32;
    pub fn mhc_check_abi(abi_version: u32) -> mhc_status_t;

    pub fn mhc_status_string(status: mhc_status_t) -> *const c_char;
    pub fn mhc_get_last_error(buf: *mut c_char, cap: usize) -> usize;

    pub fn mhc_cuda_device_count(count: *mut i32) -> mhc_status_t;

    pub fn mhc_desc_init_sized(desc: *mut mhc_desc_t, struct_size: usize, op: mhc_op_t) -> mhc_status_t;
    pub fn mhc_preference_init(pref: *mut mhc_preference_t) -> mhc_status_t;
    pub fn mhc_args_init_sized(args: *mut mhc_args_t, struct_size: usize) -> mhc_status_t;

    pub fn mhc_sku_name(sku: mhc_sku_t) -> *const c_char;
    pub fn mhc_op_name(op: mhc_op_t) -> *const c_char;

    pub fn mhc_plan_select(
        desc: *const mhc_desc_t,
        pref: *const mhc_preference_t,
        plan: *mut mhc_plan_t,
    ) -> mhc_status_t;
    pub fn mhc_plan_can_implement(plan: mhc_plan_t, args: *const mhc_args_t) -> mhc_status_t;
    pub fn mhc_plan_workspace_size(plan: mhc_plan_t, bytes: *mut usize) -> mhc_status_t;
    pub fn mhc_plan_run(
        plan: mhc_plan_t,
        stream: *mut c_void,
        workspace: *mut c_void,
        workspace_bytes: usize,
        args: *const mhc_args_t,
    ) -> mhc_status_t;
    pub fn mhc_plan_get_sku(plan: mhc_plan_t, sku: *mut mhc_sku_t) -> mhc_status_t;
    pub fn mhc_plan_get_precision_guarantee(
        plan: mhc_plan_t,
        guarantee: *mut mhc_precision_guarantee_t,
    ) -> mhc_status_t;
    pub fn mhc_plan_get_desc(plan: mhc_plan_t, desc: *mut mhc_desc_t) -> mhc_status_t;
    pub fn mhc_plan_get_tensor_count(plan: mhc_plan_t, count: *mut i32) -> mhc_status_t;
    pub fn mhc_plan_get_tensor_info(plan: mhc_plan_t, index: i32, info: *mut mhc_tensor_info_t) -> mhc_status_t;
    pub fn mhc_plan_destroy(plan: mhc_plan_t) -> mhc_status_t;
}
