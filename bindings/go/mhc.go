// Package mhc is the Go binding of libmhc, the manifold-constrained hyper-connections (mHC)
// runtime library, over its stable C ABI (include/mhc/mhc.h).
//
// Describe a problem with a Desc, let Select pick a kernel (a SKU) and return a reusable Plan,
// run it with Plan.Run; close it with Plan.Close. Errors are *Error values carrying the status
// and the library's message; errors.Is(err, mhc.ErrBadParam) tests a status category.
//
//	desc, _ := mhc.NewDesc(mhc.OpStaticLayer)
//	desc.Tokens, desc.Hidden = 8, 64 // at most 8 tokens a run
//	pref := mhc.DefaultPreference()
//	pref.Backends = mhc.BackendHost
//	plan, err := mhc.Select(mhc.DefaultStream, &desc, &pref)
//	...
//	// x holds 2 tokens [2, n, C]: this run's T is 2
//	err = plan.Run(mhc.DefaultStream, mhc.Workspace{}, &mhc.Args{Residual: mhc.F32(x, 2, 4, 64), ...})
//
// Tensors are Go slices (F32, BF16s) or raw addresses (Raw, RawShaped: device memory for a CUDA
// SKU, or C memory), best given with their shape: mhc.F32(x, t, n, c). Before every call each
// one is checked against the plan's tensor infos (Plan.Tensors, from the library): dtype, rank
// and dimensions exactly, except T, which may be anything from 1 to desc.tokens but the same in
// every tensor, and becomes the run's T. Data without a shape is checked by its length. A Go
// slice is passed to C as an argument of the one call that uses it and never stored by C (the
// cgo pointer rules); a stream is a cudaStream_t as a uintptr.
//
// Build: the package finds libmhc through pkg-config (#cgo pkg-config: mhc): an installed libmhc
// in a prefix the system does not search needs PKG_CONFIG_PATH=<prefix>/lib/pkgconfig. mhc.pc
// puts that prefix's lib directory on the program's rpath, so nothing is needed at run time.
// Import path: github.com/libmhc/libmhc/bindings/go (package mhc).
package mhc

