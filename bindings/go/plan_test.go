package mhc

// The package against the built libmhc: the plan lifecycle, errors and outputs checked against
// known values, on the host backend (the tensor checks and run-time T are in tensors_test.go).
// With a CUDA device a CUDA plan is also selected and queried (this package allocates no device
// memory: GPU runs are covered by the library's own CUDA suites).

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func hostPref() *Preference {
	p := DefaultPreference()
	p.Backends = BackendHost
	return &p
}

func mustDesc(t *testing.T, op Op, tokens int64, n int32, hidden int64) *Desc {
	t.Helper()
	d, err := NewDesc(op)
	if err != nil {
		t.Fatal(err)
	}
	d.Tokens, d.N, d.Hidden = tokens, n, hidden
	return &d
}

func mustSelect(t *testing.T, d *Desc, p *Preference) *Plan {
	t.Helper()
	plan, err := Select(DefaultStream, d, p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plan.Close() })
	return plan
}

// values: deterministic numbers in [lo, hi) (a 64-bit LCG), the same on every machine.
func values(count int, seed uint64, lo, hi float32) []float32 {
	s := seed*6364136223846793005 + 1442695040888963407
	out := make([]float32, count)
	for i := range out {
		s = s*6364136223846793005 + 1442695040888963407
		out[i] = lo + (hi-lo)*float32(s>>40)/float32(1<<24)
	}
	return out
}

func TestLibraryQueries(t *testing.T) {
	v := Version
	if got, want := LibraryVersionString(), fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100); got != want {
		t.Errorf("version string %q, want %q", got, want)
	}
	if n, err := CUDADeviceCount(); err != nil || n < 0 {
		t.Errorf("CUDADeviceCount: %d, %v", n, err)
	}
	if StatusBadParamShape.String() != "MHC_STATUS_BAD_PARAM_SHAPE" {
		t.Errorf("status name %q", StatusBadParamShape.String())
	}
	if SKUHostPre.Name() != "host_fp64_pre" || !SKUHostPre.IsHost() || SKU(0xdeadbeef).Name() != "" {
		t.Errorf("SKU names: %q %v %q", SKUHostPre.Name(), SKUHostPre.IsHost(), SKU(0xdeadbeef).Name())
	}
}

func TestDescriptorDefaultsComeFromTheLibrary(t *testing.T) {
	d, err := NewDesc(OpStaticLayer)
	if err != nil {
		t.Fatal(err)
	}
	if d.StructSize != 80 || d.N != 4 || d.SinkhornRepeat != 20 || d.StaticEps != 1e-5 || d.ActDtype != DtypeFP32 {
		t.Errorf("static-layer defaults: %+v", d)
	}
	a, _ := NewDesc(OpPre)
	if a.RmsEps != 1e-6 || a.PostMult != 2 || a.ActDtype != DtypeBF16 {
		t.Errorf("pre defaults: %+v", a)
	}
	if b, _ := NewDesc(OpBoundary); b.NormEps != 1e-6 || b.NormScale != 1 || b.ActDtype != DtypeBF16 {
		t.Errorf("boundary defaults: %+v", b)
	}
	p := DefaultPreference()
	if p.Backends != BackendAny || p.MaxWorkspaceBytes != math.MaxUint64 || p.ForcedSKU != SKUNone {
		t.Errorf("preference defaults: %+v", p)
	}
}

