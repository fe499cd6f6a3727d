"""libmhc for Python, through ctypes: plans over host buffers and CUDA tensors.

The C ABI (include/mhc/mhc.h) mirrored with ctypes; nothing to compile. Describe a problem, let
the library select a kernel (a SKU) and return a reusable plan, run it:

    import numpy as np, mhc
    desc = mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=2, n=4, hidden=64)
    with mhc.Plan(desc, backends=mhc.BACKEND_HOST) as plan:
        plan.run(residual=x, norm_weight=w, h_pre=hp, h_post=hq, h_res=hr, out_residual=out)

Tensors (keyword arguments named like the fields of mhc_args_t) may be:

  * numpy arrays, or anything with __array_interface__ (host memory);
  * torch tensors (data_ptr(); host or CUDA);
  * anything with __cuda_array_interface__ (CUDA memory: CuPy, Numba, ...);
  * buffers: bytearray, array.array, memoryview, bytes (host memory; read-only ones only as
    inputs, copied for the call);
  * mhc.Tensor(address, nbytes, dtype=None, device=False, shape=None) for raw memory.

They must be C-contiguous. fp32 tensors are float32; bf16 tensors are torch.bfloat16, or 2-byte
integers holding the bits (numpy uint16; see bf16_from_float32). Before calling the library,
which cannot see how long a buffer is, the binding checks the tensors against what the plan
reports (Plan.tensors, from mhc_plan_get_tensor_info): the exact shape of every tensor that has
one (numpy, torch, array interfaces, mhc.Tensor with a shape), the element count of a buffer
without one, the dtype where it can tell, that every required tensor is given and no other, and
the memory space where the library cannot tell.

A plan is selected for the largest T (desc.tokens) and runs any T from 1 to it: the run's T is
the one the tensors carry (their dimension T, the same in all), passed to the library as
args.tokens.

The stream of a run: the `stream` argument (an int cudaStream_t, a torch.cuda.Stream, anything
with .cuda_stream, .ptr or __cuda_stream__()), else torch's current stream of a CUDA tensor's
device, else the stream a __cuda_array_interface__ names, else the legacy default stream (0).

The library is found through load(path), else $MHC_LIBRARY, else the copy a wheel bundles
(pip install ./bindings/python builds one), else "libmhc.so.1" on the loader's search path
(LD_LIBRARY_PATH, the installed prefix's lib). mhc.torch registers the ops with torch.library.
"""
import collections
import ctypes
import os
import threading
from ctypes import POINTER, Structure, byref, c_char, c_char_p, c_float, c_int32, c_int64
from ctypes import c_size_t, c_uint32, c_uint64, c_void_p

# ---- constants (mhc.h, without the MHC_ prefix) -----------------------------------------------
VERSION_MAJOR = 0
VERSION_MINOR = 5
VERSION_PATCH = 0
VERSION = VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH
ABI_VERSION = 1

STATUS_SUCCESS = 0
STATUS_BAD_PARAM = 2000
STATUS_BAD_PARAM_NULL_POINTER = 2001
STATUS_BAD_PARAM_STRUCT_SIZE = 2002
STATUS_BAD_PARAM_SHAPE = 2003
STATUS_BAD_PARAM_VALUE = 2004
STATUS_BAD_PARAM_UNKNOWN_ENUM = 2005
STATUS_BAD_PARAM_MISALIGNED = 2006
STATUS_BAD_PARAM_WORKSPACE = 2007
STATUS_BAD_PARAM_MEMORY_SPACE = 2008
STATUS_BAD_PARAM_ABI_MISMATCH = 2009
STATUS_BAD_PARAM_DEVICE = 2010
STATUS_NOT_SUPPORTED = 3000
STATUS_NOT_SUPPORTED_NO_DEVICE = 3001
STATUS_NOT_SUPPORTED_SKU = 3002
STATUS_NOT_SUPPORTED_GUARANTEE = 3003
STATUS_NOT_SUPPORTED_WORKSPACE_CAP = 3004
STATUS_INTERNAL = 4000
STATUS_INTERNAL_HOST_ALLOC_FAILED = 4001
STATUS_INTERNAL_DEVICE_ALLOC_FAILED = 4002
STATUS_EXECUTION_FAILED = 5000
STATUS_EXECUTION_FAILED_CUDA = 5001
STATUS_EXECUTION_FAILED_LAUNCH = 5002

OP_PRENORM_GEMM = 1
OP_PRE_FUSE = 2
OP_PRE = 3
OP_POST = 4
OP_HEAD = 5
OP_EXPAND = 6
OP_BOUNDARY = 7  # A7: post, mix of the new H, collapse (+ RMSNorm); V4, or V4.1 with DESC_FLAG_SHIFTED
OP_BOUNDARY_COLLAPSE = 8  # V4.1 critical part: post, collapse with the carried pre (+ RMSNorm); the V4.1 head
OP_BOUNDARY_MIX = 9  # V4.1 mix part: pre, post, comb of H (no layer input)
OP_BOUNDARY_FIRST = 10  # first boundary: H = expand(E), its mix, collapse (+ RMSNorm)
OP_STATIC_PRE = 16
OP_STATIC_POST = 17
OP_STATIC_LAYER = 18
# Backward ops (training; since 0.4): id = 64 + the forward's id. Each reads the gradients of its
# forward's outputs (grad_*) and writes those of its inputs (out_grad_*); grad_accumulate picks,
# per gradient output, overwrite (bit clear) or add (bit set).
OP_PRE_BACKWARD = 67  # A3': dR, dfn, dscale, dbase from dlayer_input, dpost, dcomb (saved D, Q)
OP_POST_BACKWARD = 68  # A4': dX, dR, dpost, dcomb from dout
OP_HEAD_BACKWARD = 69  # A5': dR, dfn, dscale, dbase from dy (saved D, Q)
OP_EXPAND_BACKWARD = 70  # A6': dE[t, :] = sum_i dR[t, i, :]
OP_STATIC_PRE_BACKWARD = 80  # B1' (since 0.5): dx, dh_pre, dw from dlayer_input
OP_STATIC_POST_BACKWARD = 81  # B2': dx, dF, dh_post, dh_res from dout
OP_STATIC_LAYER_BACKWARD = 82  # B3': dx, dh_pre, dh_post, dh_res, dw from dout

