package mhc

// The tensor infos the plan reads from the library, the checks made from them before a call,
// and run-time T: a plan selected for desc.tokens runs a smaller T taken from the shapes, with
// rows bit-identical to a full run.

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func bf16Values(count int, seed uint64, lo, hi float32) []BF16 {
	out := make([]BF16, count)
	for i, v := range values(count, seed, lo, hi) {
		out[i] = BF16FromFloat32(v)
	}
	return out
}

// wantError fails unless err is an *Error with status s whose message has every part.
func wantError(t *testing.T, what string, err error, s Status, parts ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Status != s {
		t.Errorf("%s: %v, want status %v", what, err, s)
		return
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			t.Errorf("%s: message %q lacks %q", what, e.Message, p)
		}
	}
}

func TestOpNames(t *testing.T) {
	if OpName(OpPre) != "MHC_OP_PRE" || OpStaticLayer.String() != "MHC_OP_STATIC_LAYER" {
		t.Errorf("names: %q %q", OpName(OpPre), OpStaticLayer.String())
	}
	if OpName(OpBoundary) != "MHC_OP_BOUNDARY" || OpBoundaryFirst.String() != "MHC_OP_BOUNDARY_FIRST" {
		t.Errorf("boundary names: %q %q", OpName(OpBoundary), OpBoundaryFirst.String())
	}
	if OpName(Op(99)) != "" || Op(99).String() != "op 99" {
		t.Errorf("unknown op: %q %q", OpName(Op(99)), Op(99).String())
	}
}

func TestArgsMirrorTheCFields(t *testing.T) {
	if len(argFields) != argCount {
		t.Fatalf("%d pointer fields in RawArgs, argCount %d", len(argFields), argCount)
	}
	var a Args
	typ := reflect.TypeOf(a)
	// The tensors, then GradAccumulate (not a tensor).
	if typ.NumField() != argCount+1 || typ.Field(argCount).Name != "GradAccumulate" {
		t.Fatalf("Args has %d fields, mhc_args_t %d tensors and grad_accumulate", typ.NumField(), argCount)
	}
	f := a.fields()
	for k := 0; k < argCount; k++ {
		if snakeCase(typ.Field(k).Name) != argFields[k].name || f[k] != reflect.ValueOf(&a).Elem().Field(k).Addr().Interface() {
			t.Errorf("Args field %d (%s) is not args.%s", k, typ.Field(k).Name, argFields[k].name)
		}
	}
}

func TestTensorInfosComeFromTheLibrary(t *testing.T) {
	cases := []struct {
		op     Op
		splits int32
		flags  uint32
	}{
		{OpPrenormGemm, 2, DescFlagSplitPartials}, {OpPrenormGemm, 0, 0}, {OpPreFuse, 2, DescFlagSplitPartials},
		{OpPreFuse, 0, 0}, {OpPre, 0, 0}, {OpPost, 0, 0}, {OpHead, 0, 0}, {OpExpand, 0, 0},
		{OpBoundary, 0, 0}, {OpBoundary, 0, DescFlagShifted | DescFlagNorm}, {OpBoundaryCollapse, 0, DescFlagNorm},
		{OpBoundaryMix, 0, 0}, {OpBoundaryFirst, 0, DescFlagShifted},
		{OpStaticPre, 0, 0}, {OpStaticPost, 0, 0}, {OpStaticLayer, 0, 0},
		{OpPreBackward, 0, 0}, {OpPostBackward, 0, 0}, {OpHeadBackward, 0, 0}, {OpExpandBackward, 0, 0},
		{OpStaticPreBackward, 0, 0}, {OpStaticPostBackward, 0, 0}, {OpStaticLayerBackward, 0, 0},
	}
	for _, tc := range cases {
		d := mustDesc(t, tc.op, 5, 4, 32) // K = 128: two split granules
		d.NumSplits, d.Flags = tc.splits, tc.flags
		plan := mustSelect(t, d, hostPref())
		infos := plan.Tensors()
		if len(infos) == 0 {
			t.Fatalf("%v: no tensors", tc.op)
		}
		outputs := false
		for _, ti := range infos {
			k := argIndex(ti.Offset)
			if k < 0 || argFields[k].name != ti.Field {
				t.Errorf("%v: %s at offset %d is not a field of RawArgs by that name", tc.op, ti.Field, ti.Offset)
			}
			if outputs && ti.Role == TensorRoleInput {
				t.Errorf("%v: input %s after an output", tc.op, ti.Field)
			}
			outputs = ti.Role == TensorRoleOutput
			if ti.TokenDim >= 0 && (ti.Shape[ti.TokenDim] != 5 || ti.ShapeAt(3)[ti.TokenDim] != 3 ||
				ti.Elements(3)*5 != ti.Elements(5)*3) {
				t.Errorf("%v: %s shape %v, token dim %d", tc.op, ti.Field, ti.Shape, ti.TokenDim)
			}
		}
	}

	// Two ops written out, as docs/c_abi.md lists them.
	got := func(op Op, flags uint32) string {
		d := mustDesc(t, op, 5, 4, 32)
		if flags != 0 {
			d.NumSplits, d.Flags = 2, flags
		}
		var s []string
		for _, ti := range mustSelect(t, d, hostPref()).Tensors() {
			s = append(s, ti.String())
		}
		return strings.Join(s, "; ")
	}
	if s, want := got(OpStaticLayer, 0), "input residual FP32 [T=5, 4, 32]; input norm_weight BF16 [32]; input h_pre FP32 [4]; "+
		"input h_post FP32 [4]; input h_res FP32 [4, 4]; output out_residual FP32 [T=5, 4, 32]"; s != want {
		t.Errorf("static layer:\n got %s\nwant %s", s, want)
	}
	if s, want := got(OpPrenormGemm, DescFlagSplitPartials), "input residual BF16 [T=5, 4, 32]; input fn FP32 [24, 128]; "+
		"output out_gemm FP32 [2, T=5, 24]; output out_sqrsum FP32 [2, T=5]"; s != want {
		t.Errorf("prenorm gemm with partials:\n got %s\nwant %s", s, want)
	}
	if s := got(OpPre, 0); !strings.Contains(s, "output out_gemm FP32 [T=5, 24] (optional)") {
		t.Errorf("pre: %s", s)
	}
	if s, want := got(OpBoundaryMix, 0), "input residual BF16 [T=5, 4, 32]; input fn FP32 [24, 128]; input scale FP32 [3]; "+
		"input base FP32 [24]; output out_post_mix FP32 [T=5, 4]; output out_comb_mix FP32 [T=5, 4, 4]; "+
		"output out_pre_mix FP32 [T=5, 4]"; s != want {
		t.Errorf("boundary mix:\n got %s\nwant %s", s, want)
	}
}