func TestPlanLifecycleAndQueries(t *testing.T) {
	plan, err := Select(DefaultStream, mustDesc(t, OpStaticLayer, 3, 4, 16), hostPref())
	if err != nil {
		t.Fatal(err)
	}
	if plan.SKU() != SKUHostStaticLayer || plan.SKU().Name() != "host_fp64_static_layer" || plan.WorkspaceSize() != 0 {
		t.Errorf("sku %v workspace %d", plan.SKU(), plan.WorkspaceSize())
	}
	g := plan.PrecisionGuarantee()
	all := GuaranteeDeterministic | GuaranteeBitStable | GuaranteeBatchInvariant | GuaranteeNoAtomics
	if g.MathPrecision != DtypeFP64 || g.Accumulator != DtypeFP64 || !g.Flags.Has(all) {
		t.Errorf("guarantee %+v", g)
	}
	if d := plan.Desc(); d.Tokens != 3 || d.Hidden != 16 || d.Op != OpStaticLayer {
		t.Errorf("resolved desc %+v", d)
	}
	pref := hostPref()
	pref.Required = GuaranteeBatchInvariant
	bi := mustSelect(t, mustDesc(t, OpPre, 5, 4, 256), pref)
	if !bi.PrecisionGuarantee().Flags.Has(GuaranteeBatchInvariant) || bi.Desc().NumSplits < 1 {
		t.Errorf("batch-invariant plan: %+v, splits %d", bi.PrecisionGuarantee(), bi.Desc().NumSplits)
	}
	if err := plan.Close(); err != nil {
		t.Fatal(err)
	}
	if err := plan.Close(); err != nil { // twice: nothing happens
		t.Fatal(err)
	}
	// A closed plan is refused by the library (a NULL plan), not used.
	err = plan.Run(DefaultStream, Workspace{}, &Args{})
	if !errors.Is(err, &Error{Status: StatusBadParamNullPointer}) {
		t.Errorf("run after Close: %v", err)
	}
}