/*
#cgo pkg-config: mhc
#include <stdint.h>
#include <stdlib.h>
#include <mhc/mhc.h>

// The last-error message is thread-local and a goroutine may move to another OS thread between
// two cgo calls: each wrapper below reads the message in the same C call that failed.
static char* mhc_go_message(mhc_status_t s) {
  if (s == MHC_STATUS_SUCCESS) return NULL;
  size_t len = mhc_get_last_error(NULL, 0);
  char* buf = (char*)malloc(len + 1);
  if (buf != NULL) mhc_get_last_error(buf, len + 1);
  return buf;
}

static mhc_status_t mhc_go_check_abi(char** msg) {
  mhc_status_t s = mhc_check_abi(MHC_ABI_VERSION);
  *msg = mhc_go_message(s);
  return s;
}

static mhc_status_t mhc_go_cuda_device_count(int32_t* count, char** msg) {
  mhc_status_t s = mhc_cuda_device_count(count);
  *msg = mhc_go_message(s);
  return s;
}

static mhc_status_t mhc_go_desc_init(mhc_desc_t* desc, mhc_op_t op, char** msg) {
  // Sized: a newer library's mhc_desc_t may be larger than the one this package was built with.
  mhc_status_t s = mhc_desc_init_sized(desc, sizeof(mhc_desc_t), op);
  *msg = mhc_go_message(s);
  return s;
}

// Select, then read what the (immutable) plan is; on any failure no plan is left behind.
static mhc_status_t mhc_go_select(const mhc_desc_t* desc, const mhc_preference_t* pref, mhc_plan_t* plan,
                                  mhc_sku_t* sku, mhc_precision_guarantee_t* guarantee, mhc_desc_t* resolved,
                                  size_t* workspace, int32_t* tensors, char** msg) {
  mhc_status_t s = mhc_plan_select(desc, pref, plan);
  if (s == MHC_STATUS_SUCCESS) s = mhc_plan_get_sku(*plan, sku);
  if (s == MHC_STATUS_SUCCESS) s = mhc_plan_get_precision_guarantee(*plan, guarantee);
  if (s == MHC_STATUS_SUCCESS) s = mhc_plan_get_desc(*plan, resolved);
  if (s == MHC_STATUS_SUCCESS) s = mhc_plan_workspace_size(*plan, workspace);
  if (s == MHC_STATUS_SUCCESS) s = mhc_plan_get_tensor_count(*plan, tensors);
  *msg = mhc_go_message(s);
  if (s != MHC_STATUS_SUCCESS) {
    mhc_plan_destroy(*plan);
    *plan = NULL;
  }
  return s;
}

// The field name comes back separately: Go reads it as a C pointer, never as the struct's
// integer.
static mhc_status_t mhc_go_tensor_info(mhc_plan_t plan, int32_t index, mhc_tensor_info_t* info,
                                       const char** field, char** msg) {
  mhc_status_t s = mhc_plan_get_tensor_info(plan, index, info);
  *field = s == MHC_STATUS_SUCCESS ? info->field : NULL;
  *msg = mhc_go_message(s);
  return s;
}

// can_implement (run == 0) or run. The tensors: addrs holds the raw addresses (device or C
// memory); a non-NULL h* is a Go slice's memory, given for this call only.
static mhc_status_t mhc_go_call(int run, mhc_plan_t plan, uintptr_t stream, uintptr_t workspace,
                                size_t workspace_bytes, const mhc_args_t* addrs,
                                void* h0, void* h1, void* h2, void* h3, void* h4, void* h5, void* h6,
                                void* h7, void* h8, void* h9, void* h10, void* h11, void* h12, void* h13,
                                void* h14, void* h15, void* h16, void* h17, void* h18, void* h19, void* h20,
                                void* h21, void* h22, void* h23, void* h24, void* h25, void* h26, void* h27,
                                void* h28, void* h29, void* h30, void* h31, void* h32, void* h33, void* h34,
                                void* h35, void* h36, void* h37, void* h38, char** msg) {
  mhc_args_t a = *addrs;
#define MHC_GO_HOST(field, h) if (h != NULL) a.field = h
  MHC_GO_HOST(residual, h0); MHC_GO_HOST(fn, h1); MHC_GO_HOST(scale, h2); MHC_GO_HOST(base, h3);
  MHC_GO_HOST(gemm_out, h4); MHC_GO_HOST(sqrsum, h5); MHC_GO_HOST(layer_output, h6);
  MHC_GO_HOST(post_mix, h7); MHC_GO_HOST(comb_mix, h8); MHC_GO_HOST(embedding, h9);
  MHC_GO_HOST(norm_weight, h10); MHC_GO_HOST(h_pre, h11); MHC_GO_HOST(h_post, h12);
  MHC_GO_HOST(h_res, h13); MHC_GO_HOST(out_gemm, h14); MHC_GO_HOST(out_sqrsum, h15);
  MHC_GO_HOST(out_post_mix, h16); MHC_GO_HOST(out_comb_mix, h17); MHC_GO_HOST(out_layer_input, h18);
  MHC_GO_HOST(out_residual, h19); MHC_GO_HOST(out_rms, h20); MHC_GO_HOST(pre_mix, h21);
  MHC_GO_HOST(out_pre_mix, h22); MHC_GO_HOST(grad_residual, h23); MHC_GO_HOST(grad_layer_input, h24);
  MHC_GO_HOST(grad_post_mix, h25); MHC_GO_HOST(grad_comb_mix, h26); MHC_GO_HOST(out_grad_residual, h27);
  MHC_GO_HOST(out_grad_layer_output, h28); MHC_GO_HOST(out_grad_post_mix, h29);
  MHC_GO_HOST(out_grad_comb_mix, h30); MHC_GO_HOST(out_grad_embedding, h31); MHC_GO_HOST(out_grad_fn, h32);
  MHC_GO_HOST(out_grad_scale, h33); MHC_GO_HOST(out_grad_base, h34); MHC_GO_HOST(out_grad_h_pre, h35);
  MHC_GO_HOST(out_grad_h_post, h36); MHC_GO_HOST(out_grad_h_res, h37); MHC_GO_HOST(out_grad_norm_weight, h38);
#undef MHC_GO_HOST
  mhc_status_t s = run ? mhc_plan_run(plan, (void*)stream, (void*)workspace, workspace_bytes, &a)
                       : mhc_plan_can_implement(plan, &a);
  *msg = mhc_go_message(s);
  return s;
}
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"unsafe"
)

// ---- status and errors ----------------------------------------------------------------------

// Status is an mhc_status_t: category*1000 + detail. Any int32 is a valid Status, also a code
// from a newer library.
type Status int32

// Category is MHC_STATUS_CATEGORY: the category of any code.
func (s Status) Category() Status { return s / 1000 * 1000 }

// String is the library's name of the code ("MHC_STATUS_BAD_PARAM_SHAPE").
func (s Status) String() string { return C.GoString(C.mhc_status_string(C.mhc_status_t(s))) }

// Error is a failed call: its status and the library's message for it (or the binding's own,
// for what it checks itself: a shape or length the plan does not take, an element type, a
// tensor missing or not used).
type Error struct {
	Status  Status
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%d): %s", e.Status, int32(e.Status), e.Message)
}

// Category is the status's category (StatusBadParam, ...).
func (e *Error) Category() Status { return e.Status.Category() }

// Is makes errors.Is(err, ErrBadParam) true for every status of that category, and
// errors.Is(err, &Error{Status: StatusBadParamShape}) true for that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Status == t.Status.Category() {
		return e.Status.Category() == t.Status
	}
	return e.Status == t.Status
}

// Category sentinels for errors.Is.
var (
	ErrBadParam        error = &Error{Status: StatusBadParam, Message: "bad parameter"}
	ErrNotSupported    error = &Error{Status: StatusNotSupported, Message: "not supported"}
	ErrInternal        error = &Error{Status: StatusInternal, Message: "internal error"}
	ErrExecutionFailed error = &Error{Status: StatusExecutionFailed, Message: "execution failed"}
)

// result turns a status and the C message (freed here) into an error.
func result(s C.mhc_status_t, msg *C.char) error {
	if msg != nil {
		defer C.free(unsafe.Pointer(msg))
	}
	if s == C.MHC_STATUS_SUCCESS {
		return nil
	}
	return &Error{Status: Status(s), Message: C.GoString(msg)}
}

func bindingError(s Status, format string, a ...interface{}) error {
	return &Error{Status: s, Message: "mhc (Go binding): " + fmt.Sprintf(format, a...)}
}

// ---- library --------------------------------------------------------------------------------

// LibraryVersion is MHC_VERSION of the loaded library (major*10000 + minor*100 + patch).
func LibraryVersion() uint32 { return uint32(C.mhc_get_version()) }

// LibraryVersionString is the loaded library's version ("0.5.0").
func LibraryVersionString() string { return C.GoString(C.mhc_get_version_string()) }

// LibraryABIVersion is MHC_ABI_VERSION of the loaded library.
func LibraryABIVersion() uint32 { return uint32(C.mhc_get_abi_version()) }

// CheckABI is nil when the loaded library has the ABI this package was written for and is at
// least its version (an older one lacks args.tokens and the tensor infos (0.2), the boundary ops,
// desc.NormEps/NormScale and args.PreMix/OutPreMix (0.3), the backward ops, the gradient fields
// and args.GradAccumulate (0.4), the family B backward ops and their gradient fields (0.5));
// Select checks it.
func CheckABI() error {
	var msg *C.char
	s := C.mhc_go_check_abi(&msg)
	if err := result(s, msg); err != nil {
		return err
	}
	if v := LibraryVersion(); v < Version-VersionPatch {
		return bindingError(StatusBadParamABIMismatch, "libmhc %s is loaded; this package needs %d.%d or newer",
			LibraryVersionString(), VersionMajor, VersionMinor)
	}
	return nil
}

// CUDADeviceCount is the number of usable CUDA devices (0 without a GPU, and in a host-only
// build).
func CUDADeviceCount() (int, error) {
	var n C.int32_t
	var msg *C.char
	s := C.mhc_go_cuda_device_count(&n, &msg)
	return int(n), result(s, msg)
}

// ---- value types ----------------------------------------------------------------------------

// Op is an mhc_op_t (docs/numerics.md). Any int32 is a valid Op; select rejects the ones the
// library does not know.
type Op int32

// OpName is mhc_op_name: the library's name of op ("MHC_OP_PRE"), "" for an op it does not
// know.
func OpName(op Op) string {
	p := C.mhc_op_name(C.mhc_op_t(op))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// String is OpName, or "op 99" for an op the library does not know.
func (o Op) String() string {
	if name := OpName(o); name != "" {
		return name
	}
	return fmt.Sprintf("op %d", int32(o))
}

// Dtype is an mhc_dtype_t: a storage dtype or a math precision.
type Dtype int32

func (d Dtype) String() string {
	switch d {
	case DtypeBF16:
		return "BF16"
	case DtypeFP32:
		return "FP32"
	case DtypeTF32:
		return "TF32"
	case DtypeFP64:
		return "FP64"
	case DtypeTF32X3:
		return "TF32X3"
	}
	return fmt.Sprintf("dtype %d", int32(d))
}

// Size is the storage size of an element in bytes (0 for a math-only precision).
func (d Dtype) Size() uintptr {
	switch d {
	case DtypeBF16:
		return 2
	case DtypeFP32:
		return 4
	}
	return 0
}

// Backend is an mhc_backend_mask_t.
type Backend uint32

// Guarantee is an mhc_guarantee_flags_t.
type Guarantee uint32

// Has reports whether every flag of other is set.
func (g Guarantee) Has(other Guarantee) bool { return g&other == other }

// SKU is a kernel id (mhc_sku_t): (backend/arch << 16) | (op << 8) | variant. Any uint32 is a
// valid SKU.
type SKU uint32

// Name is the library's name of the SKU ("host_fp64_static_layer"), "" for an id this build
// does not have.
func (s SKU) Name() string {
	p := C.mhc_sku_name(C.mhc_sku_t(s))
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// IsHost reports whether the SKU runs on the host backend (host memory); otherwise it is a
// CUDA SKU and its tensors live in device memory.
func (s SKU) IsHost() bool { return s>>16 == 1 }

func (s SKU) String() string {
	name := s.Name()
	if name == "" {
		name = "unknown"
	}
	return fmt.Sprintf("%s (0x%08x)", name, uint32(s))
}

// BF16 is a bfloat16 value (its bits), the storage type of the bf16 tensors.
type BF16 uint16

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even (NaN stays NaN).
func BF16FromFloat32(f float32) BF16 {
	u := math.Float32bits(f)
	if math.IsNaN(float64(f)) {
		return BF16(u>>16 | 0x40)
	}
	u += 0x7fff + (u>>16)&1
	return BF16(u >> 16)
}

// Float32 is the value as a float32 (exact).
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// ---- the C structs, mirrored (layout checked against the header by abi_test.go) -------------

// Desc is mhc_desc_t: the problem. Start from NewDesc (the library's defaults for the op).
type Desc struct {
	StructSize      uint32
	Op              Op
	Tokens          int64 // T (family A) or B (family B)
	Hidden          int64 // C
	N               int32 // streams
	NumSplits       int32 // S (0: the default policy)
	ActDtype        Dtype
	WeightPrecision Dtype
	SinkhornRepeat  int32
	Flags           uint32 // DescFlag*
	RmsEps          float32
	PreEps          float32
	SinkhornEps     float32
	PostMult        float32
	StaticEps       float32
	Reserved0       uint32
	NormEps         float32 // since 0.3: the RMSNorm of the layer input (DescFlagNorm), 1e-6
	NormScale       float32 // since 0.3: x = bf16(u * rsqrt(...) * (w * NormScale)), 1
}

// Preference is mhc_preference_t: how Select chooses. Start from DefaultPreference.
type Preference struct {
	StructSize        uint32
	Backends          Backend
	MaxWorkspaceBytes uint64
	Required          Guarantee
	ForcedSKU         SKU
}

// PrecisionGuarantee is mhc_precision_guarantee_t: what a plan promises.
type PrecisionGuarantee struct {
	StructSize    uint32
	MathPrecision Dtype // TF32, TF32X3, FP32 or FP64
	Accumulator   Dtype // FP32 or FP64
	Flags         Guarantee
}

// RawArgs is mhc_args_t with every tensor as an address: device memory or C memory, never Go
// memory (see Plan.RunRaw). Start from NewRawArgs.
type RawArgs struct {
	StructSize    uint32
	Reserved0     uint32
	Residual      uintptr
	Fn            uintptr
	Scale         uintptr
	Base          uintptr
	GemmOut       uintptr
	Sqrsum        uintptr
	LayerOutput   uintptr
	PostMix       uintptr
	CombMix       uintptr
	Embedding     uintptr
	NormWeight    uintptr
	HPre          uintptr
	HPost         uintptr
	HRes          uintptr
	OutGemm       uintptr
	OutSqrsum     uintptr
	OutPostMix    uintptr
	OutCombMix    uintptr
	OutLayerInput uintptr
	OutResidual   uintptr
	OutRms        uintptr
	Tokens        int64   // this run's T: 1..desc.tokens, 0 for desc.tokens
	PreMix        uintptr // since 0.3: A7 shifted, collapse: the carried pre fp32 [T, n]
	OutPreMix     uintptr // since 0.3: A7: this boundary's pre fp32 [T, n] (carried to the next)
	// since 0.4: the backward ops. Grad* are dL/d of the forward's outputs (inputs here),
	// OutGrad* dL/d of the forward's inputs (docs/training.md).
	GradResidual       uintptr // A4', A6': dL/d out_residual, bf16 [T, n, C]
	GradLayerInput     uintptr // A3', A5': dL/d out_layer_input, bf16 [T, C]
	GradPostMix        uintptr // A3': dL/d out_post_mix, fp32 [T, n]
	GradCombMix        uintptr // A3': dL/d out_comb_mix, fp32 [T, n, n]
	OutGradResidual    uintptr // A3'-A5': dL/d residual, bf16 [T, n, C]
	OutGradLayerOutput uintptr // A4': dL/d layer_output, bf16 [T, C]
	OutGradPostMix     uintptr // A4': dL/d post_mix, fp32 [T, n]
	OutGradCombMix     uintptr // A4': dL/d comb_mix, fp32 [T, n, n]
	OutGradEmbedding   uintptr // A6': dL/d embedding, bf16 [T, C]
	OutGradFn          uintptr // A3': fp32 [N, K]; A5': [n, K] (sums over the run's T)
	OutGradScale       uintptr // A3': fp32 [3]; A5': [1]
	OutGradBase        uintptr // A3': fp32 [N]; A5': [n]
	GradAccumulate     uint32  // GradAccumulate* bits; 0: every gradient overwrites
	Reserved1          uint32
	// since 0.5: the family B backward ops' parameter gradients, fp32, sums over the run's B
	OutGradHPre       uintptr // B1', B3': dL/d h_pre [n]
	OutGradHPost      uintptr // B2', B3': dL/d h_post [n]
	OutGradHRes       uintptr // B2', B3': dL/d h_res [n, n]
	OutGradNormWeight uintptr // B1', B3': dL/d norm_weight [C]
}

// NewDesc is mhc_desc_init: the defaults for op; Tokens and Hidden still need setting. An op
// the library does not know: StatusBadParamUnknownEnum.
func NewDesc(op Op) (Desc, error) {
	var d Desc
	var msg *C.char
	s := C.mhc_go_desc_init((*C.mhc_desc_t)(unsafe.Pointer(&d)), C.mhc_op_t(op), &msg)
	return d, result(s, msg)
}

// DefaultPreference is mhc_preference_init: any backend, no workspace cap, nothing required,
// no forced SKU.
func DefaultPreference() Preference {
	var p Preference
	C.mhc_preference_init((*C.mhc_preference_t)(unsafe.Pointer(&p)))
	return p
}

// NewRawArgs is mhc_args_init: no tensor set.
func NewRawArgs() RawArgs {
	var a RawArgs
	// Sized: a newer library's mhc_args_t may be larger than the one this package was built with.
	C.mhc_args_init_sized((*C.mhc_args_t)(unsafe.Pointer(&a)), C.size_t(unsafe.Sizeof(a)))
	return a
}

// ---- streams, tensors, workspace --------------------------------------------------------------

// Stream is a cudaStream_t as an integer; DefaultStream (0) is the legacy default stream. Host
// SKUs ignore it.
type Stream uintptr

// DefaultStream is the legacy default stream of the current device.
const DefaultStream Stream = 0

// Workspace is caller workspace for a run: the zero value is none (the plan's own scratch;
// such runs of one plan must be ordered on one stream), else device memory of at least
// Plan.WorkspaceSize bytes, 256-byte aligned, that no overlapping run uses.
type Workspace struct {
	Addr  uintptr
	Bytes uintptr
}

// ---- plans ------------------------------------------------------------------------------------

// Plan is a selected plan (mhc_plan_t): immutable, reusable for any number of runs. Every
// method but Close may be called from several goroutines at once (mhc.h: "every function below
// may be called on one plan from several threads at once"); Close must not race with them.
// A plan that is not closed is destroyed by a finalizer when it becomes unreachable.
type Plan struct {
	raw       C.mhc_plan_t
	desc      Desc
	sku       SKU
	guarantee PrecisionGuarantee
	workspace uintptr
	tensors   []TensorInfo // what the op reads and writes, from the library
	argIdx    []int        // for each of tensors, its index in argFields (-1: unknown field)
}

// Select validates desc, picks a SKU under pref (nil: DefaultPreference) and returns the plan.
// A CUDA plan's scratch is allocated on the current device; stream is not used by select (the
// C function takes none) and is there so that a plan is made where it will run.
func Select(stream Stream, desc *Desc, pref *Preference) (*Plan, error) {
	_ = stream
	if err := CheckABI(); err != nil {
		return nil, err
	}
	if pref == nil {
		p := DefaultPreference()
		pref = &p
	}
	p := &Plan{}
	p.guarantee.StructSize = uint32(unsafe.Sizeof(p.guarantee))
	p.desc.StructSize = uint32(unsafe.Sizeof(p.desc))
	var ws C.size_t
	var count C.int32_t
	var msg *C.char
	s := C.mhc_go_select((*C.mhc_desc_t)(unsafe.Pointer(desc)), (*C.mhc_preference_t)(unsafe.Pointer(pref)), &p.raw,
		(*C.mhc_sku_t)(unsafe.Pointer(&p.sku)), (*C.mhc_precision_guarantee_t)(unsafe.Pointer(&p.guarantee)),
		(*C.mhc_desc_t)(unsafe.Pointer(&p.desc)), &ws, &count, &msg)
	if err := result(s, msg); err != nil {
		return nil, err
	}
	p.workspace = uintptr(ws)
	if err := p.readTensors(int(count)); err != nil {
		p.Close()
		return nil, err
	}
	runtime.SetFinalizer(p, (*Plan).Close)
	return p, nil
}

// readTensors reads the plan's tensor infos once: every check of a run is made from them.
func (p *Plan) readTensors(count int) error {
	for i := 0; i < count; i++ {
		raw := RawTensorInfo{StructSize: uint32(unsafe.Sizeof(RawTensorInfo{}))}
		var field *C.char
		var msg *C.char
		s := C.mhc_go_tensor_info(p.raw, C.int32_t(i), (*C.mhc_tensor_info_t)(unsafe.Pointer(&raw)), &field, &msg)
		if err := result(s, msg); err != nil {
			return err
		}
		ti := TensorInfo{Field: C.GoString(field), Offset: uintptr(raw.FieldOffset), Role: raw.Role,
			Dtype: raw.Dtype, Required: raw.Required != 0, TokenDim: int(raw.TokenDim)}
		ok := field != nil && raw.Rank >= 1 && raw.Rank <= TensorMaxRank && raw.TokenDim >= -1 &&
			raw.TokenDim < raw.Rank && ti.Dtype.Size() > 0
		for d := 0; ok && d < int(raw.Rank); d++ {
			ti.Shape = append(ti.Shape, raw.Shape[d])
			ok = raw.Shape[d] >= 1
		}
		if !ok {
			return bindingError(StatusInternal, "tensor %d of %s: the library reported rank %d, shape %v, token_dim %d, %s",
				i, p.desc.Op, raw.Rank, raw.Shape, raw.TokenDim, ti.Dtype)
		}
		p.tensors = append(p.tensors, ti)
		p.argIdx = append(p.argIdx, argIndex(ti.Offset))
	}
	return nil
}

// Tensors are the tensors the plan reads and writes (mhc_plan_get_tensor_info), inputs first,
// with their shapes at T = desc.tokens.
func (p *Plan) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(p.tensors))
	for i, ti := range p.tensors {
		ti.Shape = append([]int64(nil), ti.Shape...)
		out[i] = ti
	}
	return out
}

// SKU is the kernel the plan runs.
func (p *Plan) SKU() SKU { return p.sku }

// PrecisionGuarantee is what the plan promises: math precision, accumulator, guarantee flags.
func (p *Plan) PrecisionGuarantee() PrecisionGuarantee { return p.guarantee }

// WorkspaceSize is the caller workspace a run may use, in bytes (0 for every host SKU).
func (p *Plan) WorkspaceSize() uintptr { return p.workspace }

// Desc is the validated descriptor with every default resolved (NumSplits as the plan runs it).
func (p *Plan) Desc() Desc { return p.desc }

// CanImplement validates args against the plan (shapes, lengths and element types here, then
// pointers, alignment and memory space in the library); it runs nothing.
func (p *Plan) CanImplement(args *Args) error { return p.call(0, DefaultStream, Workspace{}, args) }

// Run validates like CanImplement, then computes (a host SKU, on this goroutine's thread) or
// enqueues on stream (a CUDA SKU: the outputs are ready when the stream gets there).
func (p *Plan) Run(stream Stream, ws Workspace, args *Args) error { return p.call(1, stream, ws, args) }

// RunRaw runs with every tensor an address (device memory or C memory) and no check here: the
// library checks pointers, alignment, memory space and args.Tokens, the caller the sizes.
func (p *Plan) RunRaw(stream Stream, ws Workspace, args *RawArgs) error {
	var msg *C.char
	s := C.mhc_go_call(1, p.raw, C.uintptr_t(stream), C.uintptr_t(ws.Addr), C.size_t(ws.Bytes),
		(*C.mhc_args_t)(unsafe.Pointer(args)), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,
		nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil,
		nil, nil, nil, nil, nil, nil, nil, nil, &msg)
	runtime.KeepAlive(p)
	return result(s, msg)
}

func (p *Plan) call(run C.int, stream Stream, ws Workspace, args *Args) error {
	f := args.fields()
	addrs := NewRawArgs()
	if p.raw != nil { // a closed plan goes to the library, which refuses it
		tokens, err := p.checkArgs(&f)
		if err != nil {
			return err
		}
		addrs.Tokens = tokens
	}
	addrs.GradAccumulate = args.GradAccumulate
	for i, t := range f {
		if t.set { // by offset: args.tokens sits between out_rms and pre_mix (and more after it)
			*(*uintptr)(unsafe.Add(unsafe.Pointer(&addrs), argFields[i].offset)) = t.addr
		}
	}
	var msg *C.char
	s := C.mhc_go_call(run, p.raw, C.uintptr_t(stream), C.uintptr_t(ws.Addr), C.size_t(ws.Bytes),
		(*C.mhc_args_t)(unsafe.Pointer(&addrs)),
		f[0].host, f[1].host, f[2].host, f[3].host, f[4].host, f[5].host, f[6].host, f[7].host,
		f[8].host, f[9].host, f[10].host, f[11].host, f[12].host, f[13].host, f[14].host, f[15].host,
		f[16].host, f[17].host, f[18].host, f[19].host, f[20].host, f[21].host, f[22].host, f[23].host,
		f[24].host, f[25].host, f[26].host, f[27].host, f[28].host, f[29].host, f[30].host, f[31].host,
		f[32].host, f[33].host, f[34].host, f[35].host, f[36].host, f[37].host, f[38].host, &msg)
	runtime.KeepAlive(p)
	runtime.KeepAlive(args)
	return result(s, msg)
}

// Close destroys the plan (waiting for its in-flight work); calling it again does nothing.
// It must not race with another method of the same plan.
func (p *Plan) Close() error {
	if p.raw != nil {
		C.mhc_plan_destroy(p.raw) // always MHC_STATUS_SUCCESS (docs/c_abi.md)
		p.raw = nil
		runtime.SetFinalizer(p, nil)
	}
	return nil
}