DTYPE_BF16 = 1
DTYPE_FP32 = 2
DTYPE_TF32 = 3
DTYPE_FP64 = 4
DTYPE_TF32X3 = 5

BACKEND_CUDA = 0x1
BACKEND_HOST = 0x2
BACKEND_ANY = 0x3

GUARANTEE_DETERMINISTIC = 0x1
GUARANTEE_BIT_STABLE = 0x2
GUARANTEE_BATCH_INVARIANT = 0x4
GUARANTEE_NO_ATOMICS = 0x8

DESC_FLAG_SPLIT_PARTIALS = 0x1
DESC_FLAG_SHIFTED = 0x2  # OP_BOUNDARY, OP_BOUNDARY_FIRST: V4.1 shifted collapse (the carried pre)
DESC_FLAG_NORM = 0x4  # OP_BOUNDARY*, not OP_BOUNDARY_MIX: RMSNorm of the layer input (norm_eps, norm_scale)

# Args.grad_accumulate (since 0.4): one bit per gradient output; set: add to its contents.
GRAD_ACCUMULATE_RESIDUAL = 0x01
GRAD_ACCUMULATE_LAYER_OUTPUT = 0x02
GRAD_ACCUMULATE_POST_MIX = 0x04
GRAD_ACCUMULATE_COMB_MIX = 0x08
GRAD_ACCUMULATE_EMBEDDING = 0x10
GRAD_ACCUMULATE_FN = 0x20
GRAD_ACCUMULATE_SCALE = 0x40
GRAD_ACCUMULATE_BASE = 0x80
GRAD_ACCUMULATE_H_PRE = 0x100  # since 0.5: the family B parameters
GRAD_ACCUMULATE_H_POST = 0x200
GRAD_ACCUMULATE_H_RES = 0x400
GRAD_ACCUMULATE_NORM_WEIGHT = 0x800

TENSOR_MAX_RANK = 4
TENSOR_ROLE_INPUT = 1
TENSOR_ROLE_OUTPUT = 2

SKU_NONE = 0
SKU_HOST_PRENORM_GEMM = 0x00010100
SKU_HOST_PRE_FUSE = 0x00010200
SKU_HOST_PRE = 0x00010300
SKU_HOST_POST = 0x00010400
SKU_HOST_HEAD = 0x00010500
SKU_HOST_EXPAND = 0x00010600
SKU_HOST_BOUNDARY = 0x00010700
SKU_HOST_BOUNDARY_COLLAPSE = 0x00010800
SKU_HOST_BOUNDARY_MIX = 0x00010900
SKU_HOST_BOUNDARY_FIRST = 0x00010a00
SKU_HOST_STATIC_PRE = 0x00011000
SKU_HOST_STATIC_POST = 0x00011100
SKU_HOST_STATIC_LAYER = 0x00011200
SKU_HOST_PRE_BACKWARD = 0x00014300
SKU_HOST_POST_BACKWARD = 0x00014400
SKU_HOST_HEAD_BACKWARD = 0x00014500
SKU_HOST_EXPAND_BACKWARD = 0x00014600
SKU_HOST_STATIC_PRE_BACKWARD = 0x00015000
SKU_HOST_STATIC_POST_BACKWARD = 0x00015100
SKU_HOST_STATIC_LAYER_BACKWARD = 0x00015200
SKU_SM80_PRENORM_GEMM = 0x00500100
SKU_SM80_PRE_FUSE = 0x00500200
SKU_SM80_PRE = 0x00500300
SKU_SM80_POST = 0x00500400
SKU_SM80_HEAD = 0x00500500
SKU_SM80_EXPAND = 0x00500600
SKU_SM80_POST_BACKWARD = 0x00504400
SKU_SM80_PRE_BACKWARD = 0x00504300
SKU_SM80_HEAD_BACKWARD = 0x00504500
SKU_SM80_EXPAND_BACKWARD = 0x00504600
SKU_SM80_STATIC_PRE = 0x00501000
SKU_SM80_STATIC_POST = 0x00501100
SKU_SM80_STATIC_LAYER = 0x00501200
SKU_SM80_STATIC_LAYER_1STAGE = 0x00501201
SKU_SM80_STATIC_PRE_BACKWARD = 0x00505000
SKU_SM80_STATIC_POST_BACKWARD = 0x00505100
SKU_SM80_STATIC_LAYER_BACKWARD = 0x00505200
SKU_SM90_PRENORM_GEMM = 0x00900100
SKU_SM90_PRE = 0x00900300
SKU_SM90_HEAD = 0x00900500
SKU_SM80_PRE_FUSE_TOKENS = 0x00500201
SKU_SM80_BOUNDARY = 0x00500700
SKU_SM80_BOUNDARY_COLLAPSE = 0x00500800
SKU_SM80_BOUNDARY_MIX = 0x00500900
SKU_SM80_BOUNDARY_FIRST = 0x00500a00
SKU_SM90_PRENORM_GEMM_ONEPASS = 0x00900101
SKU_SM90_PRENORM_GEMM_NARROW = 0x00900102
SKU_SM90_PRENORM_GEMM_WIDE_REGS = 0x00900103
SKU_SM90_PRE_ONEPASS = 0x00900301
SKU_SM90_PRE_ONEPASS_TB16 = 0x00900302
SKU_SM90_PRENORM_GEMM_BF16 = 0x00900104
SKU_SM90_PRE_BF16 = 0x00900303
SKU_SM90_HEAD_ONEPASS = 0x00900501
SKU_SM80_STATIC_PRE_BACKWARD_STREAMED = 0x00505001
SKU_SM80_STATIC_LAYER_BACKWARD_STREAMED = 0x00505201
SKU_SM90_PRE_CLUSTER = 0x00900304
SKU_SM90_BOUNDARY_CLUSTER = 0x00900700
SKU_SM90_HEAD_CLUSTER = 0x00900502
SKU_SM90_HEAD_CLUSTER_PIPELINED = 0x00900503
SKU_SM90_PRE_BACKWARD_CHUNKED = 0x00904300
SKU_SM90_HEAD_BACKWARD_CHUNKED = 0x00904500