func TestTensorsAreCheckedBeforeTheCall(t *testing.T) {
	b, n, c := 2, 4, 8
	plan := mustSelect(t, mustDesc(t, OpStaticLayer, int64(b), int32(n), int64(c)), hostPref())
	x := make([]float32, b*n*c)
	w := make([]BF16, c)
	hp, hq, hr := make([]float32, n), make([]float32, n), make([]float32, n*n)
	out := make([]float32, b*n*c)
	args := Args{Residual: F32(x, 2, 4, 8), NormWeight: BF16s(w, 8), HPre: F32(hp, 4), HPost: F32(hq), OutResidual: F32(out, 2, 4, 8)}
	wantError(t, "missing h_res", plan.CanImplement(&args), StatusBadParamNullPointer,
		"args.h_res is not set: MHC_OP_STATIC_LAYER needs it (FP32 [4, 4])")
	args.HRes = F32(hr, 4, 4)
	if err := plan.CanImplement(&args); err != nil {
		t.Fatalf("valid args: %v", err)
	}
	try := func(what string, edit func(a *Args), s Status, parts ...string) {
		t.Helper()
		a := args
		edit(&a)
		wantError(t, what, plan.CanImplement(&a), s, parts...)
		wantError(t, what+" (run)", plan.Run(DefaultStream, Workspace{}, &a), s, parts...)
	}

	// The same element count in another order: only the shape tells them apart.
	try("transposed residual", func(a *Args) { a.Residual = F32(x, 2, 8, 4) }, StatusBadParamShape,
		"args.residual: shape [2, 8, 4] given, the plan takes FP32 [T, 4, 8] with T in 1..2")
	try("transposed output", func(a *Args) { a.OutResidual = F32(out, 2, 8, 4) }, StatusBadParamShape,
		"args.out_residual: shape [2, 8, 4] given, the plan takes FP32 [2, 4, 8] (T = 2, from args.residual)")
	try("flat residual", func(a *Args) { a.Residual = F32(x, 64) }, StatusBadParamShape, "args.residual: shape [64] given")
	try("h_res as a vector", func(a *Args) { a.HRes = F32(hr, 16) }, StatusBadParamShape,
		"args.h_res: shape [16] given, the plan takes FP32 [4, 4]")
	try("T differs", func(a *Args) { a.OutResidual = F32(out, 1, 4, 8) }, StatusBadParamShape,
		"args.out_residual: shape [1, 4, 8] given, the plan takes FP32 [2, 4, 8] (T = 2, from args.residual)",
		"every tensor of a run has the same T")
	try("T = 0", func(a *Args) { a.Residual = F32(x, 0, 4, 8) }, StatusBadParamShape, "T in 1..2")
	try("T = 3", func(a *Args) { a.Residual = F32(make([]float32, 3*n*c), 3, 4, 8) }, StatusBadParamShape,
		"args.residual: shape [3, 4, 8] given, the plan takes FP32 [T, 4, 8] with T in 1..2")
	try("slice shorter than its shape", func(a *Args) { a.Residual = F32(x[:60], 2, 4, 8) }, StatusBadParamShape,
		"args.residual: shape [2, 4, 8] given over 60 elements")
	try("fp32 norm_weight", func(a *Args) { a.NormWeight = F32(make([]float32, c), 8) }, StatusBadParamValue,
		"args.norm_weight: FP32 given, the plan takes BF16 [8]")
	try("unused field", func(a *Args) { a.Embedding = BF16s(make([]BF16, b*c)) }, StatusBadParamValue,
		"args.embedding is set, but MHC_OP_STATIC_LAYER does not use it")

	// Without a shape: the element count at the run's T (desc.tokens when no tensor has a shape).
	try("short unshaped residual", func(a *Args) { a.Residual = F32(x[:63]); a.OutResidual = F32(out) }, StatusBadParamShape,
		"args.residual: 63 elements given (no shape), the plan takes FP32 [2, 4, 8] = 64 elements; without shapes a run has T = desc.tokens")
	try("unshaped output too short for T", func(a *Args) { a.Residual = F32(x[:32], 1, 4, 8); a.OutResidual = F32(out[:31]) },
		StatusBadParamShape, "args.out_residual: 31 elements given (no shape), the plan takes FP32 [1, 4, 8] = 32 elements")
	// Raw memory is refused here, before any C call, so these addresses are never read.
	try("raw too small", func(a *Args) { a.Residual = Raw(0x1000, 100) }, StatusBadParamShape,
		"args.residual: 100 bytes given (no dtype or shape), the plan takes FP32 [2, 4, 8] = 256 bytes")
	try("raw of another dtype", func(a *Args) { a.Residual = RawShaped(0x1000, DtypeBF16, 2, 4, 8) }, StatusBadParamValue,
		"args.residual: BF16 given")
	try("raw transposed", func(a *Args) { a.Residual = RawShaped(0x1000, DtypeFP32, 2, 8, 4) }, StatusBadParamShape,
		"args.residual: shape [2, 8, 4] given")

	// Unshaped tensors sized for desc.tokens go with any shaped T.
	args.Residual, args.OutResidual = F32(x[:n*c], 1, 4, 8), F32(out)
	if err := plan.CanImplement(&args); err != nil {
		t.Errorf("T = 1 with an unshaped output: %v", err)
	}
	if s := args.Residual.Shape(); !reflect.DeepEqual(s, []int64{1, 4, 8}) || args.Residual.Dtype() != DtypeFP32 ||
		F32(x).Shape() != nil || (Tensor{}).IsSet() {
		t.Errorf("tensor accessors: %v %v", s, args.Residual.Dtype())
	}
}