func TestErrorsCarryStatusCategoryAndMessage(t *testing.T) {
	_, err := Select(DefaultStream, mustDesc(t, OpPre, 4, 9, 64), hostPref())
	var e *Error
	if !errors.As(err, &e) || e.Status != StatusBadParamShape || e.Category() != StatusBadParam {
		t.Fatalf("n = 9: %v", err)
	}
	if !errors.Is(err, ErrBadParam) || errors.Is(err, ErrNotSupported) {
		t.Errorf("errors.Is by category: %v", err)
	}
	if !strings.Contains(e.Message, "desc->n") || !strings.HasPrefix(err.Error(), "MHC_STATUS_BAD_PARAM_SHAPE (2003): ") {
		t.Errorf("message: %q", err.Error())
	}
	if _, err := NewDesc(Op(99)); !errors.Is(err, &Error{Status: StatusBadParamUnknownEnum}) {
		t.Errorf("unknown op: %v", err)
	}
	pref := hostPref()
	pref.ForcedSKU = SKUHostPre
	if _, err := Select(DefaultStream, mustDesc(t, OpPost, 2, 4, 8), pref); !errors.Is(err, ErrNotSupported) {
		t.Errorf("forced SKU of another op: %v", err)
	}
	// Codes from a newer library are plain values with a category.
	if Status(2999).Category() != StatusBadParam || Status(2999).String() != "MHC_STATUS_BAD_PARAM (unknown detail)" {
		t.Errorf("newer detail: %v", Status(2999))
	}
	if newer := (&Error{Status: 7001}); newer.Category() != 7000 || errors.Is(newer, ErrBadParam) || Status(7001).String() != "unknown mhc_status_t" {
		t.Errorf("newer category: %v", newer)
	}
	if n, _ := CUDADeviceCount(); n == 0 {
		p := DefaultPreference()
		p.Backends = BackendCUDA
		if _, err := Select(DefaultStream, mustDesc(t, OpStaticLayer, 2, 4, 8), &p); !errors.Is(err, &Error{Status: StatusNotSupportedNoDevice}) {
			t.Errorf("CUDA backend without a device: %v", err)
		}
	}
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// staticLayerOracle is docs/numerics.md family B in float64.
func staticLayerOracle(x []float32, w []BF16, hPre, hPost, hRes []float32, b, n, c int) []float64 {
	const eps = 1e-5
	m := make([]float64, n*n)
	for i := 0; i < n; i++ {
		rmax := math.Inf(-1)
		for j := 0; j < n; j++ {
			rmax = math.Max(rmax, float64(hRes[i*n+j]))
		}
		for j := 0; j < n; j++ {
			m[i*n+j] = math.Exp(float64(hRes[i*n+j]) - rmax)
		}
	}
	for it := 0; it < 20; it++ {
		for i := 0; i < n; i++ {
			s := 0.0
			for j := 0; j < n; j++ {
				s += m[i*n+j]
			}
			if s > eps {
				for j := 0; j < n; j++ {
					m[i*n+j] /= s
				}
			}
		}
		for j := 0; j < n; j++ {
			s := 0.0
			for i := 0; i < n; i++ {
				s += m[i*n+j]
			}
			if s > eps {
				for i := 0; i < n; i++ {
					m[i*n+j] /= s
				}
			}
		}
	}
	out := make([]float64, b*n*c)
	for bb := 0; bb < b; bb++ {
		y := make([]float64, c)
		ms := 0.0
		for xx := 0; xx < c; xx++ {
			for i := 0; i < n; i++ {
				y[xx] += sigmoid(float64(hPre[i])) * float64(x[(bb*n+i)*c+xx])
			}
			ms += y[xx] * y[xx]
		}
		rms := 1 / math.Sqrt(ms/float64(c)+eps)
		for i := 0; i < n; i++ {
			for xx := 0; xx < c; xx++ {
				mix := 0.0
				for j := 0; j < n; j++ {
					mix += m[i*n+j] * float64(x[(bb*n+j)*c+xx])
				}
				out[(bb*n+i)*c+xx] = mix + 2*sigmoid(float64(hPost[i]))*y[xx]*rms*float64(w[xx].Float32())
			}
		}
	}
	return out
}

func TestStaticLayerMatchesTheFormula(t *testing.T) {
	b, n, c := 3, 4, 40
	plan := mustSelect(t, mustDesc(t, OpStaticLayer, int64(b), int32(n), int64(c)), hostPref())
	x := values(b*n*c, 1, -2, 2)
	w := make([]BF16, c)
	for i, v := range values(c, 2, 0.5, 1.5) {
		w[i] = BF16FromFloat32(v)
	}
	hPre, hPost, hRes := values(n, 3, -1, 1), values(n, 4, -1, 1), values(n*n, 5, -2, 2)
	out := make([]float32, b*n*c)
	for i := range out {
		out[i] = float32(math.NaN())
	}
	args := Args{Residual: F32(x), NormWeight: BF16s(w), HPre: F32(hPre), HPost: F32(hPost), HRes: F32(hRes), OutResidual: F32(out)}
	if err := plan.Run(DefaultStream, Workspace{}, &args); err != nil {
		t.Fatal(err)
	}
	want := staticLayerOracle(x, w, hPre, hPost, hRes, b, n, c)
	for i := range out {
		// The host backend evaluates in fp64 and rounds once to fp32.
		if d := math.Abs(float64(out[i]) - want[i]); d > 1e-6*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("out[%d] = %v, formula %v", i, out[i], want[i])
		}
	}

	// Known outputs by hand: h = 0 gives s_pre = 0.5, s_post = 1, M = 1/n. Every stream holding
	// the same row v of +-1 and w = 1: y = 2v, mean(y^2) = 4, out = v + 2v / sqrt(4 + eps).
	x2 := make([]float32, b*n*c)
	for i := range x2 {
		x2[i] = float32(1 - 2*(i%c%2))
	}
	ones := make([]BF16, c)
	for i := range ones {
		ones[i] = BF16FromFloat32(1)
	}
	zn, znn := make([]float32, n), make([]float32, n*n)
	args2 := Args{Residual: F32(x2), NormWeight: BF16s(ones), HPre: F32(zn), HPost: F32(zn), HRes: F32(znn), OutResidual: F32(out)}
	if err := plan.Run(DefaultStream, Workspace{}, &args2); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		v := float64(x2[i])
		if want := v + 2*v/math.Sqrt(4+1e-5); math.Abs(float64(out[i])-want) > 1e-6 {
			t.Fatalf("out[%d] = %v, expected %v", i, out[i], want)
		}
	}
}

