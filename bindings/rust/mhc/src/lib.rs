//! Rust binding of libmhc, the manifold-constrained hyper-connections (mHC) runtime library.
//!
//! Two layers over the stable C ABI (`include/mhc/mhc.h`):
//!
//! * [`sys`] (the `mhc-sys` crate): the header by hand: `#[repr(C)]` structs, integer type aliases and constants,
//!   `extern "C"` functions. `tests/abi.rs` proves it matches the header.
//! * this module: a safe API in the style of a `HyperConnectionPlan`: a [`Desc`] describes the
//!   problem, [`Plan::select`] picks a kernel (a SKU) and returns a reusable plan,
//!   [`Plan::run`] runs it; errors are [`Error`] values carrying the status and the library's
//!   message; dropping a plan destroys it.
//!
//! ```no_run
//! use mhc::{Args, Backend, Desc, Op, Plan, Preference, Stream, TensorMut, TensorRef, Workspace};
//! # fn main() -> mhc::Result<()> {
//! let (b, n, c) = (2usize, 4usize, 64usize);
//! let desc = Desc::new(Op::STATIC_LAYER)?.tokens(b as i64).n(n as i32).hidden(c as i64);
//! let stream = Stream::legacy_default();
//! let plan = Plan::select(&stream, &desc, Preference::default().backends(Backend::HOST))?;
//! let x = vec![0.5f32; b * n * c];
//! let w = vec![mhc::Bf16::from_f32(1.0); c];
//! let (h_pre, h_post, h_res) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n * n]);
//! let mut out = vec![0.0f32; b * n * c];
//! let args = Args::new().residual(TensorRef::new(&x, &[b, n, c])).norm_weight(&w).h_pre(&h_pre)
//!     .h_post(&h_post).h_res(&h_res).out_residual(TensorMut::new(&mut out, &[b, n, c]));
//! plan.run(&stream, Workspace::none(), &args)?;
//! # Ok(())
//! # }
//! ```
//!
//! Tensors are borrowed host slices (`&[f32]`, `&[Bf16]`; outputs `&mut`), with a shape
//! ([`TensorRef::new`], [`TensorMut::new`]) or without, or raw pointers (device memory for a
//! CUDA SKU) through the `unsafe` [`TensorRef::from_raw`] and [`TensorMut::from_raw`], whose
//! validity the caller promises. Before every call this binding checks them against the
//! plan's tensor infos ([`Plan::tensors`], read from the library once at select): a shape
//! dimension by dimension, a plain slice by its element count. The T dimension may be any
//! `1..=desc.tokens`, the same in every tensor; it is this run's T (`mhc_args_t.tokens`).
#![deny(missing_docs)]

/// The raw FFI declarations (the `mhc-sys` crate): `#[repr(C)]` structs, constants, functions.
pub use mhc_sys as sys;

use std::ffi::CStr;
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_void};
use std::ptr;

// ---- status and errors ------------------------------------------------------------------------

/// A status code (`mhc_status_t`, `category * 1000 + detail`). Any `i32` is a valid `Status`: a
/// code from a newer library is an ordinary value whose [`category`](Status::category) is still
/// meaningful.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Status(pub i32);

#[allow(missing_docs)]
impl Status {
    pub const SUCCESS: Status = Status(sys::MHC_STATUS_SUCCESS);
    pub const BAD_PARAM: Status = Status(sys::MHC_STATUS_BAD_PARAM);
    pub const BAD_PARAM_NULL_POINTER: Status = Status(sys::MHC_STATUS_BAD_PARAM_NULL_POINTER);
    pub const BAD_PARAM_STRUCT_SIZE: Status = Status(sys::MHC_STATUS_BAD_PARAM_STRUCT_SIZE);
    pub const BAD_PARAM_SHAPE: Status = Status(sys::MHC_STATUS_BAD_PARAM_SHAPE);
    pub const BAD_PARAM_VALUE: Status = Status(sys::MHC_STATUS_BAD_PARAM_VALUE);
    pub const BAD_PARAM_UNKNOWN_ENUM: Status = Status(sys::MHC_STATUS_BAD_PARAM_UNKNOWN_ENUM);
    pub const BAD_PARAM_MISALIGNED: Status = Status(sys::MHC_STATUS_BAD_PARAM_MISALIGNED);
    pub const BAD_PARAM_WORKSPACE: Status = Status(sys::MHC_STATUS_BAD_PARAM_WORKSPACE);
    pub const BAD_PARAM_MEMORY_SPACE: Status = Status(sys::MHC_STATUS_BAD_PARAM_MEMORY_SPACE);
    pub const BAD_PARAM_ABI_MISMATCH: Status = Status(sys::MHC_STATUS_BAD_PARAM_ABI_MISMATCH);
    pub const BAD_PARAM_DEVICE: Status = Status(sys::MHC_STATUS_BAD_PARAM_DEVICE);
    pub const NOT_SUPPORTED: Status = Status(sys::MHC_STATUS_NOT_SUPPORTED);
    pub const NOT_SUPPORTED_NO_DEVICE: Status = Status(sys::MHC_STATUS_NOT_SUPPORTED_NO_DEVICE);
    pub const NOT_SUPPORTED_SKU: Status = Status(sys::MHC_STATUS_NOT_SUPPORTED_SKU);
    pub const NOT_SUPPORTED_GUARANTEE: Status = Status(sys::MHC_STATUS_NOT_SUPPORTED_GUARANTEE);
    pub const NOT_SUPPORTED_WORKSPACE_CAP: Status = Status(sys::MHC_STATUS_NOT_SUPPORTED_WORKSPACE_CAP);
    pub const INTERNAL: Status = Status(sys::MHC_STATUS_INTERNAL);
    pub const INTERNAL_HOST_ALLOC_FAILED: Status = Status(sys::MHC_STATUS_INTERNAL_HOST_ALLOC_FAILED);
    pub const INTERNAL_DEVICE_ALLOC_FAILED: Status = Status(sys::MHC_STATUS_INTERNAL_DEVICE_ALLOC_FAILED);
    pub const EXECUTION_FAILED: Status = Status(sys::MHC_STATUS_EXECUTION_FAILED);
    pub const EXECUTION_FAILED_CUDA: Status = Status(sys::MHC_STATUS_EXECUTION_FAILED_CUDA);
    pub const EXECUTION_FAILED_LAUNCH: Status = Status(sys::MHC_STATUS_EXECUTION_FAILED_LAUNCH);
}

impl Status {
    /// `MHC_STATUS_CATEGORY`: the category of any code, also of one a newer library adds.
    pub const fn category(self) -> Status {
        Status(sys::mhc_status_category(self.0))
    }
    /// Whether this is `MHC_STATUS_SUCCESS`.
    pub const fn is_success(self) -> bool {
        self.0 == sys::MHC_STATUS_SUCCESS
    }
    /// The library's name of the code (`"MHC_STATUS_BAD_PARAM_SHAPE"`; for an unknown code
    /// inside a known category `"MHC_STATUS_BAD_PARAM (unknown detail)"`).
    pub fn name(self) -> &'static str {
        // SAFETY: mhc_status_string returns a static NUL-terminated string, never NULL.
        unsafe { static_str(sys::mhc_status_string(self.0)) }.unwrap_or("unknown mhc_status_t")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// A failed call: the status, sorted by its category, and the message the library set for the
/// calling thread (`mhc_get_last_error`), or the binding's own message for what it checks
/// itself (a tensor whose shape, element count or element type the plan does not take).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// `MHC_STATUS_BAD_PARAM_*`: an argument was rejected.
    BadParam {
        /// The status code.
        status: Status,
        /// What was wrong.
        message: String,
    },
    /// `MHC_STATUS_NOT_SUPPORTED_*`: no SKU implements the problem under the preference.
    NotSupported {
        /// The status code.
        status: Status,
        /// What was wrong.
        message: String,
    },
    /// `MHC_STATUS_INTERNAL_*`: the library failed (allocation).
    Internal {
        /// The status code.
        status: Status,
        /// What was wrong.
        message: String,
    },
    /// `MHC_STATUS_EXECUTION_FAILED_*`: a CUDA call or kernel launch failed.
    ExecutionFailed {
        /// The status code.
        status: Status,
        /// What was wrong.
        message: String,
    },
    /// A status of a category this binding does not know (from a newer library).
    Other {
        /// The status code.
        status: Status,
        /// What was wrong.
        message: String,
    },
}

