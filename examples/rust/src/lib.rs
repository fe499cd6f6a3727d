//! Rust binding of libmhc, the manifold-constrained hyper-connections (mHC) runtime library.
//!
//! Two layers over the stable C ABI (`include/mhc/mhc.h`):
//!
//! * [`sys`]: the header by hand: `#[repr(C)]` structs, integer type aliases and constants,
//!   `extern "C"` functions. `tests/abi.rs` proves it matches the header.
//! * this module: a safe API in the style of a `HyperConnectionPlan`: a [`Desc`] describes the
//!   problem, [`Plan::select`] picks a kernel (a SKU) and returns a reusable plan,
//!   [`Plan::run`] runs it; errors are [`Error`] values carrying the status and the library's
//!   message; dropping a plan destroys it.
//!
//! ```no_run
//! use mhc::{Args, Backend, Desc, Op, Plan, Preference, Stream, Workspace};
//! # fn main() -> mhc::Result<()> {
//! let (b, n, c) = (2usize, 4usize, 64usize);
//! let desc = Desc::new(Op::STATIC_LAYER)?.tokens(b as i64).n(n as i32).hidden(c as i64);
//! let stream = Stream::legacy_default();
//! let plan = Plan::select(&stream, &desc, Preference::default().backends(Backend::HOST))?;
//! let x = vec![0.5f32; b * n * c];
//! let w = vec![mhc::Bf16::from_f32(1.0); c];
//! let (h_pre, h_post, h_res) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n * n]);
//! let mut out = vec![0.0f32; b * n * c];
//! let args = Args::new().residual(&x).norm_weight(&w).h_pre(&h_pre).h_post(&h_post)
//!     .h_res(&h_res).out_residual(&mut out);
//! plan.run(&stream, Workspace::none(), &args)?;
//! # Ok(())
//! # }
//! ```
//!
//! Tensors are borrowed host slices (`&[f32]`, `&[Bf16]`; outputs `&mut`), whose lengths and
//! element types this binding checks against the plan's descriptor before every call, or raw
//! pointers (device memory for a CUDA SKU) through the `unsafe` [`TensorRef::from_raw`] and
//! [`TensorMut::from_raw`], whose validity the caller promises.
#![deny(missing_docs)]

pub mod sys;

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
/// itself (a slice too short for the plan, an element type the op does not take).
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

/// The loaded library's version string (`"0.1.0"`).
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
    pub const STATIC_PRE: Op = Op(sys::MHC_OP_STATIC_PRE);
    pub const STATIC_POST: Op = Op(sys::MHC_OP_STATIC_POST);
    pub const STATIC_LAYER: Op = Op(sys::MHC_OP_STATIC_LAYER);
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
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Dtype::BF16 => f.write_str("BF16"),
            Dtype::FP32 => f.write_str("FP32"),
            Dtype::TF32 => f.write_str("TF32"),
            Dtype::FP64 => f.write_str("FP64"),
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
    pub const HOST_STATIC_PRE: Sku = Sku(sys::MHC_SKU_HOST_STATIC_PRE);
    pub const HOST_STATIC_POST: Sku = Sku(sys::MHC_SKU_HOST_STATIC_POST);
    pub const HOST_STATIC_LAYER: Sku = Sku(sys::MHC_SKU_HOST_STATIC_LAYER);
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
    /// Precision of the products: TF32, FP32 or FP64.
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
    /// `mhc_desc_init(op)`: the defaults for `op`; `tokens` and `hidden` still need setting.
    /// An op the library does not know: `BAD_PARAM_UNKNOWN_ENUM`.
    pub fn new(op: Op) -> Result<Desc> {
        // SAFETY: an all-zero mhc_desc_t is a valid value; desc_init writes it.
        let mut raw: sys::mhc_desc_t = unsafe { std::mem::zeroed() };
        check(unsafe { sys::mhc_desc_init(&mut raw, op.0) })?;
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
    /// Sets how `fn` enters the products (`weight_precision`: TF32 or FP32).
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

/// An input tensor of a run: a borrowed host slice, or raw memory.
#[derive(Clone, Copy, Debug)]
pub struct TensorRef<'a> {
    ptr: *const c_void,
    len: usize,
    dtype: Dtype,
    _borrow: PhantomData<&'a ()>,
}