func TestExpandThenPostIsExact(t *testing.T) {
	// A6 copies the embedding into n streams; A4 with comb a permutation and post = 0.5 on a
	// layer output of 2.0 gives out[k] = R[perm(k)] + 1, all exact in bf16.
	tt, n, c := 3, 4, 24
	expand := mustSelect(t, mustDesc(t, OpExpand, int64(tt), int32(n), int64(c)), hostPref())
	post := mustSelect(t, mustDesc(t, OpPost, int64(tt), int32(n), int64(c)), hostPref())
	if expand.SKU() != SKUHostExpand || post.SKU() != SKUHostPost {
		t.Fatalf("skus %v %v", expand.SKU(), post.SKU())
	}
	e := make([]BF16, tt*c)
	for i := range e {
		e[i] = BF16FromFloat32(float32(i%13)*0.25 - 1.5)
	}
	r := make([]BF16, tt*n*c)
	if err := expand.Run(DefaultStream, Workspace{}, &Args{Embedding: BF16s(e), OutResidual: BF16s(r)}); err != nil {
		t.Fatal(err)
	}
	for i := range r {
		tok, x := i/(n*c), i%c
		if r[i] != e[tok*c+x] {
			t.Fatalf("expand: r[%d] = %#x, want %#x", i, r[i], e[tok*c+x])
		}
		r[i] = BF16FromFloat32(r[i].Float32() + float32(i/c%n)) // stream s of a token holds e + s
	}
	x := make([]BF16, tt*c)
	for i := range x {
		x[i] = BF16FromFloat32(2)
	}
	postMix := make([]float32, tt*n)
	for i := range postMix {
		postMix[i] = 0.5
	}
	perm := []int{2, 0, 3, 1} // out stream k reads stream perm[k]
	comb := make([]float32, tt*n*n)
	for tok := 0; tok < tt; tok++ {
		for k := 0; k < n; k++ {
			comb[(tok*n+perm[k])*n+k] = 1 // out[k] = sum_j comb[j][k] R[j]
		}
	}
	out := make([]BF16, tt*n*c)
	args := Args{LayerOutput: BF16s(x), Residual: BF16s(r), PostMix: F32(postMix), CombMix: F32(comb), OutResidual: BF16s(out)}
	if err := post.Run(DefaultStream, Workspace{}, &args); err != nil {
		t.Fatal(err)
	}
	for tok := 0; tok < tt; tok++ {
		for k := 0; k < n; k++ {
			for xx := 0; xx < c; xx++ {
				want := BF16FromFloat32(r[(tok*n+perm[k])*c+xx].Float32() + 1)
				if got := out[(tok*n+k)*c+xx]; got != want {
					t.Fatalf("t=%d k=%d x=%d: %#x, want %#x", tok, k, xx, got, want)
				}
			}
		}
	}
}