impl Error {
    /// The error for a failed `status` with `message`, sorted by the status's category.
    pub fn new(status: Status, message: String) -> Error {
        match status.category().0 {
            sys::MHC_STATUS_BAD_PARAM => Error::BadParam { status, message },
            sys::MHC_STATUS_NOT_SUPPORTED => Error::NotSupported { status, message },
            sys::MHC_STATUS_INTERNAL => Error::Internal { status, message },
            sys::MHC_STATUS_EXECUTION_FAILED => Error::ExecutionFailed { status, message },
            _ => Error::Other { status, message },
        }
    }
    /// The status code.
    pub fn status(&self) -> Status {
        match self {
            Error::BadParam { status, .. }
            | Error::NotSupported { status, .. }
            | Error::Internal { status, .. }
            | Error::ExecutionFailed { status, .. }
            | Error::Other { status, .. } => *status,
        }
    }
    /// The status's category (`MHC_STATUS_BAD_PARAM`, ...).
    pub fn category(&self) -> Status {
        self.status().category()
    }
    /// The message: the library's, or this binding's.
    pub fn message(&self) -> &str {
        match self {
            Error::BadParam { message, .. }
            | Error::NotSupported { message, .. }
            | Error::Internal { message, .. }
            | Error::ExecutionFailed { message, .. }
            | Error::Other { message, .. } => message,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.message())
    }
}

impl std::error::Error for Error {}

/// `Result<T, mhc::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// The calling thread's message for its last failed libmhc call.
pub fn last_error() -> String {
    // SAFETY: a NULL buffer with cap 0 asks only for the length; then the buffer holds len + 1.
    unsafe {
        let len = sys::mhc_get_last_error(ptr::null_mut(), 0);
        let mut buf = vec![0u8; len + 1];
        sys::mhc_get_last_error(buf.as_mut_ptr() as *mut c_char, buf.len());
        buf.truncate(len);
        String::from_utf8_lossy(&buf).into_owned()
    }
}

/// Ok for `MHC_STATUS_SUCCESS`, else the error with this thread's last message. Called right
/// after the C call on the same thread, which is where the library keeps the message.
fn check(status: sys::mhc_status_t) -> Result<()> {
    if status == sys::MHC_STATUS_SUCCESS {
        Ok(())
    } else {
        Err(Error::new(Status(status), last_error()))
    }
}

fn binding_error(status: Status, message: String) -> Error {
    Error::new(status, format!("mhc (Rust binding): {}", message))
}

/// # Safety
/// `p` is NULL or a NUL-terminated string that lives for the whole program.
unsafe fn static_str(p: *const c_char) -> Option<&'static str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
    }
}

// ---- library --------------------------------------------------------------------------------

/// `MHC_VERSION` of the loaded library (`major * 10000 + minor * 100 + patch`).
pub fn version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::mhc_get_version() }
}

/// The loaded library's version string (`"0.5.0"`).
pub fn version_string() -> &'static str {
    // SAFETY: a static string.
    unsafe { static_str(sys::mhc_get_version_string()) }.unwrap_or("")
}

/// `MHC_ABI_VERSION` of the loaded library.
pub fn abi_version() -> u32 {
    // SAFETY: no arguments.
    unsafe { sys::mhc_get_abi_version() }
}

/// Ok when the loaded library has the ABI these declarations were written for
/// ([`sys::MHC_ABI_VERSION`]); [`Plan::select`] checks it.
pub fn check_abi() -> Result<()> {
    // SAFETY: plain integer argument.
    check(unsafe { sys::mhc_check_abi(sys::MHC_ABI_VERSION) })
}

/// The number of usable CUDA devices (0 without a GPU, and in a host-only build).
pub fn cuda_device_count() -> Result<i32> {
    let mut count = 0i32;
    // SAFETY: count is a valid out-pointer.
    check(unsafe { sys::mhc_cuda_device_count(&mut count) })?;
    Ok(count)
}

// ---- value types ----------------------------------------------------------------------------

/// An op (`mhc_op_t`); see docs/numerics.md. Any `i32` is a valid `Op`: select rejects the ones
/// the library does not know.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Op(pub i32);

#[allow(missing_docs)]
impl Op {
    pub const PRENORM_GEMM: Op = Op(sys::MHC_OP_PRENORM_GEMM);
    pub const PRE_FUSE: Op = Op(sys::MHC_OP_PRE_FUSE);
    pub const PRE: Op = Op(sys::MHC_OP_PRE);
    pub const POST: Op = Op(sys::MHC_OP_POST);
    pub const HEAD: Op = Op(sys::MHC_OP_HEAD);
    pub const EXPAND: Op = Op(sys::MHC_OP_EXPAND);
    pub const BOUNDARY: Op = Op(sys::MHC_OP_BOUNDARY);
    pub const BOUNDARY_COLLAPSE: Op = Op(sys::MHC_OP_BOUNDARY_COLLAPSE);
    pub const BOUNDARY_MIX: Op = Op(sys::MHC_OP_BOUNDARY_MIX);
    pub const BOUNDARY_FIRST: Op = Op(sys::MHC_OP_BOUNDARY_FIRST);
    pub const STATIC_PRE: Op = Op(sys::MHC_OP_STATIC_PRE);
    pub const STATIC_POST: Op = Op(sys::MHC_OP_STATIC_POST);
    pub const STATIC_LAYER: Op = Op(sys::MHC_OP_STATIC_LAYER);
    // Backward ops (training; since 0.4): 64 + the forward's id (docs/training.md).
    pub const PRE_BACKWARD: Op = Op(sys::MHC_OP_PRE_BACKWARD);
    pub const POST_BACKWARD: Op = Op(sys::MHC_OP_POST_BACKWARD);
    pub const HEAD_BACKWARD: Op = Op(sys::MHC_OP_HEAD_BACKWARD);
    pub const EXPAND_BACKWARD: Op = Op(sys::MHC_OP_EXPAND_BACKWARD);
    // Family B backward (since 0.5).
    pub const STATIC_PRE_BACKWARD: Op = Op(sys::MHC_OP_STATIC_PRE_BACKWARD);
    pub const STATIC_POST_BACKWARD: Op = Op(sys::MHC_OP_STATIC_POST_BACKWARD);
    pub const STATIC_LAYER_BACKWARD: Op = Op(sys::MHC_OP_STATIC_LAYER_BACKWARD);
}

impl Op {
    /// The library's name of the op (`"MHC_OP_PRE"`), `None` for an id it does not know.
    pub fn name(self) -> Option<&'static str> {
        op_name(self)
    }
}

/// `mhc_op_name`: the library's name of `op` (`"MHC_OP_PRE"`), `None` for an unknown id.
pub fn op_name(op: Op) -> Option<&'static str> {
    // SAFETY: mhc_op_name returns a static string or NULL.
    unsafe { static_str(sys::mhc_op_name(op.0)) }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "op {}", self.0),
        }
    }
}

/// A dtype or precision (`mhc_dtype_t`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dtype(pub i32);

#[allow(missing_docs)]
impl Dtype {
    pub const BF16: Dtype = Dtype(sys::MHC_DTYPE_BF16);
    pub const FP32: Dtype = Dtype(sys::MHC_DTYPE_FP32);
    pub const TF32: Dtype = Dtype(sys::MHC_DTYPE_TF32);
    pub const FP64: Dtype = Dtype(sys::MHC_DTYPE_FP64);
    pub const TF32X3: Dtype = Dtype(sys::MHC_DTYPE_TF32X3);
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dtype::BF16 => f.write_str("BF16"),
            Dtype::FP32 => f.write_str("FP32"),
            Dtype::TF32 => f.write_str("TF32"),
            Dtype::FP64 => f.write_str("FP64"),
            Dtype::TF32X3 => f.write_str("TF32X3"),
            Dtype(other) => write!(f, "dtype {}", other),
        }
    }
}

/// A set of backends (`mhc_backend_mask_t`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Backend(pub u32);