impl<'a> TensorRef<'a> {
    /// Raw memory: device memory for a CUDA SKU, host memory for a host SKU.
    ///
    /// # Safety
    /// `ptr` points to at least `len` elements of `dtype` that stay valid and unmodified for
    /// `'a` and for every run given this tensor, in the memory space of the plan's SKU.
    pub unsafe fn from_raw(ptr: *const c_void, len: usize, dtype: Dtype) -> TensorRef<'a> {
        TensorRef { ptr, len, dtype, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a [T]> for TensorRef<'a> {
    fn from(s: &'a [T]) -> TensorRef<'a> {
        TensorRef { ptr: s.as_ptr() as *const c_void, len: s.len(), dtype: T::DTYPE, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a Vec<T>> for TensorRef<'a> {
    fn from(v: &'a Vec<T>) -> TensorRef<'a> {
        TensorRef::from(v.as_slice())
    }
}

/// An output tensor of a run: a mutably borrowed host slice, or raw memory.
#[derive(Debug)]
pub struct TensorMut<'a> {
    ptr: *mut c_void,
    len: usize,
    dtype: Dtype,
    _borrow: PhantomData<&'a mut ()>,
}

impl<'a> TensorMut<'a> {
    /// Raw memory: device memory for a CUDA SKU, host memory for a host SKU.
    ///
    /// # Safety
    /// `ptr` points to at least `len` writable elements of `dtype` that nothing else reads or
    /// writes for `'a`, in the memory space of the plan's SKU.
    pub unsafe fn from_raw(ptr: *mut c_void, len: usize, dtype: Dtype) -> TensorMut<'a> {
        TensorMut { ptr, len, dtype, _borrow: PhantomData }
    }
}

impl<'a, T: Element> From<&'a mut [T]> for TensorMut<'a> {
    fn from(s: &'a mut [T]) -> TensorMut<'a> {
        TensorMut { ptr: s.as_mut_ptr() as *mut c_void, len: s.len(), dtype: T::DTYPE, _borrow: PhantomData }
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

/// A tensor field of [`Args`] (the fields of `mhc_args_t`, in order).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Residual,
    Fn,
    Scale,
    Base,
    GemmOut,
    Sqrsum,
    LayerOutput,
    PostMix,
    CombMix,
    Embedding,
    NormWeight,
    HPre,
    HPost,
    HRes,
    OutGemm,
    OutSqrsum,
    OutPostMix,
    OutCombMix,
    OutLayerInput,
    OutResidual,
    OutRms,
}

const FIELD_COUNT: usize = 21;

impl Field {
    /// Its name in `mhc_args_t`.
    pub fn c_name(self) -> &'static str {
        match self {
            Field::Residual => "residual",
            Field::Fn => "fn",
            Field::Scale => "scale",
            Field::Base => "base",
            Field::GemmOut => "gemm_out",
            Field::Sqrsum => "sqrsum",
            Field::LayerOutput => "layer_output",
            Field::PostMix => "post_mix",
            Field::CombMix => "comb_mix",
            Field::Embedding => "embedding",
            Field::NormWeight => "norm_weight",
            Field::HPre => "h_pre",
            Field::HPost => "h_post",
            Field::HRes => "h_res",
            Field::OutGemm => "out_gemm",
            Field::OutSqrsum => "out_sqrsum",
            Field::OutPostMix => "out_post_mix",
            Field::OutCombMix => "out_comb_mix",
            Field::OutLayerInput => "out_layer_input",
            Field::OutResidual => "out_residual",
            Field::OutRms => "out_rms",
        }
    }
}

/// The element type and count `field` must have for the plan's (resolved) descriptor, `None`
/// when the op does not use the field (the library then rejects it if set). The table of
/// docs/c_abi.md, "Tensors of each op".
fn tensor_spec(desc: &sys::mhc_desc_t, field: Field) -> Result<Option<(Dtype, u64)>> {
    let (t, n, c) = (desc.tokens as u64, desc.n as u64, desc.hidden as u64);
    let k = n * c;
    let act = Dtype(desc.act_dtype);
    let (bf16, f32) = (Dtype::BF16, Dtype::FP32);
    let partials = if desc.flags & sys::MHC_DESC_FLAG_SPLIT_PARTIALS != 0 { desc.num_splits.max(1) as u64 } else { 1 };
    let mixes = n * (n + 2);
    use Field::*;
    let spec = match (Op(desc.op), field) {
        (Op::PRENORM_GEMM, Residual) => (bf16, t * k),
        (Op::PRENORM_GEMM, Fn) => (f32, mixes * k),
        (Op::PRENORM_GEMM, OutGemm) => (f32, partials * t * mixes),
        (Op::PRENORM_GEMM, OutSqrsum) => (f32, partials * t),
        (Op::PRE_FUSE, GemmOut) => (f32, partials * t * mixes),
        (Op::PRE_FUSE, Sqrsum) => (f32, partials * t),
        (Op::PRE, Fn) => (f32, mixes * k),
        (Op::PRE, OutGemm) => (f32, t * mixes),
        (Op::PRE, OutSqrsum) => (f32, t),
        (Op::PRE_FUSE, Scale) | (Op::PRE, Scale) => (f32, 3),
        (Op::PRE_FUSE, Base) | (Op::PRE, Base) => (f32, mixes),
        (Op::PRE_FUSE, Residual) | (Op::PRE, Residual) => (bf16, t * k),
        (Op::PRE_FUSE, OutPostMix) | (Op::PRE, OutPostMix) => (f32, t * n),
        (Op::PRE_FUSE, OutCombMix) | (Op::PRE, OutCombMix) => (f32, t * n * n),
        (Op::PRE_FUSE, OutLayerInput) | (Op::PRE, OutLayerInput) => (bf16, t * c),
        (Op::POST, LayerOutput) => (bf16, t * c),
        (Op::POST, Residual) => (bf16, t * k),
        (Op::POST, PostMix) => (f32, t * n),
        (Op::POST, CombMix) => (f32, t * n * n),
        (Op::POST, OutResidual) => (bf16, t * k),
        (Op::HEAD, Residual) => (bf16, t * k),
        (Op::HEAD, Fn) => (f32, n * k),
        (Op::HEAD, Scale) => (f32, 1),
        (Op::HEAD, Base) => (f32, n),
        (Op::HEAD, OutLayerInput) => (bf16, t * c),
        (Op::EXPAND, Embedding) => (bf16, t * c),
        (Op::EXPAND, OutResidual) => (bf16, t * k),
        (Op::STATIC_PRE, Residual) | (Op::STATIC_POST, Residual) | (Op::STATIC_LAYER, Residual) => (act, t * k),
        (Op::STATIC_PRE, NormWeight) | (Op::STATIC_LAYER, NormWeight) => (bf16, c),
        (Op::STATIC_PRE, HPre) | (Op::STATIC_LAYER, HPre) => (f32, n),
        (Op::STATIC_PRE, OutLayerInput) => (act, t * c),
        (Op::STATIC_PRE, OutRms) => (f32, t),
        (Op::STATIC_POST, LayerOutput) => (act, t * c),
        (Op::STATIC_POST, HPost) | (Op::STATIC_LAYER, HPost) => (f32, n),
        (Op::STATIC_POST, HRes) | (Op::STATIC_LAYER, HRes) => (f32, n * n),
        (Op::STATIC_POST, OutResidual) | (Op::STATIC_LAYER, OutResidual) => (act, t * k),
        (Op::PRENORM_GEMM, _)
        | (Op::PRE_FUSE, _)
        | (Op::PRE, _)
        | (Op::POST, _)
        | (Op::HEAD, _)
        | (Op::EXPAND, _)
        | (Op::STATIC_PRE, _)
        | (Op::STATIC_POST, _)
        | (Op::STATIC_LAYER, _) => return Ok(None),
        (op, _) => {
            return Err(binding_error(
                Status::BAD_PARAM_UNKNOWN_ENUM,
                format!("op {}: this binding does not know which tensors it takes", op.0),
            ))
        }
    };
    Ok(Some(spec))
}

/// The tensors of one run (`mhc_args_t`): start empty, set the fields the op uses
/// (docs/c_abi.md, "Tensors of each op"). Inputs take `&[f32]`, `&[Bf16]` (or a
/// [`TensorRef`]), outputs `&mut [f32]`, `&mut [Bf16]` (or a [`TensorMut`]).
pub struct Args<'a> {
    raw: sys::mhc_args_t,
    meta: [Option<(usize, Dtype)>; FIELD_COUNT],
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
            self.meta[Field::$variant as usize] = Some((t.len, t.dtype));
            self
        })*
    };
}