#: Every constant above by its C name (checked against the header by the tests).
CONSTANTS = {"MHC_" + k: v for k, v in list(globals().items())
             if k.isupper() and not k.startswith("_") and isinstance(v, int)}

# ---- typedefs and structs ---------------------------------------------------------------------
mhc_status_t = c_int32
mhc_op_t = c_int32
mhc_dtype_t = c_int32
mhc_backend_mask_t = c_uint32
mhc_guarantee_flags_t = c_uint32
mhc_sku_t = c_uint32
mhc_tensor_role_t = c_int32


class _Struct(Structure):
    def __repr__(self):
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % (f[0], getattr(self, f[0])) for f in self._fields_))


class Desc(_Struct):
    """mhc_desc_t: the problem. Make one with new_desc (the library's defaults for the op)."""
    _fields_ = [("struct_size", c_uint32), ("op", mhc_op_t), ("tokens", c_int64), ("hidden", c_int64),
                ("n", c_int32), ("num_splits", c_int32), ("act_dtype", mhc_dtype_t),
                ("weight_precision", mhc_dtype_t), ("sinkhorn_repeat", c_int32), ("flags", c_uint32),
                ("rms_eps", c_float), ("pre_eps", c_float), ("sinkhorn_eps", c_float), ("post_mult", c_float),
                ("static_eps", c_float), ("reserved0", c_uint32),
                # since 0.3
                ("norm_eps", c_float), ("norm_scale", c_float)]


class Preference(_Struct):
    """mhc_preference_t: how select chooses. Make one with new_preference."""
    _fields_ = [("struct_size", c_uint32), ("backends", mhc_backend_mask_t), ("max_workspace_bytes", c_uint64),
                ("required", mhc_guarantee_flags_t), ("forced_sku", mhc_sku_t)]


class PrecisionGuarantee(_Struct):
    """mhc_precision_guarantee_t: what a plan promises."""
    _fields_ = [("struct_size", c_uint32), ("math_precision", mhc_dtype_t), ("accumulator", mhc_dtype_t),
                ("flags", mhc_guarantee_flags_t)]


#: The tensor fields of mhc_args_t: 14 inputs, then 7 outputs (in order, before tokens); since
#: 0.3, after tokens, pre_mix (an input) and out_pre_mix (an output); since 0.4 the gradients of
#: the backward ops: 4 inputs (grad_*), then 8 outputs (out_grad_*), then grad_accumulate; since
#: 0.5 four more outputs, the family B parameters' gradients.
_INPUTS_BEFORE_TOKENS = ("residual", "fn", "scale", "base", "gemm_out", "sqrsum", "layer_output", "post_mix",
                         "comb_mix", "embedding", "norm_weight", "h_pre", "h_post", "h_res")
_OUTPUTS_BEFORE_TOKENS = ("out_gemm", "out_sqrsum", "out_post_mix", "out_comb_mix", "out_layer_input",
                          "out_residual", "out_rms")
_GRAD_INPUTS = ("grad_residual", "grad_layer_input", "grad_post_mix", "grad_comb_mix")
_GRAD_OUTPUTS = ("out_grad_residual", "out_grad_layer_output", "out_grad_post_mix", "out_grad_comb_mix",
                 "out_grad_embedding", "out_grad_fn", "out_grad_scale", "out_grad_base")
_GRAD_OUTPUTS_B = ("out_grad_h_pre", "out_grad_h_post", "out_grad_h_res", "out_grad_norm_weight")
INPUT_FIELDS = _INPUTS_BEFORE_TOKENS + ("pre_mix",) + _GRAD_INPUTS
OUTPUT_FIELDS = _OUTPUTS_BEFORE_TOKENS + ("out_pre_mix",) + _GRAD_OUTPUTS + _GRAD_OUTPUTS_B
_ARG_TENSOR_FIELDS = frozenset(INPUT_FIELDS + OUTPUT_FIELDS)
#: The GRAD_ACCUMULATE_* bit of each gradient output.
GRAD_ACCUMULATE_BITS = {"out_grad_residual": GRAD_ACCUMULATE_RESIDUAL,
                        "out_grad_layer_output": GRAD_ACCUMULATE_LAYER_OUTPUT,
                        "out_grad_post_mix": GRAD_ACCUMULATE_POST_MIX, "out_grad_comb_mix": GRAD_ACCUMULATE_COMB_MIX,
                        "out_grad_embedding": GRAD_ACCUMULATE_EMBEDDING, "out_grad_fn": GRAD_ACCUMULATE_FN,
                        "out_grad_scale": GRAD_ACCUMULATE_SCALE, "out_grad_base": GRAD_ACCUMULATE_BASE,
                        "out_grad_h_pre": GRAD_ACCUMULATE_H_PRE, "out_grad_h_post": GRAD_ACCUMULATE_H_POST,
                        "out_grad_h_res": GRAD_ACCUMULATE_H_RES, "out_grad_norm_weight": GRAD_ACCUMULATE_NORM_WEIGHT}


class Args(_Struct):
    """mhc_args_t: the tensors of one run, as addresses, this run's T (Plan.run fills it from
    tensors) and, for a backward op, grad_accumulate (Plan.run's keyword)."""
    _fields_ = ([("struct_size", c_uint32), ("reserved0", c_uint32)] +
                [(name, c_void_p) for name in _INPUTS_BEFORE_TOKENS + _OUTPUTS_BEFORE_TOKENS] +
                [("tokens", c_int64)] +
                # since 0.3
                [("pre_mix", c_void_p), ("out_pre_mix", c_void_p)] +
                # since 0.4
                [(name, c_void_p) for name in _GRAD_INPUTS + _GRAD_OUTPUTS] +
                [("grad_accumulate", c_uint32), ("reserved1", c_uint32)] +
                # since 0.5
                [(name, c_void_p) for name in _GRAD_OUTPUTS_B])