#[allow(missing_docs)]
impl Backend {
    pub const CUDA: Backend = Backend(sys::MHC_BACKEND_CUDA);
    pub const HOST: Backend = Backend(sys::MHC_BACKEND_HOST);
    pub const ANY: Backend = Backend(sys::MHC_BACKEND_ANY);
}

/// Guarantee flags (`mhc_guarantee_flags_t`): what a plan makes, what a caller requires.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Guarantee(pub u32);

#[allow(missing_docs)]
impl Guarantee {
    pub const NONE: Guarantee = Guarantee(0);
    pub const DETERMINISTIC: Guarantee = Guarantee(sys::MHC_GUARANTEE_DETERMINISTIC);
    pub const BIT_STABLE: Guarantee = Guarantee(sys::MHC_GUARANTEE_BIT_STABLE);
    pub const BATCH_INVARIANT: Guarantee = Guarantee(sys::MHC_GUARANTEE_BATCH_INVARIANT);
    pub const NO_ATOMICS: Guarantee = Guarantee(sys::MHC_GUARANTEE_NO_ATOMICS);
}

impl Guarantee {
    /// Whether every flag of `other` is set here.
    pub const fn contains(self, other: Guarantee) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Guarantee {
    type Output = Guarantee;
    fn bitor(self, rhs: Guarantee) -> Guarantee {
        Guarantee(self.0 | rhs.0)
    }
}

/// The gradient outputs a backward op adds to instead of overwriting (`mhc_args_t.grad_accumulate`,
/// `MHC_GRAD_ACCUMULATE_*`, since 0.4): a set bit makes the output `round(old + g)`, one rounding
/// of the fp64 sum; a clear bit overwrites it (its old contents are never read).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct GradAccumulate(pub u32);

#[allow(missing_docs)]
impl GradAccumulate {
    pub const NONE: GradAccumulate = GradAccumulate(0);
    pub const RESIDUAL: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_RESIDUAL);
    pub const LAYER_OUTPUT: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_LAYER_OUTPUT);
    pub const POST_MIX: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_POST_MIX);
    pub const COMB_MIX: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_COMB_MIX);
    pub const EMBEDDING: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_EMBEDDING);
    pub const FN: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_FN);
    pub const SCALE: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_SCALE);
    pub const BASE: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_BASE);
    pub const H_PRE: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_H_PRE);
    pub const H_POST: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_H_POST);
    pub const H_RES: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_H_RES);
    pub const NORM_WEIGHT: GradAccumulate = GradAccumulate(sys::MHC_GRAD_ACCUMULATE_NORM_WEIGHT);
}

impl GradAccumulate {
    /// The bit of a gradient output field (`Field::OutGradResidual` ...), `None` for another field.
    pub fn of(field: Field) -> Option<GradAccumulate> {
        Some(match field {
            Field::OutGradResidual => GradAccumulate::RESIDUAL,
            Field::OutGradLayerOutput => GradAccumulate::LAYER_OUTPUT,
            Field::OutGradPostMix => GradAccumulate::POST_MIX,
            Field::OutGradCombMix => GradAccumulate::COMB_MIX,
            Field::OutGradEmbedding => GradAccumulate::EMBEDDING,
            Field::OutGradFn => GradAccumulate::FN,
            Field::OutGradScale => GradAccumulate::SCALE,
            Field::OutGradBase => GradAccumulate::BASE,
            Field::OutGradHPre => GradAccumulate::H_PRE,
            Field::OutGradHPost => GradAccumulate::H_POST,
            Field::OutGradHRes => GradAccumulate::H_RES,
            Field::OutGradNormWeight => GradAccumulate::NORM_WEIGHT,
            _ => return None,
        })
    }
    /// Whether every bit of `other` is set here.
    pub const fn contains(self, other: GradAccumulate) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for GradAccumulate {
    type Output = GradAccumulate;
    fn bitor(self, rhs: GradAccumulate) -> GradAccumulate {
        GradAccumulate(self.0 | rhs.0)
    }
}

/// A kernel SKU id (`mhc_sku_t`): `(backend/arch << 16) | (op << 8) | variant`, stable across
/// releases. Any `u32` is a valid `Sku`.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sku(pub u32);

#[allow(missing_docs)]
impl Sku {
    pub const NONE: Sku = Sku(sys::MHC_SKU_NONE);
    pub const HOST_PRENORM_GEMM: Sku = Sku(sys::MHC_SKU_HOST_PRENORM_GEMM);
    pub const HOST_PRE_FUSE: Sku = Sku(sys::MHC_SKU_HOST_PRE_FUSE);
    pub const HOST_PRE: Sku = Sku(sys::MHC_SKU_HOST_PRE);
    pub const HOST_POST: Sku = Sku(sys::MHC_SKU_HOST_POST);
    pub const HOST_HEAD: Sku = Sku(sys::MHC_SKU_HOST_HEAD);
    pub const HOST_EXPAND: Sku = Sku(sys::MHC_SKU_HOST_EXPAND);
    pub const HOST_BOUNDARY: Sku = Sku(sys::MHC_SKU_HOST_BOUNDARY);
    pub const HOST_BOUNDARY_COLLAPSE: Sku = Sku(sys::MHC_SKU_HOST_BOUNDARY_COLLAPSE);
    pub const HOST_BOUNDARY_MIX: Sku = Sku(sys::MHC_SKU_HOST_BOUNDARY_MIX);
    pub const HOST_BOUNDARY_FIRST: Sku = Sku(sys::MHC_SKU_HOST_BOUNDARY_FIRST);
    pub const HOST_STATIC_PRE: Sku = Sku(sys::MHC_SKU_HOST_STATIC_PRE);
    pub const HOST_STATIC_POST: Sku = Sku(sys::MHC_SKU_HOST_STATIC_POST);
    pub const HOST_STATIC_LAYER: Sku = Sku(sys::MHC_SKU_HOST_STATIC_LAYER);
    pub const HOST_PRE_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_PRE_BACKWARD);
    pub const HOST_POST_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_POST_BACKWARD);
    pub const HOST_HEAD_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_HEAD_BACKWARD);
    pub const HOST_EXPAND_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_EXPAND_BACKWARD);
    pub const HOST_STATIC_PRE_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_STATIC_PRE_BACKWARD);
    pub const HOST_STATIC_POST_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_STATIC_POST_BACKWARD);
    pub const HOST_STATIC_LAYER_BACKWARD: Sku = Sku(sys::MHC_SKU_HOST_STATIC_LAYER_BACKWARD);
}

impl Sku {
    /// The library's name of the SKU (`"host_fp64_static_layer"`), `None` for an id this build
    /// does not have.
    pub fn name(self) -> Option<&'static str> {
        // SAFETY: mhc_sku_name returns a static string or NULL.
        unsafe { static_str(sys::mhc_sku_name(self.0)) }
    }
    /// Whether the SKU runs on the host backend (host memory); otherwise it is a CUDA SKU and
    /// its tensors live in device memory.
    pub const fn is_host(self) -> bool {
        self.0 >> 16 == 1
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (0x{:08x})", self.name().unwrap_or("unknown"), self.0)
    }
}

/// What a plan promises about its arithmetic (`mhc_precision_guarantee_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrecisionGuarantee {
    /// Precision of the products: TF32, TF32X3, FP32 or FP64.
    pub math_precision: Dtype,
    /// Accumulator: FP32 or FP64.
    pub accumulator: Dtype,
    /// Determinism, bit stability, batch invariance, no atomics.
    pub flags: Guarantee,
}

/// A bfloat16 value (its bits), the storage type of the bf16 tensors.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Bf16(pub u16);

impl Bf16 {
    /// `f` rounded to the nearest bfloat16, ties to even (NaN stays NaN).
    pub fn from_f32(f: f32) -> Bf16 {
        let u = f.to_bits();
        if f.is_nan() {
            return Bf16(((u >> 16) | 0x40) as u16);
        }
        let rounded = u.wrapping_add(0x7fff + ((u >> 16) & 1));
        Bf16((rounded >> 16) as u16)
    }
    /// The value as an `f32` (exact).
    pub fn to_f32(self) -> f32 {
        f32::from_bits((self.0 as u32) << 16)
    }
}

// ---- descriptor and preference ----------------------------------------------------------------

