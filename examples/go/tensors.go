package mhc

// The tensors each op reads and writes (docs/c_abi.md, "Tensors of each op"), for the checks
// the binding makes before a call: the library cannot see how long a buffer is.

type field int

// The fields of mhc_args_t, in order.
const (
	fieldResidual field = iota
	fieldFn
	fieldScale
	fieldBase
	fieldGemmOut
	fieldSqrsum
	fieldLayerOutput
	fieldPostMix
	fieldCombMix
	fieldEmbedding
	fieldNormWeight
	fieldHPre
	fieldHPost
	fieldHRes
	fieldOutGemm
	fieldOutSqrsum
	fieldOutPostMix
	fieldOutCombMix
	fieldOutLayerInput
	fieldOutResidual
	fieldOutRms
	fieldCount
)

var fieldNames = [fieldCount]string{"residual", "fn", "scale", "base", "gemm_out", "sqrsum",
	"layer_output", "post_mix", "comb_mix", "embedding", "norm_weight", "h_pre", "h_post", "h_res",
	"out_gemm", "out_sqrsum", "out_post_mix", "out_comb_mix", "out_layer_input", "out_residual",
	"out_rms"}

// tensorSpec is the dtype and element count field must have for the plan's resolved
// descriptor; ok is false when the op does not use the field (the library then rejects it if
// set), known is false for an op this binding does not know.
func tensorSpec(d *Desc, f field) (dtype Dtype, count uint64, ok, known bool) {
	t, n, c := uint64(d.Tokens), uint64(d.N), uint64(d.Hidden)
	k, mixes := n*c, n*(n+2)
	partials := uint64(1)
	if d.Flags&DescFlagSplitPartials != 0 && d.NumSplits > 1 {
		partials = uint64(d.NumSplits)
	}
	act := d.ActDtype
	spec := func(dt Dtype, cnt uint64) (Dtype, uint64, bool, bool) { return dt, cnt, true, true }
	switch d.Op {
	case OpPrenormGemm:
		switch f {
		case fieldResidual:
			return spec(DtypeBF16, t*k)
		case fieldFn:
			return spec(DtypeFP32, mixes*k)
		case fieldOutGemm:
			return spec(DtypeFP32, partials*t*mixes)
		case fieldOutSqrsum:
			return spec(DtypeFP32, partials*t)
		}
	case OpPreFuse, OpPre:
		switch f {
		case fieldGemmOut:
			if d.Op == OpPreFuse {
				return spec(DtypeFP32, partials*t*mixes)
			}
		case fieldSqrsum:
			if d.Op == OpPreFuse {
				return spec(DtypeFP32, partials*t)
			}
		case fieldFn:
			if d.Op == OpPre {
				return spec(DtypeFP32, mixes*k)
			}
		case fieldOutGemm:
			if d.Op == OpPre {
				return spec(DtypeFP32, t*mixes)
			}
		case fieldOutSqrsum:
			if d.Op == OpPre {
				return spec(DtypeFP32, t)
			}
		case fieldScale:
			return spec(DtypeFP32, 3)
		case fieldBase:
			return spec(DtypeFP32, mixes)
		case fieldResidual:
			return spec(DtypeBF16, t*k)
		case fieldOutPostMix:
			return spec(DtypeFP32, t*n)
		case fieldOutCombMix:
			return spec(DtypeFP32, t*n*n)
		case fieldOutLayerInput:
			return spec(DtypeBF16, t*c)
		}
	case OpPost:
		switch f {
		case fieldLayerOutput:
			return spec(DtypeBF16, t*c)
		case fieldResidual, fieldOutResidual:
			return spec(DtypeBF16, t*k)
		case fieldPostMix:
			return spec(DtypeFP32, t*n)
		case fieldCombMix:
			return spec(DtypeFP32, t*n*n)
		}
	case OpHead:
		switch f {
		case fieldResidual:
			return spec(DtypeBF16, t*k)
		case fieldFn:
			return spec(DtypeFP32, n*k)
		case fieldScale:
			return spec(DtypeFP32, 1)
		case fieldBase:
			return spec(DtypeFP32, n)
		case fieldOutLayerInput:
			return spec(DtypeBF16, t*c)
		}
	case OpExpand:
		switch f {
		case fieldEmbedding:
			return spec(DtypeBF16, t*c)
		case fieldOutResidual:
			return spec(DtypeBF16, t*k)
		}
	case OpStaticPre, OpStaticPost, OpStaticLayer:
		pre, post := d.Op != OpStaticPost, d.Op != OpStaticPre
		switch {
		case f == fieldResidual:
			return spec(act, t*k)
		case f == fieldNormWeight && pre:
			return spec(DtypeBF16, c)
		case f == fieldHPre && pre:
			return spec(DtypeFP32, n)
		case f == fieldOutLayerInput && d.Op == OpStaticPre:
			return spec(act, t*c)
		case f == fieldOutRms && d.Op == OpStaticPre:
			return spec(DtypeFP32, t)
		case f == fieldLayerOutput && d.Op == OpStaticPost:
			return spec(act, t*c)
		case f == fieldHPost && post:
			return spec(DtypeFP32, n)
		case f == fieldHRes && post:
			return spec(DtypeFP32, n*n)
		case f == fieldOutResidual && post:
			return spec(act, t*k)
		}
	default:
		return 0, 0, false, false
	}
	return 0, 0, false, true
}

// checkTensor checks one set tensor against the plan's descriptor.
func checkTensor(d *Desc, f field, t *Tensor) error {
	dtype, count, ok, known := tensorSpec(d, f)
	if !known {
		return bindingError(StatusBadParamUnknownEnum, "op %d: this binding does not know which tensors it takes", int32(d.Op))
	}
	if !ok {
		return nil
	}
	if t.dtype != 0 && t.dtype != dtype {
		return bindingError(StatusBadParamValue, "args.%s: %s given, the plan takes %s", fieldNames[f], t.dtype, dtype)
	}
	if need := count * uint64(dtype.Size()); uint64(t.bytes) < need {
		return bindingError(StatusBadParamShape, "args.%s: %d bytes given, the plan needs %d (%d elements of %s)",
			fieldNames[f], t.bytes, need, count, dtype)
	}
	return nil
}