// postArgs are A4's tensors for the first t of T rows of full-size data.
func postArgs(t, n, c int, x, r []BF16, postMix, comb []float32, out []BF16) Args {
	tt := int64(t)
	return Args{
		LayerOutput: BF16s(x[:t*c], tt, int64(c)),
		Residual:    BF16s(r[:t*n*c], tt, int64(n), int64(c)),
		PostMix:     F32(postMix[:t*n], tt, int64(n)),
		CombMix:     F32(comb[:t*n*n], tt, int64(n), int64(n)),
		OutResidual: BF16s(out[:t*n*c], tt, int64(n), int64(c)),
	}
}

func TestRunTimeTokensPost(t *testing.T) {
	const maxT, n, c = 8, 4, 48
	plan := mustSelect(t, mustDesc(t, OpPost, maxT, n, c), hostPref())
	x, r := bf16Values(maxT*c, 21, -2, 2), bf16Values(maxT*n*c, 22, -2, 2)
	postMix, comb := values(maxT*n, 23, 0, 2), values(maxT*n*n, 24, 0, 1)
	full := make([]BF16, maxT*n*c)
	a := postArgs(maxT, n, c, x, r, postMix, comb, full)
	if err := plan.Run(DefaultStream, Workspace{}, &a); err != nil {
		t.Fatal(err)
	}
	// T = 3 from the shapes, into an exact 3-row output: the library must be told T = 3, or it
	// would write 8 rows.
	three := make([]BF16, 3*n*c)
	a = postArgs(3, n, c, x, r, postMix, comb, three)
	if err := plan.Run(DefaultStream, Workspace{}, &a); err != nil {
		t.Fatal(err)
	}
	for i := range three {
		if three[i] != full[i] {
			t.Fatalf("T = 3: out[%d] = %#x, the T = 8 run %#x", i, three[i], full[i])
		}
	}
	// An unshaped output sized for desc.tokens: rows past T stay as they were.
	big := make([]BF16, maxT*n*c)
	for i := range big {
		big[i] = 0x7fc1
	}
	a = postArgs(3, n, c, x, r, postMix, comb, big)
	a.OutResidual = BF16s(big)
	if err := plan.Run(DefaultStream, Workspace{}, &a); err != nil {
		t.Fatal(err)
	}
	for i := range big {
		want := BF16(0x7fc1)
		if i < 3*n*c {
			want = full[i]
		}
		if big[i] != want {
			t.Fatalf("out[%d] = %#x, want %#x (rows past T = 3 are not written)", i, big[i], want)
		}
	}

	nine := func(k int) int { return k * 9 / maxT }
	a = postArgs(9, n, c, make([]BF16, nine(len(x))), make([]BF16, nine(len(r))), make([]float32, nine(len(postMix))),
		make([]float32, nine(len(comb))), make([]BF16, nine(len(full))))
	wantError(t, "T = 9", plan.Run(DefaultStream, Workspace{}, &a), StatusBadParamShape,
		"args.layer_output: shape [9, 48] given, the plan takes BF16 [T, 48] with T in 1..8")
}