/// The problem (`mhc_desc_t`), with the library's defaults for its op (docs/numerics.md):
///
/// ```no_run
/// # fn main() -> mhc::Result<()> {
/// let desc = mhc::Desc::new(mhc::Op::PRE)?.tokens(8).n(4).hidden(4096);
/// assert_eq!(desc.raw().sinkhorn_repeat, 20);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Desc {
    raw: sys::mhc_desc_t,
}

macro_rules! desc_setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        $($(#[$doc])* pub fn $name(mut self, value: $ty) -> Desc {
            self.raw.$name = value;
            self
        })*
    };
}

impl Desc {
    /// `mhc_desc_init_sized(op)`: the defaults for `op`; `tokens` and `hidden` still need setting.
    /// An op the library does not know: `BAD_PARAM_UNKNOWN_ENUM`.
    pub fn new(op: Op) -> Result<Desc> {
        // SAFETY: an all-zero mhc_desc_t is a valid value; the sized init writes only this
        // crate's bytes (a newer library's mhc_desc_t may be larger).
        let mut raw: sys::mhc_desc_t = unsafe { std::mem::zeroed() };
        check(unsafe { sys::mhc_desc_init_sized(&mut raw, std::mem::size_of::<sys::mhc_desc_t>(), op.0) })?;
        Ok(Desc { raw })
    }
    /// A descriptor from raw fields (e.g. one kept from [`Plan::desc`]).
    pub fn from_raw(raw: sys::mhc_desc_t) -> Desc {
        Desc { raw }
    }
    /// The C struct.
    pub fn raw(&self) -> &sys::mhc_desc_t {
        &self.raw
    }
    /// The C struct, for any field (the setters below cover the common ones).
    pub fn raw_mut(&mut self) -> &mut sys::mhc_desc_t {
        &mut self.raw
    }
    /// The op.
    pub fn op(&self) -> Op {
        Op(self.raw.op)
    }
    /// Sets the residual dtype (`act_dtype`).
    pub fn act_dtype(mut self, dtype: Dtype) -> Desc {
        self.raw.act_dtype = dtype.0;
        self
    }
    /// Sets how `fn` enters the products (`weight_precision`: TF32, TF32X3 or FP32).
    pub fn weight_precision(mut self, dtype: Dtype) -> Desc {
        self.raw.weight_precision = dtype.0;
        self
    }
    desc_setters! {
        /// Sets T (family A) or B (family B).
        tokens: i64;
        /// Sets C.
        hidden: i64;
        /// Sets the number of streams.
        n: i32;
        /// Sets the split count S (0: the default policy).
        num_splits: i32;
        /// Sets the Sinkhorn iteration count.
        sinkhorn_repeat: i32;
        /// Sets `MHC_DESC_FLAG_*`.
        flags: u32;
        /// Sets the RMS eps (family A).
        rms_eps: f32;
        /// Sets the pre eps (family A).
        pre_eps: f32;
        /// Sets the Sinkhorn eps (family A).
        sinkhorn_eps: f32;
        /// Sets the post multiplier (family A).
        post_mult: f32;
        /// Sets the eps of family B.
        static_eps: f32;
        /// Sets the RMSNorm eps of the layer input (A7, `MHC_DESC_FLAG_NORM`).
        norm_eps: f32;
        /// Sets the RMSNorm weight scale (A7: `x = bf16(u * rsqrt(...) * (w * norm_scale))`).
        norm_scale: f32;
    }
}

/// How select chooses (`mhc_preference_t`). The default is the library's
/// (`mhc_preference_init`): any backend, no workspace cap, nothing required, no forced SKU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Preference {
    raw: sys::mhc_preference_t,
}

impl Default for Preference {
    fn default() -> Preference {
        // SAFETY: an all-zero mhc_preference_t is valid; preference_init fills it and fails
        // only for a NULL pointer.
        let mut raw: sys::mhc_preference_t = unsafe { std::mem::zeroed() };
        unsafe { sys::mhc_preference_init(&mut raw) };
        Preference { raw }
    }
}

impl Preference {
    /// The allowed backends.
    pub fn backends(mut self, backends: Backend) -> Preference {
        self.raw.backends = backends.0;
        self
    }
    /// A cap on the plan's workspace size.
    pub fn max_workspace(mut self, bytes: u64) -> Preference {
        self.raw.max_workspace_bytes = bytes;
        self
    }
    /// Adds guarantees the plan must make.
    pub fn require(mut self, flags: Guarantee) -> Preference {
        self.raw.required |= flags.0;
        self
    }
    /// Forces a SKU (tests, tuning).
    pub fn force(mut self, sku: Sku) -> Preference {
        self.raw.forced_sku = sku.0;
        self
    }
    /// The C struct.
    pub fn raw(&self) -> &sys::mhc_preference_t {
        &self.raw
    }
}

// ---- streams, tensors, workspace ------------------------------------------------------------

/// A CUDA stream (`cudaStream_t`) as the library takes it; the default is the legacy default
/// stream (NULL). Host SKUs ignore the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stream {
    raw: *mut c_void,
}

// SAFETY: a Stream is a handle value that this binding never dereferences; the CUDA runtime
// accepts a stream handle from any host thread, and the library only passes it on.
unsafe impl Send for Stream {}
// SAFETY: as above; a shared &Stream gives nothing but the handle value.
unsafe impl Sync for Stream {}

impl Default for Stream {
    fn default() -> Stream {
        Stream::legacy_default()
    }
}

impl Stream {
    /// The legacy default stream (NULL) of the current device.
    pub const fn legacy_default() -> Stream {
        Stream { raw: ptr::null_mut() }
    }
    /// A stream from a raw `cudaStream_t`.
    ///
    /// # Safety
    /// `stream` is NULL or a live stream of the device the plans run on, and outlives every run
    /// given this value; the binding never destroys it.
    pub unsafe fn from_raw(stream: *mut c_void) -> Stream {
        Stream { raw: stream }
    }
    /// The raw `cudaStream_t`.
    pub fn as_raw(&self) -> *mut c_void {
        self.raw
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for super::Bf16 {}
}

/// A storage element type of libmhc tensors: `f32` or [`Bf16`].
pub trait Element: Copy + sealed::Sealed {
    /// Its dtype.
    const DTYPE: Dtype;
}
impl Element for f32 {
    const DTYPE: Dtype = Dtype::FP32;
}
impl Element for Bf16 {
    const DTYPE: Dtype = Dtype::BF16;
}

/// The largest rank of a libmhc tensor (`MHC_TENSOR_MAX_RANK`).
pub const MAX_RANK: usize = sys::MHC_TENSOR_MAX_RANK;

/// The product of `shape`, `usize::MAX` when it does not fit (no real buffer is that long, so
/// the element-count check then fails).
fn elements_of(shape: &[usize]) -> usize {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).unwrap_or(usize::MAX)
}

/// What the checks need to know of a set tensor.
#[derive(Clone, Debug)]
struct Meta {
    len: usize,
    dtype: Dtype,
    shape: Option<Vec<usize>>,
}

/// An input tensor of a run: a borrowed host slice, with a shape ([`TensorRef::new`]) or without
/// (`From<&[T]>`: then only its element count is checked), or raw memory.
#[derive(Clone, Debug)]
pub struct TensorRef<'a> {
    ptr: *const c_void,
    meta: Meta,
    _borrow: PhantomData<&'a ()>,
}