class TensorInfo(_Struct):
    """mhc_tensor_info_t: one tensor of a plan, as the library writes it (Plan.tensors has them
    as PlanTensor objects)."""
    _fields_ = [("struct_size", c_uint32), ("field_offset", c_uint32), ("field", c_char_p),
                ("role", mhc_tensor_role_t), ("dtype", mhc_dtype_t), ("required", c_int32), ("rank", c_int32),
                ("shape", c_int64 * TENSOR_MAX_RANK), ("token_dim", c_int32), ("reserved0", c_int32)]


STRUCTS = {"mhc_desc_t": Desc, "mhc_preference_t": Preference,
           "mhc_precision_guarantee_t": PrecisionGuarantee, "mhc_args_t": Args, "mhc_tensor_info_t": TensorInfo}
TYPEDEFS = {"mhc_status_t": mhc_status_t, "mhc_op_t": mhc_op_t, "mhc_dtype_t": mhc_dtype_t,
            "mhc_backend_mask_t": mhc_backend_mask_t, "mhc_guarantee_flags_t": mhc_guarantee_flags_t,
            "mhc_sku_t": mhc_sku_t, "mhc_tensor_role_t": mhc_tensor_role_t}

mhc_plan_t = c_void_p

# ---- loading the library ----------------------------------------------------------------------
_PROTOTYPES = {
    "mhc_get_version": (c_uint32, []),
    "mhc_get_version_string": (c_char_p, []),
    "mhc_get_abi_version": (c_uint32, []),
    "mhc_check_abi": (mhc_status_t, [c_uint32]),
    "mhc_status_string": (c_char_p, [mhc_status_t]),
    "mhc_get_last_error": (c_size_t, [c_void_p, c_size_t]),
    "mhc_cuda_device_count": (mhc_status_t, [POINTER(c_int32)]),
    "mhc_desc_init_sized": (mhc_status_t, [POINTER(Desc), c_size_t, mhc_op_t]),
    "mhc_preference_init": (mhc_status_t, [POINTER(Preference)]),
    "mhc_args_init_sized": (mhc_status_t, [POINTER(Args), c_size_t]),
    "mhc_sku_name": (c_char_p, [mhc_sku_t]),
    "mhc_op_name": (c_char_p, [mhc_op_t]),
    "mhc_plan_select": (mhc_status_t, [POINTER(Desc), POINTER(Preference), POINTER(mhc_plan_t)]),
    "mhc_plan_can_implement": (mhc_status_t, [mhc_plan_t, POINTER(Args)]),
    "mhc_plan_workspace_size": (mhc_status_t, [mhc_plan_t, POINTER(c_size_t)]),
    "mhc_plan_run": (mhc_status_t, [mhc_plan_t, c_void_p, c_void_p, c_size_t, POINTER(Args)]),
    "mhc_plan_get_sku": (mhc_status_t, [mhc_plan_t, POINTER(mhc_sku_t)]),
    "mhc_plan_get_precision_guarantee": (mhc_status_t, [mhc_plan_t, POINTER(PrecisionGuarantee)]),
    "mhc_plan_get_desc": (mhc_status_t, [mhc_plan_t, POINTER(Desc)]),
    "mhc_plan_get_tensor_count": (mhc_status_t, [mhc_plan_t, POINTER(c_int32)]),
    "mhc_plan_get_tensor_info": (mhc_status_t, [mhc_plan_t, c_int32, POINTER(TensorInfo)]),
    "mhc_plan_destroy": (mhc_status_t, [mhc_plan_t]),
}

_lib = None
_lib_lock = threading.Lock()


#: The libmhc a wheel bundles (pip install ./bindings/python), next to this file.
BUNDLED_LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libmhc.so.1")


def library_path(path=None):
    """The libmhc that load() opens: path, else $MHC_LIBRARY, else the one the wheel bundles, else
    "libmhc.so.1" on the loader's search path (LD_LIBRARY_PATH, ldconfig's directories)."""
    if path:
        return path
    if os.environ.get("MHC_LIBRARY"):
        return os.environ["MHC_LIBRARY"]
    if os.path.exists(BUNDLED_LIBRARY):
        return BUNDLED_LIBRARY
    return "libmhc.so.1"


def load(path=None):
    """Loads libmhc (see library_path) and checks its ABI version."""
    global _lib
    with _lib_lock:
        name = library_path(path)
        try:
            lib = ctypes.CDLL(name)
        except OSError as e:
            where = ("path=%r" % path if path else "MHC_LIBRARY=%r" % name if os.environ.get("MHC_LIBRARY")
                     else "%s (the wheel's copy)" % name if name == BUNDLED_LIBRARY else
                     "libmhc.so.1 on the loader's search path (none bundled at %s)" % BUNDLED_LIBRARY)
            raise OSError("mhc: cannot load libmhc from %s: %s. Set MHC_LIBRARY to the path of libmhc.so.1 (a build "
                          "tree or <prefix>/lib), or LD_LIBRARY_PATH to its directory, or install the package with "
                          "its bundled library: pip install ./bindings/python" % (where, e)) from e
        for fname, (restype, argtypes) in _PROTOTYPES.items():
            f = getattr(lib, fname)
            f.restype = restype
            f.argtypes = argtypes
        s = lib.mhc_check_abi(ABI_VERSION)
        if s != STATUS_SUCCESS:
            raise _error(s, "%s has ABI version %d, this module was written for %d"
                         % (name, lib.mhc_get_abi_version(), ABI_VERSION))
        _lib = lib
        return lib


