package mhc

// The tensors of a run and the checks made before every call. The library cannot see how long
// a buffer is or which shape the caller meant, so each set tensor is checked against the plan's
// tensor infos (mhc_plan_get_tensor_info, read once by Select): this package keeps no table of
// its own of which op takes which tensor.

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"
)

// TensorRole is an mhc_tensor_role_t.
type TensorRole int32

func (r TensorRole) String() string {
	switch r {
	case TensorRoleInput:
		return "input"
	case TensorRoleOutput:
		return "output"
	}
	return fmt.Sprintf("role %d", int32(r))
}

// RawTensorInfo is mhc_tensor_info_t as the library writes it; Plan.Tensors has the same in Go
// types.
type RawTensorInfo struct {
	StructSize  uint32
	FieldOffset uint32
	Field       uintptr // const char*, static storage of the library
	Role        TensorRole
	Dtype       Dtype
	Required    int32
	Rank        int32
	Shape       [TensorMaxRank]int64
	TokenDim    int32
	Reserved0   int32
}

// TensorInfo is one tensor a plan reads or writes, as the library reports it.
type TensorInfo struct {
	Field    string  // the mhc_args_t field ("out_layer_input"); the Args field is its CamelCase
	Offset   uintptr // offsetof(mhc_args_t, field)
	Role     TensorRole
	Dtype    Dtype   // storage dtype: BF16 or FP32
	Required bool    // false: optional, an unset tensor leaves it out
	Shape    []int64 // row-major, contiguous, at T = desc.tokens
	TokenDim int     // the index of T in Shape, or -1 (no T)
}

// ShapeAt is the shape of a run with T = tokens.
func (ti TensorInfo) ShapeAt(tokens int64) []int64 {
	s := append([]int64(nil), ti.Shape...)
	if ti.TokenDim >= 0 {
		s[ti.TokenDim] = tokens
	}
	return s
}

// Elements is the element count of a run with T = tokens.
func (ti TensorInfo) Elements(tokens int64) int64 { return product(ti.ShapeAt(tokens)) }

// String is "input residual BF16 [T=8, 4, 64]" (T= marks the token dimension).
func (ti TensorInfo) String() string {
	s := fmt.Sprintf("%s %s %s %s", ti.Role, ti.Field, ti.Dtype, ti.dims(false))
	if !ti.Required {
		s += " (optional)"
	}
	return s
}