func TestBoundaryIsCollapseThenMix(t *testing.T) {
	// The V4.1 boundary (OpBoundary with DescFlagShifted) is its critical part
	// (OpBoundaryCollapse: post, collapse with the carried pre, RMSNorm) and its mix part
	// (OpBoundaryMix on the new residual); the host backend runs the same row steps, so the
	// outputs are bit-identical. Exercises desc.NormEps/NormScale and args.PreMix/OutPreMix,
	// the fields after args.tokens.
	maxT, tt, n, c := 4, 3, 4, 64
	nn, k := n*n+2*n, n*c
	desc := func(op Op, flags uint32) *Desc {
		d := mustDesc(t, op, int64(maxT), int32(n), int64(c))
		d.Flags, d.NormEps, d.NormScale = flags, 1e-5, 0.75
		return d
	}
	fused := mustSelect(t, desc(OpBoundary, DescFlagShifted|DescFlagNorm), hostPref())
	collapse := mustSelect(t, desc(OpBoundaryCollapse, DescFlagNorm), hostPref())
	mix := mustSelect(t, desc(OpBoundaryMix, 0), hostPref())
	if fused.SKU() != SKUHostBoundary || collapse.SKU() != SKUHostBoundaryCollapse || mix.SKU() != SKUHostBoundaryMix {
		t.Fatalf("skus %v %v %v", fused.SKU(), collapse.SKU(), mix.SKU())
	}
	if d := fused.Desc(); d.NormEps != 1e-5 || d.NormScale != 0.75 || d.Flags != DescFlagShifted|DescFlagNorm {
		t.Errorf("resolved desc %+v", d)
	}
	y, r := bf16Values(tt*c, 31, -2, 2), bf16Values(tt*n*c, 32, -2, 2)
	postMix, combMix, preMix := values(tt*n, 33, 0, 2), values(tt*n*n, 34, 0, 0.5), values(tt*n, 35, 0, 1)
	w := bf16Values(c, 36, 0.5, 1.5)
	fn, scale, base := values(nn*k, 37, -0.05, 0.05), []float32{0.5, 0.25, 0.125}, values(nn, 38, -0.5, 0.5)

	type outs struct {
		h, x             []BF16
		post, comb, pre2 []float32
	}
	newOuts := func() outs {
		return outs{make([]BF16, tt*n*c), make([]BF16, tt*c), make([]float32, tt*n), make([]float32, tt*n*n), make([]float32, tt*n)}
	}
	a, b := newOuts(), newOuts()
	err := fused.Run(DefaultStream, Workspace{}, &Args{LayerOutput: BF16s(y, int64(tt), int64(c)),
		Residual: BF16s(r, int64(tt), int64(n), int64(c)), PostMix: F32(postMix, int64(tt), int64(n)),
		CombMix: F32(combMix), PreMix: F32(preMix, int64(tt), int64(n)), Fn: F32(fn), Scale: F32(scale),
		Base: F32(base), NormWeight: BF16s(w), OutResidual: BF16s(a.h), OutLayerInput: BF16s(a.x),
		OutPostMix: F32(a.post), OutCombMix: F32(a.comb), OutPreMix: F32(a.pre2, int64(tt), int64(n))})
	if err != nil {
		t.Fatal(err)
	}
	err = collapse.Run(DefaultStream, Workspace{}, &Args{LayerOutput: BF16s(y, int64(tt), int64(c)),
		Residual: BF16s(r), PostMix: F32(postMix), CombMix: F32(combMix), PreMix: F32(preMix),
		NormWeight: BF16s(w), OutResidual: BF16s(b.h), OutLayerInput: BF16s(b.x)})
	if err != nil {
		t.Fatal(err)
	}
	err = mix.Run(DefaultStream, Workspace{}, &Args{Residual: BF16s(b.h, int64(tt), int64(n), int64(c)), Fn: F32(fn),
		Scale: F32(scale), Base: F32(base), OutPostMix: F32(b.post), OutCombMix: F32(b.comb), OutPreMix: F32(b.pre2)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("OpBoundary (shifted) differs from OpBoundaryCollapse + OpBoundaryMix:\n%v\n%v", a, b)
	}
	nonzero := false
	for _, v := range a.pre2 {
		nonzero = nonzero || v != 0
	}
	if !nonzero {
		t.Error("out_pre_mix was not written")
	}
	// PreMix is only taken in shifted mode: a V4 boundary reports it as not used.
	v4 := mustSelect(t, desc(OpBoundary, DescFlagNorm), hostPref())
	wantError(t, "V4 pre_mix", v4.CanImplement(&Args{PreMix: F32(preMix)}), StatusBadParamValue, "args.pre_mix is set")
}

func TestBackwardOpsAndGradAccumulate(t *testing.T) {
	// A6' (expand backward): dE[t,:] = sum_i dR[t,i,:], exact for quarter steps. The gradient
	// fields sit after args.tokens; GradAccumulate adds to the output instead of overwriting it.
	tt, n, c := 3, 4, 16
	g := make([]BF16, tt*n*c)
	sum := make([]float32, tt*c)
	for i := range g {
		v := float32(i%7)*0.25 - 0.75
		g[i] = BF16FromFloat32(v)
		sum[i/(n*c)*c+i%c] += v
	}
	expand := mustSelect(t, mustDesc(t, OpExpandBackward, int64(tt), int32(n), int64(c)), hostPref())
	if expand.SKU() != SKUHostExpandBackward {
		t.Fatalf("sku %v", expand.SKU())
	}
	dE := make([]BF16, tt*c)
	for i := range dE {
		dE[i] = BF16FromFloat32(float32(math.NaN())) // overwritten, never read
	}
	args := Args{GradResidual: BF16s(g, int64(tt), int64(n), int64(c)), OutGradEmbedding: BF16s(dE, int64(tt), int64(c))}
	if err := expand.Run(DefaultStream, Workspace{}, &args); err != nil {
		t.Fatal(err)
	}
	args.GradAccumulate = GradAccumulateEmbedding
	if err := expand.Run(DefaultStream, Workspace{}, &args); err != nil {
		t.Fatal(err)
	}
	for i, v := range dE {
		if v.Float32() != 2*sum[i] {
			t.Fatalf("dE[%d] = %v, want %v (twice the sum: overwrite, then accumulate)", i, v.Float32(), 2*sum[i])
		}
	}
	args.GradAccumulate = GradAccumulateFn // an output A6' does not write
	wantError(t, "accumulate bit", expand.Run(DefaultStream, Workspace{}, &args), StatusBadParamValue)

	// A4' (post backward): dX[t,:] = sum_k post[t,k] dout[t,k,:]; the four outputs by name.
	post := mustSelect(t, mustDesc(t, OpPostBackward, int64(tt), int32(n), int64(c)), hostPref())
	x, r := bf16Values(tt*c, 51, -2, 2), bf16Values(tt*n*c, 52, -2, 2)
	pm, cm := values(tt*n, 53, 0, 2), values(tt*n*n, 54, 0, 1)
	dX, dR, dP, dC := make([]BF16, tt*c), make([]BF16, tt*n*c), make([]float32, tt*n), make([]float32, tt*n*n)
	err := post.Run(DefaultStream, Workspace{}, &Args{LayerOutput: BF16s(x, int64(tt), int64(c)), Residual: BF16s(r),
		PostMix: F32(pm), CombMix: F32(cm), GradResidual: BF16s(g), OutGradLayerOutput: BF16s(dX),
		OutGradResidual: BF16s(dR), OutGradPostMix: F32(dP), OutGradCombMix: F32(dC)})
	if err != nil {
		t.Fatal(err)
	}
	for tk := 0; tk < tt; tk++ {
		for col := 0; col < c; col++ {
			want := 0.0
			for k := 0; k < n; k++ {
				want += float64(pm[tk*n+k]) * float64(g[(tk*n+k)*c+col].Float32())
			}
			if got := float64(dX[tk*c+col].Float32()); math.Abs(got-want) > math.Abs(want)/128+1e-6 {
				t.Fatalf("dX[%d,%d] = %v, want %v", tk, col, got, want)
			}
		}
	}
}

func TestOnePlanFromManyGoroutines(t *testing.T) {
	b, n, c := 4, 4, 32
	plan := mustSelect(t, mustDesc(t, OpStaticLayer, int64(b), int32(n), int64(c)), hostPref())
	x := values(b*n*c, 7, -1, 1)
	w := make([]BF16, c)
	for i := range w {
		w[i] = BF16FromFloat32(1.25)
	}
	hp, hq, hr := values(n, 8, -1, 1), values(n, 9, -1, 1), values(n*n, 10, -1, 1)
	run := func() ([]float32, error) {
		out := make([]float32, b*n*c)
		err := plan.Run(DefaultStream, Workspace{}, &Args{Residual: F32(x), NormWeight: BF16s(w), HPre: F32(hp), HPost: F32(hq), HRes: F32(hr), OutResidual: F32(out)})
		return out, err
	}
	first, err := run()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([][]float32, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			results[i], errs[i] = run()
		}(i)
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for j := range first {
			if math.Float32bits(results[i][j]) != math.Float32bits(first[j]) {
				t.Fatalf("goroutine %d: out[%d] = %v, first run %v (host plans are deterministic)", i, j, results[i][j], first[j])
			}
		}
	}
}