def lib():
    """The loaded libmhc (ctypes.CDLL with prototypes), loading it on first use."""
    return _lib if _lib is not None else load()


# ---- errors ------------------------------------------------------------------------------------
class MhcError(Exception):
    """A failed call: .status (the mhc_status_t), .category and .message (the library's message
    for the calling thread, or the binding's own for what it checks itself)."""

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = int(status)
        self.message = message

    @property
    def category(self):
        return status_category(self.status)

    def __str__(self):
        return "%s (%d): %s" % (status_name(self.status), self.status, self.message)


class BadParamError(MhcError, ValueError):
    """MHC_STATUS_BAD_PARAM_*: an argument was rejected."""


class NotSupportedError(MhcError):
    """MHC_STATUS_NOT_SUPPORTED_*: no SKU implements the problem under the preference."""


class InternalError(MhcError):
    """MHC_STATUS_INTERNAL_*."""


class ExecutionFailedError(MhcError):
    """MHC_STATUS_EXECUTION_FAILED_*: a CUDA call or launch failed."""


_ERROR_CLASSES = {STATUS_BAD_PARAM: BadParamError, STATUS_NOT_SUPPORTED: NotSupportedError,
                  STATUS_INTERNAL: InternalError, STATUS_EXECUTION_FAILED: ExecutionFailedError}


def status_category(status):
    """MHC_STATUS_CATEGORY: the category of any code, also of one a newer library adds."""
    return int(status) // 1000 * 1000


def status_name(status):
    """The library's name of a status code."""
    return lib().mhc_status_string(int(status)).decode()


def _error(status, message):
    """The exception for a failed status: its category's class (MhcError for one this module
    does not know)."""
    return _ERROR_CLASSES.get(status_category(status), MhcError)(status, message)


def last_error():
    """The calling thread's message for its last failed libmhc call."""
    n = lib().mhc_get_last_error(None, 0)
    buf = ctypes.create_string_buffer(n + 1)
    lib().mhc_get_last_error(buf, n + 1)
    return buf.value.decode(errors="replace")


def _check(status):
    # Python threads are OS threads: the message read here is this call's.
    if status != STATUS_SUCCESS:
        raise _error(status, last_error())


def _binding_error(status, message):
    return _error(status, "mhc (Python binding): " + message)


# ---- library queries -----------------------------------------------------------------------------
def version():
    """MHC_VERSION of the loaded library."""
    return lib().mhc_get_version()


def version_string():
    """The loaded library's version string ("0.5.0")."""
    return lib().mhc_get_version_string().decode()


def abi_version():
    """MHC_ABI_VERSION of the loaded library."""
    return lib().mhc_get_abi_version()


def cuda_device_count():
    """The number of usable CUDA devices (0 without a GPU, and in a host-only build)."""
    n = c_int32(0)
    _check(lib().mhc_cuda_device_count(byref(n)))
    return n.value


def sku_name(sku):
    """The library's name of a SKU id, None for one this build does not have."""
    p = lib().mhc_sku_name(int(sku))
    return p.decode() if p is not None else None


def op_name(op):
    """The library's name of an op ("MHC_OP_PRE"), None for one it does not know."""
    p = lib().mhc_op_name(int(op))
    return p.decode() if p is not None else None


def sku_is_host(sku):
    """Whether a SKU runs on the host backend (host memory); else it is a CUDA SKU."""
    return int(sku) >> 16 == 1


def new_desc(op, **fields):
    """mhc_desc_init(op), then the given fields (tokens=..., n=..., hidden=..., ...)."""
    d = Desc()
    # The sized init writes only this module's bytes: a newer library has a larger mhc_desc_t.
    _check(lib().mhc_desc_init_sized(byref(d), ctypes.sizeof(Desc), int(op)))
    for k, v in fields.items():
        if not hasattr(d, k):
            raise TypeError("mhc_desc_t has no field %r" % k)
        setattr(d, k, v)
    return d


def new_preference(**fields):
    """mhc_preference_init, then the given fields (backends=..., required=..., forced_sku=...,
    max_workspace_bytes=...)."""
    p = Preference()
    _check(lib().mhc_preference_init(byref(p)))
    for k, v in fields.items():
        if not hasattr(p, k):
            raise TypeError("mhc_preference_t has no field %r" % k)
        setattr(p, k, v)
    return p


# ---- tensors -----------------------------------------------------------------------------------
class Tensor:
    """Raw memory: an address, its size in bytes, its dtype (DTYPE_*; None: not checked), where
    it is (device=True: CUDA memory) and its shape (None: checked by element count only). The
    caller keeps it valid for the run."""

    def __init__(self, address, nbytes, dtype=None, device=False, shape=None):
        self.address, self.nbytes, self.dtype, self.device = int(address), int(nbytes), dtype, bool(device)
        self.shape = tuple(int(d) for d in shape) if shape is not None else None


class _View:
    """One tensor argument: address, size, dtype (None: unknown), shape (None: a flat buffer),
    memory space, what keeps it alive for the call, and the stream it names (torch device,
    __cuda_array_interface__)."""
    __slots__ = ("address", "nbytes", "dtype", "shape", "device", "keep", "torch_device", "stream")

    def __init__(self, address, nbytes, dtype, device, keep=None, torch_device=None, stream=None, shape=None):
        self.address, self.nbytes, self.dtype, self.device = address, nbytes, dtype, device
        self.keep, self.torch_device, self.stream, self.shape = keep, torch_device, stream, shape


_TYPESTR_DTYPES = {"f4": DTYPE_FP32, "u2": DTYPE_BF16, "i2": DTYPE_BF16, "V2": DTYPE_BF16}
_FORMAT_DTYPES = {"f": DTYPE_FP32, "H": DTYPE_BF16, "h": DTYPE_BF16}


def _contiguous(shape, strides, itemsize):
    if strides is None:
        return True
    expected = itemsize
    for dim, stride in zip(reversed(shape), reversed(strides)):
        if dim != 1 and stride != expected:
            return False
        expected *= dim
    return True