impl<'a> TensorRef<'a> {
    /// `data` as a row-major tensor of `shape` (`[T, n, C]` ...). Each run checks the shape
    /// against the plan's tensor info dimension by dimension, and that it covers `data` exactly.
    pub fn new<T: Element>(data: &'a [T], shape: &[usize]) -> TensorRef<'a> {
        TensorRef {
            ptr: data.as_ptr() as *const c_void,
            meta: Meta { len: data.len(), dtype: T::DTYPE, shape: Some(shape.to_vec()) },
            _borrow: PhantomData,
        }
    }
    /// Raw memory of `len` elements without a shape: device memory for a CUDA SKU, host memory
    /// for a host SKU.
    ///
    /// # Safety
    /// `ptr` points to at least `len` elements of `dtype` that stay valid and unmodified for
    /// `'a` and for every run given this tensor, in the memory space of the plan's SKU.
    pub unsafe fn from_raw(ptr: *const c_void, len: usize, dtype: Dtype) -> TensorRef<'a> {
        TensorRef { ptr, meta: Meta { len, dtype, shape: None }, _borrow: PhantomData }
    }
    /// Raw memory holding a row-major tensor of `shape`.
    ///
    /// # Safety
    /// As [`from_raw`](TensorRef::from_raw) with `len` the product of `shape`.
    pub unsafe fn from_raw_shaped(ptr: *const c_void, dtype: Dtype, shape: &[usize]) -> TensorRef<'a> {
        TensorRef { ptr, meta: Meta { len: elements_of(shape), dtype, shape: Some(shape.to_vec()) }, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a [T]> for TensorRef<'a> {
    fn from(s: &'a [T]) -> TensorRef<'a> {
        TensorRef { ptr: s.as_ptr() as *const c_void, meta: Meta { len: s.len(), dtype: T::DTYPE, shape: None }, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a Vec<T>> for TensorRef<'a> {
    fn from(v: &'a Vec<T>) -> TensorRef<'a> {
        TensorRef::from(v.as_slice())
    }
}

/// An output tensor of a run: a mutably borrowed host slice, with a shape
/// ([`TensorMut::new`]) or without (`From<&mut [T]>`), or raw memory.
#[derive(Debug)]
pub struct TensorMut<'a> {
    ptr: *mut c_void,
    meta: Meta,
    _borrow: PhantomData<&'a mut ()>,
}

impl<'a> TensorMut<'a> {
    /// `data` as a row-major tensor of `shape`, checked like [`TensorRef::new`].
    pub fn new<T: Element>(data: &'a mut [T], shape: &[usize]) -> TensorMut<'a> {
        TensorMut {
            ptr: data.as_mut_ptr() as *mut c_void,
            meta: Meta { len: data.len(), dtype: T::DTYPE, shape: Some(shape.to_vec()) },
            _borrow: PhantomData,
        }
    }
    /// Raw memory of `len` elements without a shape: device memory for a CUDA SKU, host memory
    /// for a host SKU.
    ///
    /// # Safety
    /// `ptr` points to at least `len` writable elements of `dtype` that nothing else reads or
    /// writes for `'a`, in the memory space of the plan's SKU.
    pub unsafe fn from_raw(ptr: *mut c_void, len: usize, dtype: Dtype) -> TensorMut<'a> {
        TensorMut { ptr, meta: Meta { len, dtype, shape: None }, _borrow: PhantomData }
    }
    /// Raw memory holding a row-major tensor of `shape`.
    ///
    /// # Safety
    /// As [`from_raw`](TensorMut::from_raw) with `len` the product of `shape`.
    pub unsafe fn from_raw_shaped(ptr: *mut c_void, dtype: Dtype, shape: &[usize]) -> TensorMut<'a> {
        TensorMut { ptr, meta: Meta { len: elements_of(shape), dtype, shape: Some(shape.to_vec()) }, _borrow: PhantomData }
    }
}

/// What a tensor of a run says about itself (the same for inputs and outputs).
macro_rules! tensor_accessors {
    ($t:ident) => {
        impl<'a> $t<'a> {
            /// Its element type.
            pub fn dtype(&self) -> Dtype {
                self.meta.dtype
            }
            /// Its number of elements.
            pub fn len(&self) -> usize {
                self.meta.len
            }
            /// Whether it has no elements.
            pub fn is_empty(&self) -> bool {
                self.meta.len == 0
            }
            /// Its shape, `None` for a plain slice.
            pub fn shape(&self) -> Option<&[usize]> {
                self.meta.shape.as_deref()
            }
        }
    };
}
tensor_accessors!(TensorRef);
tensor_accessors!(TensorMut);

impl<'a, T: Element> From<&'a mut [T]> for TensorMut<'a> {
    fn from(s: &'a mut [T]) -> TensorMut<'a> {
        TensorMut { ptr: s.as_mut_ptr() as *mut c_void, meta: Meta { len: s.len(), dtype: T::DTYPE, shape: None }, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a mut Vec<T>> for TensorMut<'a> {
    fn from(v: &'a mut Vec<T>) -> TensorMut<'a> {
        TensorMut::from(v.as_mut_slice())
    }
}

/// The caller's workspace of a run: none (the plan's own scratch; such runs of one plan must be
/// ordered on one stream), or raw memory of at least [`Plan::workspace_size`] bytes.
#[derive(Debug)]
pub struct Workspace<'a> {
    ptr: *mut c_void,
    bytes: usize,
    _borrow: PhantomData<&'a mut ()>,
}

impl<'a> Workspace<'a> {
    /// No caller workspace.
    pub fn none() -> Workspace<'a> {
        Workspace { ptr: ptr::null_mut(), bytes: 0, _borrow: PhantomData }
    }
    /// Raw workspace memory (device memory for a CUDA SKU, 256-byte aligned).
    ///
    /// # Safety
    /// `ptr` points to `bytes` writable bytes that no other run uses while this one may be in
    /// flight, in the memory space of the plan's SKU.
    pub unsafe fn from_raw(ptr: *mut c_void, bytes: usize) -> Workspace<'a> {
        Workspace { ptr, bytes, _borrow: PhantomData }
    }
}

// ---- tensor fields and infos ------------------------------------------------------------------

macro_rules! fields {
    ($($variant:ident => $field:ident, $cname:literal;)*) => {
        /// A tensor field of [`Args`] (the pointer fields of `mhc_args_t`, in order).
        #[allow(missing_docs)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            /// Every field, in the order of `mhc_args_t`.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];
            /// Its name in `mhc_args_t`.
            pub fn c_name(self) -> &'static str {
                match self {
                    $(Field::$variant => $cname,)*
                }
            }
            /// Its byte offset in `mhc_args_t` (what `mhc_tensor_info_t.field_offset` names).
            pub fn offset(self) -> usize {
                let u = std::mem::MaybeUninit::<sys::mhc_args_t>::uninit();
                let base = u.as_ptr();
                // SAFETY: addr_of! computes a field's address and reads nothing.
                let at = unsafe {
                    match self {
                        $(Field::$variant => ptr::addr_of!((*base).$field) as *const u8,)*
                    }
                };
                at as usize - base as *const u8 as usize
            }
        }
    };
}

fields! {
    Residual => residual, "residual";
    Fn => fn_, "fn";
    Scale => scale, "scale";
    Base => base, "base";
    GemmOut => gemm_out, "gemm_out";
    Sqrsum => sqrsum, "sqrsum";
    LayerOutput => layer_output, "layer_output";
    PostMix => post_mix, "post_mix";
    CombMix => comb_mix, "comb_mix";
    Embedding => embedding, "embedding";
    NormWeight => norm_weight, "norm_weight";
    HPre => h_pre, "h_pre";
    HPost => h_post, "h_post";
    HRes => h_res, "h_res";
    OutGemm => out_gemm, "out_gemm";
    OutSqrsum => out_sqrsum, "out_sqrsum";
    OutPostMix => out_post_mix, "out_post_mix";
    OutCombMix => out_comb_mix, "out_comb_mix";
    OutLayerInput => out_layer_input, "out_layer_input";
    OutResidual => out_residual, "out_residual";
    OutRms => out_rms, "out_rms";
    PreMix => pre_mix, "pre_mix";
    OutPreMix => out_pre_mix, "out_pre_mix";
    GradResidual => grad_residual, "grad_residual";
    GradLayerInput => grad_layer_input, "grad_layer_input";
    GradPostMix => grad_post_mix, "grad_post_mix";
    GradCombMix => grad_comb_mix, "grad_comb_mix";
    OutGradResidual => out_grad_residual, "out_grad_residual";
    OutGradLayerOutput => out_grad_layer_output, "out_grad_layer_output";
    OutGradPostMix => out_grad_post_mix, "out_grad_post_mix";
    OutGradCombMix => out_grad_comb_mix, "out_grad_comb_mix";
    OutGradEmbedding => out_grad_embedding, "out_grad_embedding";
    OutGradFn => out_grad_fn, "out_grad_fn";
    OutGradScale => out_grad_scale, "out_grad_scale";
    OutGradBase => out_grad_base, "out_grad_base";
    OutGradHPre => out_grad_h_pre, "out_grad_h_pre";
    OutGradHPost => out_grad_h_post, "out_grad_h_post";
    OutGradHRes => out_grad_h_res, "out_grad_h_res";
    OutGradNormWeight => out_grad_norm_weight, "out_grad_norm_weight";
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "args.{}", self.c_name())
    }
}