func TestCUDAPlanWhenADeviceIsPresent(t *testing.T) {
	devices, err := CUDADeviceCount()
	if err != nil {
		t.Fatal(err)
	}
	if devices == 0 {
		t.Log("no CUDA device: only host plans were run (the tests above)")
		return
	}
	// A CUDA plan: selected and queried; Go slices (host memory) are refused by its
	// memory-space check.
	b, n, c := 2, 4, 64
	plan := mustSelect(t, mustDesc(t, OpStaticLayer, int64(b), int32(n), int64(c)), nil)
	if plan.SKU().IsHost() || plan.PrecisionGuarantee().Accumulator != DtypeFP32 {
		t.Fatalf("backend ANY with %d device(s): %v %+v", devices, plan.SKU(), plan.PrecisionGuarantee())
	}
	args := Args{Residual: F32(make([]float32, b*n*c)), NormWeight: BF16s(make([]BF16, c)), HPre: F32(make([]float32, n)),
		HPost: F32(make([]float32, n)), HRes: F32(make([]float32, n*n)), OutResidual: F32(make([]float32, b*n*c))}
	if err := plan.CanImplement(&args); !errors.Is(err, &Error{Status: StatusBadParamMemorySpace}) {
		t.Fatalf("host slices to a CUDA plan: %v", err)
	}
	t.Logf("CUDA plan %v selected and checked; runs with device memory are tested by the C++ CUDA suites", plan.SKU())
}