def _from_interface(name, obj, iface, device):
    shape = tuple(iface["shape"])
    typestr = iface["typestr"]
    itemsize = int(typestr[2:])
    if not _contiguous(shape, iface.get("strides"), itemsize):
        raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is not C-contiguous" % name)
    count = 1
    for d in shape:
        count *= d
    kind = typestr[1:]
    if kind not in _TYPESTR_DTYPES:
        raise _binding_error(STATUS_BAD_PARAM_VALUE,
                             "%s: element type %r is neither float32 nor a 2-byte bf16 container" % (name, typestr))
    address = iface["data"][0] or 0
    return _View(address, count * itemsize, _TYPESTR_DTYPES[kind], device, keep=obj, shape=shape)


def _view(name, obj, output):
    """Address, size, dtype, shape and memory space of one tensor argument."""
    if isinstance(obj, Tensor):
        return _View(obj.address, obj.nbytes, obj.dtype, obj.device, keep=obj, shape=obj.shape)
    t = type(obj)
    if t.__module__.split(".")[0] == "torch" and hasattr(obj, "data_ptr"):
        import torch
        dtypes = {torch.float32: DTYPE_FP32, torch.bfloat16: DTYPE_BF16}
        if obj.dtype not in dtypes:
            raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s: torch dtype %s is neither float32 nor bfloat16"
                                 % (name, obj.dtype))
        if not obj.is_contiguous():
            raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is not contiguous" % name)
        return _View(obj.data_ptr(), obj.numel() * obj.element_size(), dtypes[obj.dtype], obj.is_cuda, keep=obj,
                     torch_device=obj.device if obj.is_cuda else None, shape=tuple(obj.shape))
    cai = getattr(obj, "__cuda_array_interface__", None)
    if cai is not None:
        v = _from_interface(name, obj, cai, True)
        v.stream = cai.get("stream")  # v3: the producer's stream (1: legacy default, 2: per-thread)
        return v
    ai = getattr(obj, "__array_interface__", None)
    if ai is not None:
        if output and ai["data"][1]:
            raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is read-only" % name)
        return _from_interface(name, obj, ai, False)
    if isinstance(obj, bytes):  # immutable: its buffer is stable for the call
        if output:
            raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is read-only (bytes)" % name)
        return _View(ctypes.cast(c_char_p(obj), c_void_p).value or 0, len(obj), None, False, keep=obj)
    try:
        mv = memoryview(obj)
    except TypeError:
        raise TypeError("%s: %s is not a tensor (numpy array, torch tensor, __cuda_array_interface__ object, "
                        "buffer or mhc.Tensor)" % (name, t.__name__)) from None
    if not mv.c_contiguous:
        raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is not C-contiguous" % name)
    dtype = _FORMAT_DTYPES.get(mv.format.lstrip("@=<"))
    if mv.format.lstrip("@=<") not in ("B", "b", "c") and dtype is None:
        raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s: buffer format %r is neither float32 ('f') nor bf16 "
                             "bits ('H')" % (name, mv.format))
    if mv.nbytes == 0:
        return _View(0, 0, dtype, False, keep=mv)
    if mv.readonly:
        if output:
            raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s is read-only" % name)
        copy = (c_char * mv.nbytes).from_buffer_copy(mv)
        return _View(ctypes.addressof(copy), mv.nbytes, dtype, False, keep=copy)
    raw = (c_char * mv.nbytes).from_buffer(mv.cast("B"))
    return _View(ctypes.addressof(raw), mv.nbytes, dtype, False, keep=(mv, raw))


_DTYPE_SIZES = {DTYPE_BF16: 2, DTYPE_FP32: 4}
_DTYPE_NAMES = {DTYPE_BF16: "BF16", DTYPE_FP32: "FP32", DTYPE_TF32: "TF32", DTYPE_FP64: "FP64",
                DTYPE_TF32X3: "TF32X3"}


def _dtype_name(dtype):
    return _DTYPE_NAMES.get(dtype, str(dtype))


def _fmt_shape(shape):
    return "[%s]" % ", ".join(str(d) for d in shape)


class PlanTensor(collections.namedtuple("PlanTensor", "field role dtype required shape token_dim field_offset")):
    """One tensor a plan reads or writes (mhc_plan_get_tensor_info) as plain Python values:
    field (the mhc_args_t field, run()'s keyword), role (TENSOR_ROLE_INPUT or _OUTPUT), dtype
    (DTYPE_BF16 or DTYPE_FP32), required (bool), shape (a tuple, at T = desc.tokens), token_dim
    (the index of T in shape; None when the tensor has no T) and field_offset."""
    __slots__ = ()

    @classmethod
    def from_info(cls, info):
        return cls(info.field.decode(), int(info.role), int(info.dtype), bool(info.required),
                   tuple(int(d) for d in info.shape[:info.rank]), None if info.token_dim < 0 else int(info.token_dim),
                   int(info.field_offset))

    @property
    def is_output(self):
        return self.role == TENSOR_ROLE_OUTPUT

    @property
    def dtype_name(self):
        return _dtype_name(self.dtype)

    def shape_at(self, tokens):
        """The shape for a run of T = tokens."""
        if self.token_dim is None:
            return self.shape
        return self.shape[:self.token_dim] + (int(tokens),) + self.shape[self.token_dim + 1:]

    def pattern(self):
        """The shape with T spelled as such: "[T, 4, 64]"."""
        return _fmt_shape("T" if k == self.token_dim else d for k, d in enumerate(self.shape))