/// Whether a plan reads or writes a tensor (`mhc_tensor_role_t`).
#[repr(transparent)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Role(pub i32);

#[allow(missing_docs)]
impl Role {
    pub const INPUT: Role = Role(sys::MHC_TENSOR_ROLE_INPUT);
    pub const OUTPUT: Role = Role(sys::MHC_TENSOR_ROLE_OUTPUT);
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Role::INPUT => f.pad("input"),
            Role::OUTPUT => f.pad("output"),
            Role(other) => write!(f, "role {}", other),
        }
    }
}

/// One tensor a plan reads or writes (`mhc_tensor_info_t`), as the library reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The `mhc_args_t` field that takes it.
    pub field: Field,
    /// Input or output.
    pub role: Role,
    /// Storage dtype: BF16 or FP32.
    pub dtype: Dtype,
    /// Whether a run must set it (optional ones may be left unset).
    pub required: bool,
    /// Row-major dimensions at T = `desc.tokens`.
    pub shape: Vec<usize>,
    /// The index of the T dimension in `shape`, `None` for a tensor without one (weights).
    pub token_dim: Option<usize>,
}

impl TensorInfo {
    /// The field's name in `mhc_args_t` (`"residual"`).
    pub fn name(&self) -> &'static str {
        self.field.c_name()
    }
    /// The shape of a run with `tokens` tokens.
    pub fn shape_at(&self, tokens: usize) -> Vec<usize> {
        let mut shape = self.shape.clone();
        if let Some(d) = self.token_dim {
            shape[d] = tokens;
        }
        shape
    }
    /// Its element count at T = `desc.tokens`.
    pub fn elements(&self) -> usize {
        elements_of(&self.shape)
    }
}

/// `[3, 4, 16]`.
fn fmt_dims(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The shape `info` takes, for a message: at T = `t` when T is known (`from`: the tensor that
/// told it), else with the T dimension spelled `T` and its range; `elements` adds the count.
fn fmt_want(info: &TensorInfo, max_t: usize, t: Option<usize>, from: Option<Field>, elements: bool) -> String {
    let d = match info.token_dim {
        None => {
            let count = if elements { format!(" = {} elements", info.elements()) } else { String::new() };
            return format!("{}{}", fmt_dims(&info.shape), count);
        }
        Some(d) => d,
    };
    match t {
        Some(t) => {
            let shape = info.shape_at(t);
            let count = if elements { format!(" = {} elements", elements_of(&shape)) } else { String::new() };
            let note = from.map(|f| format!(" (T = {} from {})", t, f)).unwrap_or_default();
            format!("{}{}{}", fmt_dims(&shape), count, note)
        }
        None => {
            let parts: Vec<String> =
                info.shape.iter().enumerate().map(|(k, v)| if k == d { "T".to_string() } else { v.to_string() }).collect();
            let count = if elements { format!(" = T * {} elements", info.elements() / info.shape[d]) } else { String::new() };
            format!("[{}]{} with T in 1..{}", parts.join(", "), count, max_t)
        }
    }
}

// ---- args -------------------------------------------------------------------------------------

/// The tensors of one run (`mhc_args_t`): start empty, set the fields the plan's op uses (see
/// [`Plan::tensors`]). Inputs take `&[f32]`, `&[Bf16]` or a [`TensorRef`], outputs
/// `&mut [f32]`, `&mut [Bf16]` or a [`TensorMut`]; a tensor with a shape is checked dimension by
/// dimension, a plain slice by its element count. This run's T (`mhc_args_t.tokens`) comes from
/// the tensors.
pub struct Args<'a> {
    raw: sys::mhc_args_t,
    meta: Vec<Option<Meta>>,
    _borrows: PhantomData<&'a mut ()>,
}

impl Default for Args<'_> {
    fn default() -> Self {
        Args::new()
    }
}