// dims formats Shape with the token dimension as "T" (symbolic) or "T=8".
func (ti TensorInfo) dims(symbolic bool) string {
	parts := make([]string, len(ti.Shape))
	for d, v := range ti.Shape {
		parts[d] = fmt.Sprint(v)
		if d == ti.TokenDim && symbolic {
			parts[d] = "T"
		} else if d == ti.TokenDim {
			parts[d] = "T=" + parts[d]
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func product(shape []int64) int64 {
	p := int64(1)
	for _, v := range shape {
		p *= v
	}
	return p
}

func fmtShape(shape []int64) string {
	parts := make([]string, len(shape))
	for d, v := range shape {
		parts[d] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// ---- tensors ----------------------------------------------------------------------------------

// Tensor is one tensor of a run: a Go slice (F32, BF16s) or raw memory (Raw, RawShaped), with
// or without a shape. The zero value is "not set".
type Tensor struct {
	host  unsafe.Pointer // a Go slice's memory; passed to C as a call argument only
	addr  uintptr        // raw memory
	bytes uintptr
	dtype Dtype   // 0: raw memory of unknown dtype, only its size is checked
	shape []int64 // nil: no shape, only the element count is checked
	set   bool
}

// F32 is a tensor over a float32 slice (host memory: host SKUs), of the given row-major shape
// ([T, n, C] ...) or, without one, checked by its length only. The slice may be longer than
// the shape.
func F32(s []float32, shape ...int64) Tensor {
	t := Tensor{bytes: uintptr(len(s)) * 4, dtype: DtypeFP32, shape: shapeOf(shape), set: true}
	if len(s) > 0 {
		t.host = unsafe.Pointer(&s[0])
	}
	return t
}

// BF16s is a tensor over a bfloat16 slice (host memory: host SKUs), with an optional shape as
// for F32.
func BF16s(s []BF16, shape ...int64) Tensor {
	t := Tensor{bytes: uintptr(len(s)) * 2, dtype: DtypeBF16, shape: shapeOf(shape), set: true}
	if len(s) > 0 {
		t.host = unsafe.Pointer(&s[0])
	}
	return t
}

// Raw is a tensor at addr of the given size in bytes, without dtype or shape: device memory for
// a CUDA SKU, or host memory that Go does not manage (C.malloc). The caller keeps it valid for
// the run (for a CUDA SKU, until the stream has passed the run).
func Raw(addr, bytes uintptr) Tensor { return Tensor{addr: addr, bytes: bytes, set: true} }

// RawShaped is raw memory (as for Raw) holding a contiguous dtype tensor of the given shape.
func RawShaped(addr uintptr, dtype Dtype, shape ...int64) Tensor {
	t := Tensor{addr: addr, dtype: dtype, shape: shapeOf(shape), set: true}
	if n := product(t.shape); n > 0 && dtype.Size() > 0 {
		t.bytes = uintptr(n) * dtype.Size()
	}
	return t
}

func shapeOf(shape []int64) []int64 {
	if len(shape) == 0 {
		return nil
	}
	return append([]int64(nil), shape...) // the caller may reuse its slice
}

// Shape is the tensor's shape, nil when it was given without one.
func (t Tensor) Shape() []int64 { return append([]int64(nil), t.shape...) }

// Dtype is the element type: FP32 (F32), BF16 (BF16s), the one given to RawShaped, 0 for Raw.
func (t Tensor) Dtype() Dtype { return t.dtype }

// IsSet is false for the zero Tensor.
func (t Tensor) IsSet() bool { return t.set }

// Args are the tensors of one run: set the ones the plan's op uses (Plan.Tensors lists them).
// This run's T (mhc_args_t.tokens) is taken from the shapes: every shaped tensor with a T
// dimension must have the same T, 1..desc.tokens. Without any shape the run has T = desc.tokens.
// GradAccumulate (backward ops): GradAccumulate* bits of the gradient outputs to add to.
type Args struct {
	Residual, Fn, Scale, Base, GemmOut, Sqrsum, LayerOutput, PostMix, CombMix, Embedding Tensor
	NormWeight, HPre, HPost, HRes                                                        Tensor
	OutGemm, OutSqrsum, OutPostMix, OutCombMix, OutLayerInput, OutResidual, OutRms       Tensor
	PreMix, OutPreMix                                                                    Tensor // since 0.3 (after args.tokens in C)
	// since 0.4: the backward ops' gradients (docs/training.md)
	GradResidual, GradLayerInput, GradPostMix, GradCombMix              Tensor
	OutGradResidual, OutGradLayerOutput, OutGradPostMix, OutGradCombMix Tensor
	OutGradEmbedding, OutGradFn, OutGradScale, OutGradBase              Tensor
	OutGradHPre, OutGradHPost, OutGradHRes, OutGradNormWeight           Tensor // since 0.5: family B
	GradAccumulate                                                      uint32
}

// argCount is the number of tensor fields of mhc_args_t (and of Args).
const argCount = 39

// fields lists the tensors in mhc_args_t order (the order of argFields).
func (a *Args) fields() [argCount]*Tensor {
	return [argCount]*Tensor{&a.Residual, &a.Fn, &a.Scale, &a.Base, &a.GemmOut, &a.Sqrsum,
		&a.LayerOutput, &a.PostMix, &a.CombMix, &a.Embedding, &a.NormWeight, &a.HPre, &a.HPost,
		&a.HRes, &a.OutGemm, &a.OutSqrsum, &a.OutPostMix, &a.OutCombMix, &a.OutLayerInput,
		&a.OutResidual, &a.OutRms, &a.PreMix, &a.OutPreMix, &a.GradResidual, &a.GradLayerInput,
		&a.GradPostMix, &a.GradCombMix, &a.OutGradResidual, &a.OutGradLayerOutput, &a.OutGradPostMix,
		&a.OutGradCombMix, &a.OutGradEmbedding, &a.OutGradFn, &a.OutGradScale, &a.OutGradBase, &a.OutGradHPre,
		&a.OutGradHPost, &a.OutGradHRes, &a.OutGradNormWeight}
}

// argField is one tensor field of mhc_args_t: its C name and offset.
type argField struct {
	name   string
	offset uintptr
}

// argFields comes from RawArgs, whose layout abi_test.go checks against the header, so that
// names and offsets are written down once.
var argFields = func() []argField {
	var out []argField
	typ := reflect.TypeOf(RawArgs{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); f.Type.Kind() == reflect.Uintptr {
			out = append(out, argField{snakeCase(f.Name), f.Offset})
		}
	}
	return out
}()

// snakeCase maps a Go field name to its C name: OutLayerInput -> out_layer_input.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// argIndex is the index in argFields of the field at offset, -1 for one this package lacks.
func argIndex(offset uintptr) int {
	for k, f := range argFields {
		if f.offset == offset {
			return k
		}
	}
	return -1
}

// ---- checks -----------------------------------------------------------------------------------

// checkArgs checks the set tensors against the plan's tensor infos, in the library's order
// (unused fields, then each tensor), and returns the run's T from the shapes (0: no shaped
// tensor has a T dimension, so the run has T = desc.tokens).
func (p *Plan) checkArgs(ts *[argCount]*Tensor) (int64, error) {
	op := p.desc.Op
	var used [argCount]bool
	for _, k := range p.argIdx {
		if k >= 0 {
			used[k] = true
		}
	}
	for k, t := range ts {
		if t.set && !used[k] {
			return 0, bindingError(StatusBadParamValue, "args.%s is set, but %s does not use it", argFields[k].name, op)
		}
	}

	maxT := p.desc.Tokens
	var tokens int64
	var from string // the field tokens was read from
	expect := func(ti TensorInfo) string {
		switch {
		case ti.TokenDim < 0:
			return ti.Dtype.String() + " " + fmtShape(ti.Shape)
		case tokens > 0:
			return fmt.Sprintf("%s %s (T = %d, from args.%s)", ti.Dtype, fmtShape(ti.ShapeAt(tokens)), tokens, from)
		}
		return fmt.Sprintf("%s %s with T in 1..%d", ti.Dtype, ti.dims(true), maxT)
	}
	for i, ti := range p.tensors {
		k := p.argIdx[i]
		if k < 0 {
			// A field of a newer header: this package cannot set it.
			if ti.Required {
				return 0, bindingError(StatusNotSupported, "%s needs args.%s, a field this package does not have (written for libmhc %d.%d)",
					op, ti.Field, VersionMajor, VersionMinor)
			}
			continue
		}
		t := ts[k]
		if !t.set {
			if ti.Required {
				return 0, bindingError(StatusBadParamNullPointer, "args.%s is not set: %s needs it (%s)", ti.Field, op, expect(ti))
			}
			continue
		}
		if t.dtype != 0 && t.dtype != ti.Dtype {
			return 0, bindingError(StatusBadParamValue, "args.%s: %s given, the plan takes %s", ti.Field, t.dtype, expect(ti))
		}
		if t.shape == nil {
			continue // checked by its element count below, once T is known
		}
		ok := len(t.shape) == len(ti.Shape)
		for d := 0; ok && d < len(t.shape); d++ {
			ok = d == ti.TokenDim || t.shape[d] == ti.Shape[d]
		}
		if !ok {
			return 0, bindingError(StatusBadParamShape, "args.%s: shape %s given, the plan takes %s", ti.Field, fmtShape(t.shape), expect(ti))
		}
		if ti.TokenDim >= 0 {
			switch tt := t.shape[ti.TokenDim]; {
			case tt < 1 || tt > maxT:
				return 0, bindingError(StatusBadParamShape, "args.%s: shape %s given, the plan takes %s %s with T in 1..%d (desc.tokens is the largest T the plan runs)",
					ti.Field, fmtShape(t.shape), ti.Dtype, ti.dims(true), maxT)
			case tokens == 0:
				tokens, from = tt, ti.Field
			case tt != tokens:
				return 0, bindingError(StatusBadParamShape, "args.%s: shape %s given, the plan takes %s: every tensor of a run has the same T",
					ti.Field, fmtShape(t.shape), expect(ti))
			}
		}
		if t.dtype != 0 && uint64(t.bytes) < uint64(product(t.shape))*uint64(t.dtype.Size()) {
			return 0, bindingError(StatusBadParamShape, "args.%s: shape %s given over %d elements: the data is shorter than its shape",
				ti.Field, fmtShape(t.shape), uint64(t.bytes)/uint64(t.dtype.Size()))
		}
	}

	// Unshaped data: at least the element count of this run's T (the run reads the first T rows).
	runT := tokens
	if runT == 0 {
		runT = maxT
	}
	for i, ti := range p.tensors {
		k := p.argIdx[i]
		if k < 0 || !ts[k].set || ts[k].shape != nil {
			continue
		}
		t := ts[k]
		need := uint64(ti.Elements(runT))
		hint := ""
		if tokens == 0 && ti.TokenDim >= 0 {
			hint = "; without shapes a run has T = desc.tokens"
		}
		if t.dtype == 0 {
			if needBytes := need * uint64(ti.Dtype.Size()); uint64(t.bytes) < needBytes {
				return 0, bindingError(StatusBadParamShape, "args.%s: %d bytes given (no dtype or shape), the plan takes %s = %d bytes%s",
					ti.Field, t.bytes, fmtExpect(ti, runT), needBytes, hint)
			}
		} else if have := uint64(t.bytes) / uint64(t.dtype.Size()); have < need {
			return 0, bindingError(StatusBadParamShape, "args.%s: %d elements given (no shape), the plan takes %s = %d elements%s",
				ti.Field, have, fmtExpect(ti, runT), need, hint)
		}
	}
	return tokens, nil
}

func fmtExpect(ti TensorInfo, tokens int64) string {
	return ti.Dtype.String() + " " + fmtShape(ti.ShapeAt(tokens))
}