def _fit(spec, v, max_tokens):
    """Checks one tensor against the plan's info for it; returns the T it carries (None: no T)."""
    name, want = "args." + spec.field, spec.pattern()
    t_range = " with T in 1..%d" % max_tokens if spec.token_dim is not None else ""
    if v.dtype is not None and v.dtype != spec.dtype:
        raise _binding_error(STATUS_BAD_PARAM_VALUE, "%s: %s given, the plan takes %s %s"
                             % (name, _dtype_name(v.dtype), spec.dtype_name, want))
    td = spec.token_dim
    if v.shape is not None:
        given = _fmt_shape(v.shape)
        same = len(v.shape) == len(spec.shape) and all(
            g == w for k, (g, w) in enumerate(zip(v.shape, spec.shape)) if k != td)
        if not same:
            raise _binding_error(STATUS_BAD_PARAM_SHAPE, "%s: shape %s given, the plan takes %s%s"
                                 % (name, given, want, t_range))
        if td is None:
            return None
        tokens = v.shape[td]
        if not 1 <= tokens <= max_tokens:
            raise _binding_error(STATUS_BAD_PARAM_SHAPE, "%s: shape %s given, the plan takes %s%s (T = %d is out of "
                                 "range: desc.tokens is the largest T the plan runs)"
                                 % (name, given, want, t_range, tokens))
        return tokens
    # A buffer without a shape: its element count stands in for the shape, and gives T.
    size = _DTYPE_SIZES[spec.dtype]
    per_token = 1
    for k, d in enumerate(spec.shape):
        per_token *= d if k != td else 1
    count, rest = divmod(v.nbytes, size)
    tokens = count // per_token if td is not None and count % per_token == 0 else None
    if rest or (count != per_token if td is None else not (tokens is not None and 1 <= tokens <= max_tokens)):
        elements = "%d elements" % per_token if td is None else "T * %d elements" % per_token
        raise _binding_error(STATUS_BAD_PARAM_SHAPE, "%s: %d bytes given (no shape), the plan takes %s %s%s: %s of %d "
                             "bytes" % (name, v.nbytes, spec.dtype_name, want, t_range, elements, size))
    return tokens


def _accumulate_bits(grad_accumulate):
    """Args.grad_accumulate from GRAD_ACCUMULATE_* bits (an int) or out_grad_* field names."""
    if grad_accumulate is None:
        return 0
    if isinstance(grad_accumulate, int):
        if not 0 <= grad_accumulate <= 0xFFFFFFFF:
            raise ValueError("grad_accumulate = %d: not a 32-bit mask" % grad_accumulate)
        return grad_accumulate
    if isinstance(grad_accumulate, str):
        grad_accumulate = (grad_accumulate,)
    bits = 0
    for name in grad_accumulate:
        if name not in GRAD_ACCUMULATE_BITS:
            raise TypeError("grad_accumulate: %r is not a gradient output (%s)"
                            % (name, ", ".join(GRAD_ACCUMULATE_BITS)))
        bits |= GRAD_ACCUMULATE_BITS[name]
    return bits


def _describe(v):
    return "shape " + _fmt_shape(v.shape) if v.shape is not None else "%d bytes" % v.nbytes


def _stream_handle(stream):
    if stream is None:
        return None
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):
        return int(stream.__cuda_stream__()[1])
    for attr in ("cuda_stream", "ptr", "handle"):
        if hasattr(stream, attr):
            return int(getattr(stream, attr))
    raise TypeError("stream: %r is not a CUDA stream (an int, torch.cuda.Stream, .cuda_stream, .ptr, "
                    "__cuda_stream__)" % (stream,))