func TestRunTimeTokensPreBatchInvariant(t *testing.T) {
	const maxT, n, c = 8, 4, 64
	const k, mixes = n * c, n * (n + 2)
	pref := hostPref()
	pref.Required = GuaranteeBatchInvariant
	r := bf16Values(maxT*n*c, 31, -2, 2)
	fn, scale, base := values(mixes*k, 32, -0.05, 0.05), []float32{0.7, 0.3, 0.9}, values(mixes, 33, -0.5, 0.5)

	type outs struct {
		postMix, comb, gemm, sqrsum []float32
		y                           []BF16
	}
	run := func(plan *Plan, tokens int) outs {
		t.Helper()
		tt := int64(tokens)
		o := outs{make([]float32, tokens*n), make([]float32, tokens*n*n), make([]float32, tokens*mixes),
			make([]float32, tokens), make([]BF16, tokens*c)}
		a := Args{
			Residual: BF16s(r[:tokens*n*c], tt, n, c), Fn: F32(fn, mixes, k), Scale: F32(scale, 3), Base: F32(base, mixes),
			OutPostMix: F32(o.postMix, tt, n), OutCombMix: F32(o.comb, tt, n, n), OutLayerInput: BF16s(o.y, tt, c),
			OutGemm: F32(o.gemm, tt, mixes), OutSqrsum: F32(o.sqrsum, tt),
		}
		if err := plan.Run(DefaultStream, Workspace{}, &a); err != nil {
			t.Fatal(err)
		}
		return o
	}
	same := func(what string, a, b outs, rows int) {
		t.Helper()
		f32 := func(name string, x, y []float32, perRow int) {
			for i := 0; i < rows*perRow; i++ {
				if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
					t.Fatalf("%s: %s[%d] = %v, %v", what, name, i, x[i], y[i])
				}
			}
		}
		f32("out_post_mix", a.postMix, b.postMix, n)
		f32("out_comb_mix", a.comb, b.comb, n*n)
		f32("out_gemm", a.gemm, b.gemm, mixes)
		f32("out_sqrsum", a.sqrsum, b.sqrsum, 1)
		for i := 0; i < rows*c; i++ {
			if a.y[i] != b.y[i] {
				t.Fatalf("%s: out_layer_input[%d] = %#x, %#x", what, i, a.y[i], b.y[i])
			}
		}
	}

	plan := mustSelect(t, mustDesc(t, OpPre, maxT, n, c), pref)
	if !plan.PrecisionGuarantee().Flags.Has(GuaranteeBatchInvariant) {
		t.Fatalf("guarantee %+v", plan.PrecisionGuarantee())
	}
	full := run(plan, maxT)
	same("T = 3 of a desc.tokens = 8 plan", run(plan, 3), full, 3)
	same("T = 1 of a desc.tokens = 8 plan", run(plan, 1), full, 1)
	// Batch-invariant: a plan selected for T = 3 gives the same rows too.
	same("a desc.tokens = 3 plan", run(mustSelect(t, mustDesc(t, OpPre, 3, n, c), pref), 3), full, 3)

	a := Args{Residual: BF16s(make([]BF16, 9*n*c), 9, n, c), Fn: F32(fn, mixes, k), Scale: F32(scale, 3), Base: F32(base, mixes),
		OutPostMix: F32(make([]float32, 9*n), 9, n), OutCombMix: F32(make([]float32, 9*n*n), 9, n, n),
		OutLayerInput: BF16s(make([]BF16, 9*c), 9, c)}
	wantError(t, "T = 9", plan.CanImplement(&a), StatusBadParamShape,
		"args.residual: shape [9, 4, 64] given, the plan takes BF16 [T, 4, 64] with T in 1..8")
}