macro_rules! args_inputs {
    ($($(#[$doc:meta])* $method:ident => $field:ident, $variant:ident;)*) => {
        $($(#[$doc])* pub fn $method(mut self, t: impl Into<TensorRef<'a>>) -> Args<'a> {
            let t = t.into();
            self.raw.$field = t.ptr;
            self.meta[Field::$variant as usize] = Some(t.meta);
            self
        })*
    };
}

macro_rules! args_outputs {
    ($($(#[$doc:meta])* $method:ident => $field:ident, $variant:ident;)*) => {
        $($(#[$doc])* pub fn $method(mut self, t: impl Into<TensorMut<'a>>) -> Args<'a> {
            let t = t.into();
            self.raw.$field = t.ptr;
            self.meta[Field::$variant as usize] = Some(t.meta);
            self
        })*
    };
}

impl<'a> Args<'a> {
    /// No tensor set (`mhc_args_init_sized`).
    pub fn new() -> Args<'a> {
        // SAFETY: an all-zero mhc_args_t (NULL pointers) is valid; the sized init writes only
        // this crate's bytes and sets struct_size.
        let mut raw: sys::mhc_args_t = unsafe { std::mem::zeroed() };
        unsafe { sys::mhc_args_init_sized(&mut raw, std::mem::size_of::<sys::mhc_args_t>()) };
        Args { raw, meta: vec![None; Field::ALL.len()], _borrows: PhantomData }
    }
    /// The C struct as built; `tokens` is 0 here and set per run from the tensors.
    pub fn raw(&self) -> &sys::mhc_args_t {
        &self.raw
    }
    /// Whether `field` is set.
    pub fn is_set(&self, field: Field) -> bool {
        self.meta[field as usize].is_some()
    }
    args_inputs! {
        /// R `[T, n, C]` (family A, bf16) or x `[B, n, C]` (family B, act_dtype).
        residual => residual, Residual;
        /// fn fp32 `[N, K]` (A1, A3) or fn_head `[n, K]` (A5); `fn` in C.
        fn_ => fn_, Fn;
        /// scale fp32 `[3]` (A2, A3) or scale_head `[1]` (A5).
        scale => scale, Scale;
        /// base fp32 `[N]` (A2, A3) or base_head `[n]` (A5).
        base => base, Base;
        /// A2: D fp32 `[T, N]` or `[S, T, N]`.
        gemm_out => gemm_out, GemmOut;
        /// A2: Q fp32 `[T]` or `[S, T]`.
        sqrsum => sqrsum, Sqrsum;
        /// A4: X bf16 `[T, C]`; B2: F `[B, C]` in act_dtype.
        layer_output => layer_output, LayerOutput;
        /// A4: fp32 `[T, n]`.
        post_mix => post_mix, PostMix;
        /// A4: fp32 `[T, n, n]`.
        comb_mix => comb_mix, CombMix;
        /// A6: E bf16 `[T, C]`.
        embedding => embedding, Embedding;
        /// B1, B3: bf16 `[C]`.
        norm_weight => norm_weight, NormWeight;
        /// B: fp32 `[n]`.
        h_pre => h_pre, HPre;
        /// B2, B3: fp32 `[n]`.
        h_post => h_post, HPost;
        /// B2, B3: fp32 `[n, n]`.
        h_res => h_res, HRes;
        /// A7 shifted, collapse: the carried pre p_prev fp32 `[T, n]` (since 0.3).
        pre_mix => pre_mix, PreMix;
        /// A4', A6': dL/d out_residual, bf16 `[T, n, C]` (since 0.4).
        grad_residual => grad_residual, GradResidual;
        /// A3', A5': dL/d out_layer_input, bf16 `[T, C]` (since 0.4).
        grad_layer_input => grad_layer_input, GradLayerInput;
        /// A3': dL/d out_post_mix, fp32 `[T, n]` (since 0.4).
        grad_post_mix => grad_post_mix, GradPostMix;
        /// A3': dL/d out_comb_mix, fp32 `[T, n, n]` (since 0.4).
        grad_comb_mix => grad_comb_mix, GradCombMix;
    }
    args_outputs! {
        /// A1: D; A3 (optional): the reduced D.
        out_gemm => out_gemm, OutGemm;
        /// A1: Q; A3 (optional): the reduced Q.
        out_sqrsum => out_sqrsum, OutSqrsum;
        /// A2, A3: fp32 `[T, n]`.
        out_post_mix => out_post_mix, OutPostMix;
        /// A2, A3: fp32 `[T, n, n]`.
        out_comb_mix => out_comb_mix, OutCombMix;
        /// A2, A3, A5: bf16 `[T, C]`; B1: `[B, C]` in act_dtype.
        out_layer_input => out_layer_input, OutLayerInput;
        /// A4, A6: bf16 `[T, n, C]`; B2, B3: `[B, n, C]` in act_dtype.
        out_residual => out_residual, OutResidual;
        /// B1 (optional): fp32 `[B]`.
        out_rms => out_rms, OutRms;
        /// A7: this boundary's pre fp32 `[T, n]`, carried to the next (since 0.3).
        out_pre_mix => out_pre_mix, OutPreMix;
        /// A3'-A5': dL/d residual, bf16 `[T, n, C]` (since 0.4).
        out_grad_residual => out_grad_residual, OutGradResidual;
        /// A4': dL/d layer_output, bf16 `[T, C]` (since 0.4).
        out_grad_layer_output => out_grad_layer_output, OutGradLayerOutput;
        /// A4': dL/d post_mix, fp32 `[T, n]` (since 0.4).
        out_grad_post_mix => out_grad_post_mix, OutGradPostMix;
        /// A4': dL/d comb_mix, fp32 `[T, n, n]` (since 0.4).
        out_grad_comb_mix => out_grad_comb_mix, OutGradCombMix;
        /// A6': dL/d embedding, bf16 `[T, C]` (since 0.4).
        out_grad_embedding => out_grad_embedding, OutGradEmbedding;
        /// A3': dL/d fn fp32 `[N, K]`; A5': `[n, K]`: sums over the run's T (since 0.4).
        out_grad_fn => out_grad_fn, OutGradFn;
        /// A3': dL/d scale fp32 `[3]`; A5': `[1]` (since 0.4).
        out_grad_scale => out_grad_scale, OutGradScale;
        /// A3': dL/d base fp32 `[N]`; A5': `[n]` (since 0.4).
        out_grad_base => out_grad_base, OutGradBase;
        /// B1', B3': dL/d h_pre fp32 `[n]`, summed over the run's B (since 0.5).
        out_grad_h_pre => out_grad_h_pre, OutGradHPre;
        /// B2', B3': dL/d h_post fp32 `[n]` (since 0.5).
        out_grad_h_post => out_grad_h_post, OutGradHPost;
        /// B2', B3': dL/d h_res fp32 `[n, n]` (since 0.5).
        out_grad_h_res => out_grad_h_res, OutGradHRes;
        /// B1', B3': dL/d norm_weight fp32 `[C]` (since 0.5).
        out_grad_norm_weight => out_grad_norm_weight, OutGradNormWeight;
    }
    /// The gradient outputs to add to instead of overwriting (backward ops; since 0.4):
    /// `Args::new().grad_accumulate(GradAccumulate::RESIDUAL | GradAccumulate::FN)`.
    pub fn grad_accumulate(mut self, bits: GradAccumulate) -> Args<'a> {
        self.raw.grad_accumulate = bits.0;
        self
    }
}

// ---- plans ------------------------------------------------------------------------------------

/// A selected plan (`mhc_plan_t`): immutable, reusable for any number of runs; dropping it
/// destroys it.
pub struct Plan {
    raw: sys::mhc_plan_t,
    desc: Desc,
    sku: Sku,
    guarantee: PrecisionGuarantee,
    workspace: usize,
    tensors: Vec<TensorInfo>,
}

// SAFETY (Send): the C library keeps no thread affinity for a plan: it is selected, run and
// destroyed from any thread (mhc_plan_destroy waits for the device the plan was made on). The
// only per-thread state, the last-error message, is read by this binding on the thread of the
// failing call, right after it.
unsafe impl Send for Plan {}
// SAFETY (Sync): mhc.h: "A plan is immutable after select; every function below may be called on
// one plan from several threads at once" (can_implement, workspace_size, run, get_*). Every
// &self method here calls only those. mhc_plan_destroy "must not race with a run of the same
// plan on another thread": it runs only in Drop, which has the plan exclusively. A CUDA plan run
// with Workspace::none() uses the plan's own device scratch, whose runs must be ordered on one
// stream (a device-side ordering rule the types cannot see; host memory is never shared).
unsafe impl Sync for Plan {}

/// The library's info of one tensor as a [`TensorInfo`]; `None` for an optional field this
/// binding's `mhc_args_t` does not have (from a newer library: it stays NULL, which is allowed).
fn tensor_info(raw: &sys::mhc_tensor_info_t, op: Op) -> Result<Option<TensorInfo>> {
    // SAFETY: the library's field name is a static string (or NULL).
    let name = unsafe { static_str(raw.field) }.unwrap_or("?");
    let field = match Field::ALL.iter().find(|f| f.offset() == raw.field_offset as usize) {
        Some(f) => *f,
        None if raw.required == 0 => return Ok(None),
        None => {
            return Err(binding_error(
                Status::NOT_SUPPORTED,
                format!(
                    "{} needs args.{} (offset {}), a field this binding does not have: use a binding as new as the library",
                    op, name, raw.field_offset
                ),
            ))
        }
    };
    let rank = raw.rank;
    let bad = rank < 1
        || rank as usize > MAX_RANK
        || raw.token_dim < -1
        || raw.token_dim >= rank
        || raw.shape[..rank as usize].iter().any(|&d| d < 1);
    if bad {
        return Err(binding_error(
            Status::INTERNAL,
            format!("the library reported args.{} with rank {}, shape {:?}, token_dim {}", name, rank, raw.shape, raw.token_dim),
        ));
    }
    Ok(Some(TensorInfo {
        field,
        role: Role(raw.role),
        dtype: Dtype(raw.dtype),
        required: raw.required != 0,
        shape: raw.shape[..rank as usize].iter().map(|&d| d as usize).collect(),
        token_dim: if raw.token_dim < 0 { None } else { Some(raw.token_dim as usize) },
    }))
}

impl Plan {
    /// Validates `desc`, picks a SKU under `pref` and returns the plan. The library allocates a
    /// CUDA plan's scratch on the current device; `stream` is not used by select (it takes
    /// none) and is there so that a plan is made where it will run. Fails with
    /// `NOT_SUPPORTED_*` when no SKU implements the problem and `BAD_PARAM_*` for an invalid
    /// descriptor, with the library's message. `desc.tokens` is the largest T the plan runs.
    pub fn select(stream: &Stream, desc: &Desc, pref: Preference) -> Result<Plan> {
        let _ = stream;
        check_abi()?;
        let mut raw: sys::mhc_plan_t = ptr::null_mut();
        // SAFETY: valid pointers to initialized structs; raw is an out-pointer.
        check(unsafe { sys::mhc_plan_select(&desc.raw, &pref.raw, &mut raw) })?;
        // Owned from here on: an early return below destroys it.
        let mut plan = Plan {
            raw,
            desc: *desc,
            sku: Sku::NONE,
            guarantee: PrecisionGuarantee { math_precision: Dtype(0), accumulator: Dtype(0), flags: Guarantee::NONE },
            workspace: 0,
            tensors: Vec::new(),
        };
        // A plan is immutable: read what it is once.
        let mut sku: sys::mhc_sku_t = 0;
        let mut g = sys::mhc_precision_guarantee_t {
            struct_size: std::mem::size_of::<sys::mhc_precision_guarantee_t>() as u32,
            math_precision: 0,
            accumulator: 0,
            flags: 0,
        };
        let mut resolved = desc.raw;
        resolved.struct_size = std::mem::size_of::<sys::mhc_desc_t>() as u32;
        let mut ws = 0usize;
        let mut count = 0i32;
        // SAFETY: a live plan and valid out-pointers with struct_size set.
        unsafe {
            check(sys::mhc_plan_get_sku(plan.raw, &mut sku))?;
            check(sys::mhc_plan_get_precision_guarantee(plan.raw, &mut g))?;
            check(sys::mhc_plan_get_desc(plan.raw, &mut resolved))?;
            check(sys::mhc_plan_workspace_size(plan.raw, &mut ws))?;
            check(sys::mhc_plan_get_tensor_count(plan.raw, &mut count))?;
        }
        for index in 0..count {
            // SAFETY: all-zero is a valid mhc_tensor_info_t (a NULL name); the library writes it.
            let mut info: sys::mhc_tensor_info_t = unsafe { std::mem::zeroed() };
            info.struct_size = std::mem::size_of::<sys::mhc_tensor_info_t>() as u32;
            check(unsafe { sys::mhc_plan_get_tensor_info(plan.raw, index, &mut info) })?;
            if let Some(t) = tensor_info(&info, Op(resolved.op))? {
                plan.tensors.push(t);
            }
        }
        plan.sku = Sku(sku);
        plan.guarantee =
            PrecisionGuarantee { math_precision: Dtype(g.math_precision), accumulator: Dtype(g.accumulator), flags: Guarantee(g.flags) };
        plan.desc = Desc { raw: resolved };
        plan.workspace = ws;
        Ok(plan)
    }

    /// The tensors the plan reads and writes, as the library reports them (`mhc_plan_get_tensor_info`),
    /// inputs first; shapes are at T = `desc.tokens`.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The info of `field`, `None` when the plan's op does not use it.
    pub fn tensor(&self, field: Field) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.field == field)
    }

    /// The T a run with `args` takes, read from the tensors' T dimension after this binding's
    /// checks against [`tensors`](Plan::tensors): the fields the op does not use are unset,
    /// the required ones set, dtypes match, a tensor with a shape has the info's rank and
    /// dimensions except T (any of `1..=desc.tokens`, the same in every tensor), a plain slice
    /// has the info's element count at that T. `desc.tokens` when no set tensor has a T.
    pub fn run_tokens(&self, args: &Args<'_>) -> Result<usize> {
        let op = self.desc.op();
        let max_t = self.desc.raw.tokens.max(1) as usize;
        for &field in Field::ALL {
            if args.is_set(field) && self.tensor(field).is_none() {
                return Err(binding_error(
                    Status::BAD_PARAM_VALUE,
                    format!("{} is set, but {} does not use it (leave it unset)", field, op),
                ));
            }
        }
        for info in &self.tensors {
            if info.required && !args.is_set(info.field) {
                return Err(binding_error(
                    Status::BAD_PARAM_NULL_POINTER,
                    format!("{} is not set: {} needs it ({} {})", info.field, op, info.dtype, fmt_want(info, max_t, None, None, false)),
                ));
            }
        }
        // T and the tensor that told it, once one has.
        let mut run_t: Option<(usize, Field)> = None;
        for info in &self.tensors {
            let meta = match &args.meta[info.field as usize] {
                Some(m) => m,
                None => continue,
            };
            let known_t = run_t.map(|(t, _)| t);
            let known_from = run_t.map(|(_, f)| f);
            let mismatch = |given: String, t: Option<usize>, from: Option<Field>, elements: bool| {
                binding_error(
                    Status::BAD_PARAM_SHAPE,
                    format!("{}: {} given, the plan takes {}", info.field, given, fmt_want(info, max_t, t, from, elements)),
                )
            };
            if meta.dtype != info.dtype {
                return Err(binding_error(
                    Status::BAD_PARAM_VALUE,
                    format!("{}: {} given, the plan takes {}", info.field, meta.dtype, info.dtype),
                ));
            }
            // This tensor's T (None: it has no T dimension) and how it was given, for messages.
            let (own_t, given) = match &meta.shape {
                Some(shape) => {
                    let given = format!("shape {}", fmt_dims(shape));
                    if elements_of(shape) != meta.len {
                        return Err(binding_error(
                            Status::BAD_PARAM_SHAPE,
                            format!("{}: {} ({} elements) given for {} elements", info.field, given, elements_of(shape), meta.len),
                        ));
                    }
                    let same_rank = shape.len() == info.shape.len();
                    let own_t = info.token_dim.filter(|_| same_rank).map(|d| shape[d]);
                    let in_range = |t: &usize| (1..=max_t).contains(t);
                    let dims_match = same_rank
                        && shape.iter().zip(&info.shape).enumerate().all(|(k, (g, w))| Some(k) == info.token_dim || g == w);
                    if !dims_match {
                        // Spell the expected shape at the T already known, else at this tensor's own.
                        let t = known_t.or_else(|| own_t.filter(in_range));
                        return Err(mismatch(given, t, known_from, false));
                    }
                    if info.token_dim.is_some() && own_t.filter(in_range).is_none() {
                        return Err(mismatch(given, None, None, false));
                    }
                    (own_t, given)
                }
                None => {
                    let given = format!("{} elements", meta.len);
                    match info.token_dim {
                        None => {
                            if meta.len != info.elements() {
                                return Err(mismatch(given, None, None, true));
                            }
                            (None, given)
                        }
                        Some(d) => {
                            let per_t = info.elements() / info.shape[d];
                            let t = meta.len / per_t;
                            if meta.len % per_t != 0 || t < 1 || t > max_t {
                                return Err(mismatch(given, known_t, known_from, true));
                            }
                            (Some(t), given)
                        }
                    }
                }
            };
            if let Some(t) = own_t {
                match run_t {
                    None => run_t = Some((t, info.field)),
                    Some((t0, from)) if t0 != t => return Err(mismatch(given, Some(t0), Some(from), meta.shape.is_none())),
                    Some(_) => {}
                }
            }
        }
        Ok(run_t.map(|(t, _)| t).unwrap_or(max_t))
    }

    /// The C struct of a run: `args` with `tokens` set from the tensors.
    fn checked_args(&self, args: &Args<'_>) -> Result<sys::mhc_args_t> {
        let t = self.run_tokens(args)?;
        let mut raw = args.raw;
        raw.tokens = t as i64;
        Ok(raw)
    }

    /// Validates `args` against the plan (the checks of [`run_tokens`](Plan::run_tokens) here,
    /// then pointers, alignment and memory space in the library); runs nothing.
    pub fn can_implement(&self, args: &Args<'_>) -> Result<()> {
        let raw = self.checked_args(args)?;
        // SAFETY: a live plan; raw holds pointers whose validity the tensors' constructors ensured.
        check(unsafe { sys::mhc_plan_can_implement(self.raw, &raw) })
    }

    /// Bytes of caller workspace a run may use (0 for every host SKU).
    pub fn workspace_size(&self) -> usize {
        self.workspace
    }

    /// The SKU the plan runs.
    pub fn sku(&self) -> Sku {
        self.sku
    }

    /// What the plan promises: math precision, accumulator, guarantee flags.
    pub fn precision_guarantee(&self) -> PrecisionGuarantee {
        self.guarantee
    }

    /// The validated descriptor with every default resolved (`num_splits` as the plan runs it).
    pub fn desc(&self) -> &Desc {
        &self.desc
    }

    /// Runs the plan on T = [`run_tokens`](Plan::run_tokens) tokens: validates like
    /// [`can_implement`](Plan::can_implement), then computes (a host SKU, on this thread) or
    /// enqueues on `stream` (a CUDA SKU; the outputs are ready when the stream gets there).
    pub fn run(&self, stream: &Stream, workspace: Workspace<'_>, args: &Args<'_>) -> Result<()> {
        let raw = self.checked_args(args)?;
        // SAFETY: a live plan; tensors and workspace are valid by their constructors.
        check(unsafe { sys::mhc_plan_run(self.raw, stream.raw, workspace.ptr, workspace.bytes, &raw) })
    }

    /// The raw handle, still owned by this plan.
    pub fn as_raw(&self) -> sys::mhc_plan_t {
        self.raw
    }
}

impl Drop for Plan {
    fn drop(&mut self) {
        // mhc_plan_destroy waits for the plan's in-flight work, frees it and always returns
        // SUCCESS (docs/c_abi.md); nothing here can panic, and a status would have nowhere to go.
        // SAFETY: raw came from a successful select and is destroyed exactly once.
        unsafe {
            sys::mhc_plan_destroy(self.raw);
        }
    }
}

impl fmt::Debug for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plan")
            .field("sku", &self.sku)
            .field("op", &self.desc.op())
            .field("guarantee", &self.guarantee)
            .field("workspace", &self.workspace)
            .field("tensors", &self.tensors)
            .finish()
    }
}