macro_rules! args_outputs {
    ($($(#[$doc:meta])* $method:ident => $field:ident, $variant:ident;)*) => {
        $($(#[$doc])* pub fn $method(mut self, t: impl Into<TensorMut<'a>>) -> Args<'a> {
            let t = t.into();
            self.raw.$field = t.ptr;
            self.meta[Field::$variant as usize] = Some((t.len, t.dtype));
            self
        })*
    };
}

impl<'a> Args<'a> {
    /// No tensor set (`mhc_args_init`).
    pub fn new() -> Args<'a> {
        // SAFETY: an all-zero mhc_args_t (NULL pointers) is valid; args_init sets struct_size.
        let mut raw: sys::mhc_args_t = unsafe { std::mem::zeroed() };
        unsafe { sys::mhc_args_init(&mut raw) };
        Args { raw, meta: [None; FIELD_COUNT], _borrows: PhantomData }
    }
    /// The C struct this run passes.
    pub fn raw(&self) -> &sys::mhc_args_t {
        &self.raw
    }
    args_inputs! {
        /// R [T, n, C] (family A, bf16) or x [B, n, C] (family B, act_dtype).
        residual => residual, Residual;
        /// fn fp32 [N, K] (A1, A3) or fn_head [n, K] (A5); `fn` in C.
        fn_ => fn_, Fn;
        /// scale fp32 [3] (A2, A3) or scale_head [1] (A5).
        scale => scale, Scale;
        /// base fp32 [N] (A2, A3) or base_head [n] (A5).
        base => base, Base;
        /// A2: D fp32 [T, N] or [S, T, N].
        gemm_out => gemm_out, GemmOut;
        /// A2: Q fp32 [T] or [S, T].
        sqrsum => sqrsum, Sqrsum;
        /// A4: X bf16 [T, C]; B2: F [B, C] in act_dtype.
        layer_output => layer_output, LayerOutput;
        /// A4: fp32 [T, n].
        post_mix => post_mix, PostMix;
        /// A4: fp32 [T, n, n].
        comb_mix => comb_mix, CombMix;
        /// A6: E bf16 [T, C].
        embedding => embedding, Embedding;
        /// B1, B3: bf16 [C].
        norm_weight => norm_weight, NormWeight;
        /// B: fp32 [n].
        h_pre => h_pre, HPre;
        /// B2, B3: fp32 [n].
        h_post => h_post, HPost;
        /// B2, B3: fp32 [n, n].
        h_res => h_res, HRes;
    }
    args_outputs! {
        /// A1: D; A3 (optional): the reduced D.
        out_gemm => out_gemm, OutGemm;
        /// A1: Q; A3 (optional): the reduced Q.
        out_sqrsum => out_sqrsum, OutSqrsum;
        /// A2, A3: fp32 [T, n].
        out_post_mix => out_post_mix, OutPostMix;
        /// A2, A3: fp32 [T, n, n].
        out_comb_mix => out_comb_mix, OutCombMix;
        /// A2, A3, A5: bf16 [T, C]; B1: [B, C] in act_dtype.
        out_layer_input => out_layer_input, OutLayerInput;
        /// A4, A6: bf16 [T, n, C]; B2, B3: [B, n, C] in act_dtype.
        out_residual => out_residual, OutResidual;
        /// B1 (optional): fp32 [B].
        out_rms => out_rms, OutRms;
    }

    /// Checks every set tensor's element type and length against the plan's descriptor.
    fn check_lengths(&self, desc: &sys::mhc_desc_t) -> Result<()> {
        const FIELDS: [Field; FIELD_COUNT] = [
            Field::Residual, Field::Fn, Field::Scale, Field::Base, Field::GemmOut, Field::Sqrsum,
            Field::LayerOutput, Field::PostMix, Field::CombMix, Field::Embedding, Field::NormWeight,
            Field::HPre, Field::HPost, Field::HRes, Field::OutGemm, Field::OutSqrsum,
            Field::OutPostMix, Field::OutCombMix, Field::OutLayerInput, Field::OutResidual,
            Field::OutRms,
        ];
        for field in FIELDS {
            let (len, dtype) = match self.meta[field as usize] {
                Some(m) => m,
                None => continue,
            };
            let (want_dtype, want_len) = match tensor_spec(desc, field)? {
                Some(s) => s,
                None => continue,
            };
            if dtype != want_dtype {
                return Err(binding_error(
                    Status::BAD_PARAM_VALUE,
                    format!("args.{}: {} given, the plan takes {}", field.c_name(), dtype, want_dtype),
                ));
            }
            if (len as u64) < want_len {
                return Err(binding_error(
                    Status::BAD_PARAM_SHAPE,
                    format!("args.{}: {} elements given, the plan needs {}", field.c_name(), len, want_len),
                ));
            }
        }
        Ok(())
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

impl Plan {
    /// Validates `desc`, picks a SKU under `pref` and returns the plan (seed 002's
    /// `select(&stream, &desc, pref)`). The library allocates a CUDA plan's scratch on the
    /// current device; `stream` is not used by select (it takes none) and is there so that a
    /// plan is made where it will run. Fails with `NOT_SUPPORTED_*` when no SKU implements the
    /// problem and `BAD_PARAM_*` for an invalid descriptor, with the library's message.
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
        // SAFETY: a live plan and valid out-pointers with struct_size set.
        unsafe {
            check(sys::mhc_plan_get_sku(plan.raw, &mut sku))?;
            check(sys::mhc_plan_get_precision_guarantee(plan.raw, &mut g))?;
            check(sys::mhc_plan_get_desc(plan.raw, &mut resolved))?;
            check(sys::mhc_plan_workspace_size(plan.raw, &mut ws))?;
        }
        plan.sku = Sku(sku);
        plan.guarantee =
            PrecisionGuarantee { math_precision: Dtype(g.math_precision), accumulator: Dtype(g.accumulator), flags: Guarantee(g.flags) };
        plan.desc = Desc { raw: resolved };
        plan.workspace = ws;
        Ok(plan)
    }

    /// Validates `args` against the plan (lengths and element types here, then pointers,
    /// alignment and memory space in the library); runs nothing.
    pub fn can_implement(&self, args: &Args<'_>) -> Result<()> {
        args.check_lengths(&self.desc.raw)?;
        // SAFETY: a live plan; args holds pointers whose validity its constructors ensured.
        check(unsafe { sys::mhc_plan_can_implement(self.raw, &args.raw) })
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

    /// Runs the plan: validates like [`can_implement`](Plan::can_implement), then computes (a
    /// host SKU, on this thread) or enqueues on `stream` (a CUDA SKU; the outputs are ready
    /// when the stream gets there).
    pub fn run(&self, stream: &Stream, workspace: Workspace<'_>, args: &Args<'_>) -> Result<()> {
        args.check_lengths(&self.desc.raw)?;
        // SAFETY: a live plan; tensors and workspace are valid by their constructors.
        check(unsafe { sys::mhc_plan_run(self.raw, stream.raw, workspace.ptr, workspace.bytes, &args.raw) })
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
            .finish()
    }
}