# ---- plans ------------------------------------------------------------------------------------
class Plan:
    """A selected plan (mhc_plan_t): immutable, reusable for any number of runs, usable from
    several threads at once. close() (or the with-statement, or garbage collection) destroys it.

    Plan(desc, pref=None, **preference_fields): pref is a Preference (new_preference), or give
    its fields (backends=BACKEND_HOST, required=GUARANTEE_..., forced_sku=..., ...).
    """

    def __init__(self, desc, pref=None, **preference_fields):
        if pref is None:
            pref = new_preference(**preference_fields)
        elif preference_fields:
            raise TypeError("give pref or preference fields, not both")
        self._raw = None
        self._lib = lib()
        raw = mhc_plan_t()
        _check(self._lib.mhc_plan_select(byref(desc), byref(pref), byref(raw)))
        self._raw = raw
        sku = mhc_sku_t()
        g = PrecisionGuarantee(struct_size=ctypes.sizeof(PrecisionGuarantee))
        d = Desc(struct_size=ctypes.sizeof(Desc))
        ws = c_size_t()
        _check(self._lib.mhc_plan_get_sku(raw, byref(sku)))
        _check(self._lib.mhc_plan_get_precision_guarantee(raw, byref(g)))
        _check(self._lib.mhc_plan_get_desc(raw, byref(d)))
        _check(self._lib.mhc_plan_workspace_size(raw, byref(ws)))
        #: The SKU id the plan runs.
        self.sku = sku.value
        #: What the plan promises (math_precision, accumulator, flags).
        self.precision_guarantee = g
        #: The validated descriptor with defaults resolved (num_splits as the plan runs it).
        self.desc = d
        #: Bytes of caller workspace a run may use (0 for every host SKU).
        self.workspace_size = ws.value
        #: The tensors the plan reads and writes (PlanTensor, shapes at T = desc.tokens), inputs
        #: first: read once here, every check of a run is made from them.
        self.tensors = tuple(self._query_tensors())
        self._by_field = {t.field: t for t in self.tensors if t.field in _ARG_TENSOR_FIELDS}
        # Whether the library itself tells device from host memory (a CUDA build with a device).
        self._library_sees_devices = cuda_device_count() > 0

    @classmethod
    def select(cls, desc, pref=None, **preference_fields):
        """The same as Plan(desc, pref, ...)."""
        return cls(desc, pref, **preference_fields)

    def _query_tensors(self):
        count = c_int32()
        _check(self._lib.mhc_plan_get_tensor_count(self._raw, byref(count)))
        for i in range(count.value):
            info = TensorInfo(struct_size=ctypes.sizeof(TensorInfo))
            _check(self._lib.mhc_plan_get_tensor_info(self._raw, i, byref(info)))
            t = PlanTensor.from_info(info)
            known = t.field in _ARG_TENSOR_FIELDS
            if (known and getattr(Args, t.field).offset != t.field_offset) or (not known and t.required):
                # A newer library's field this module cannot pass: the plan is unusable from here.
                raise _binding_error(STATUS_BAD_PARAM_ABI_MISMATCH, "the plan needs args.%s (offset %d), which this "
                                     "module's mhc_args_t %s" % (t.field, t.field_offset, "places elsewhere"
                                                                 if known else "lacks"))
            yield t

    @property
    def sku_name(self):
        return sku_name(self.sku)

    @property
    def op_name(self):
        """The library's name of the plan's op ("MHC_OP_STATIC_LAYER")."""
        return op_name(self.desc.op)

    @property
    def on_host(self):
        """Whether the plan runs on the host backend (host tensors); else on the GPU."""
        return sku_is_host(self.sku)

    def _args(self, tensors, grad_accumulate=0):
        unknown = set(tensors) - set(_ARG_TENSOR_FIELDS)
        if unknown:
            raise TypeError("unknown tensor field(s): %s (not fields of mhc_args_t)" % ", ".join(sorted(unknown)))
        given = {k: v for k, v in tensors.items() if v is not None}
        takes = ", ".join(t.field for t in self.tensors)
        for name in given:
            if name not in self._by_field:
                raise _binding_error(STATUS_BAD_PARAM_VALUE, "args.%s: the plan (%s) does not use it; it takes %s"
                                     % (name, self.op_name, takes))
        for t in self.tensors:
            if t.required and t.field not in given:
                raise _binding_error(STATUS_BAD_PARAM_NULL_POINTER, "args.%s is missing: the plan (%s) needs it, %s "
                                     "%s" % (t.field, self.op_name, t.dtype_name, t.pattern()))
        args = Args()
        _check(self._lib.mhc_args_init_sized(byref(args), ctypes.sizeof(Args)))
        views = []
        first = None  # (T, field, view): the first tensor that carries T
        for t in self.tensors:
            obj = given.get(t.field)
            if obj is None:
                continue
            v = _view(t.field, obj, t.is_output)
            tokens = _fit(t, v, self.desc.tokens)
            if tokens is not None:
                if first is None:
                    first = (tokens, t.field, v)
                elif tokens != first[0]:
                    raise _binding_error(STATUS_BAD_PARAM_SHAPE, "args.%s: T = %d (%s given, the plan takes %s), but "
                                         "args.%s has T = %d (%s): every tensor of a run has the same T"
                                         % (t.field, tokens, _describe(v), t.pattern(), first[1], first[0],
                                            _describe(first[2])))
            if v.device and self.on_host and not self._library_sees_devices:
                # Without a usable device the library cannot tell device pointers from host ones.
                raise _binding_error(STATUS_BAD_PARAM_MEMORY_SPACE, "args.%s is CUDA memory, the plan runs on the "
                                     "host backend (%s)" % (t.field, self.sku_name))
            setattr(args, t.field, v.address or None)
            views.append(v)
        # The run's T is the tensors' T: the library sizes every tensor of the run by it.
        args.tokens = first[0] if first is not None else 0
        args.grad_accumulate = _accumulate_bits(grad_accumulate)
        return args, views

    def can_implement(self, grad_accumulate=0, **tensors):
        """Validates the tensors against the plan (shapes, T, dtypes and memory space here, then
        pointers, alignment and memory space in the library); runs nothing. Raises MhcError."""
        args, views = self._args(tensors, grad_accumulate)
        _check(self._lib.mhc_plan_can_implement(self._raw, byref(args)))
        del views

    def run(self, stream=None, workspace=None, grad_accumulate=0, **tensors):
        """Runs the plan on the tensors (keyword arguments named like mhc_args_t's fields), at the
        T they carry (1..desc.tokens, the same in all). A host SKU computes on this thread; a CUDA
        SKU enqueues on the stream (see the module doc) and returns. workspace: None (the plan's
        own scratch), or a tensor of at least workspace_size bytes. grad_accumulate (backward
        ops): GRAD_ACCUMULATE_* bits, or an iterable of out_grad_* field names, whose gradient
        is added to the output's contents instead of overwriting it. Raises MhcError."""
        args, views = self._args(tensors, grad_accumulate)
        handle = _stream_handle(stream)
        if handle is None:
            handle = 0
            for v in views:
                if v.torch_device is not None:
                    import torch
                    handle = torch.cuda.current_stream(v.torch_device).cuda_stream
                    break
                if v.stream is not None:
                    handle = int(v.stream)
                    break
        ws_addr, ws_bytes = 0, 0
        if workspace is not None:
            wv = _view("workspace", workspace, True)
            ws_addr, ws_bytes = wv.address, wv.nbytes
            views.append(wv)
        _check(self._lib.mhc_plan_run(self._raw, handle or None, ws_addr or None, ws_bytes, byref(args)))
        del views

    def close(self):
        """Destroys the plan (waiting for its in-flight work); again: nothing. Must not race
        with a run of the same plan."""
        raw, self._raw = getattr(self, "_raw", None), None
        if raw is not None and raw.value is not None:
            self._lib.mhc_plan_destroy(raw)  # always MHC_STATUS_SUCCESS (docs/c_abi.md)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: ctypes may already be gone
            pass

    def __repr__(self):
        return "<mhc.Plan %s %s tokens<=%d>" % (self.sku_name, self.op_name or self.desc.op, self.desc.tokens)


# ---- bfloat16 helpers (numpy) ---------------------------------------------------------------------
def bf16_from_float32(a):
    """A float32 numpy array rounded to bfloat16 (nearest, ties to even), as uint16 bits."""
    import numpy as np
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(np.asarray(a, dtype=np.float32))
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), rounded)


def bf16_to_float32(b):
    """uint16 bfloat16 bits as a float32 numpy array (exact)."""
    import numpy as np
    return (np.ascontiguousarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
