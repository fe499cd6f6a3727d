// The static hyper-connection layer (OpStaticLayer) on the host backend: select a plan once for
// up to maxB tokens, list the tensors it takes, run a batch of b tokens given with their shapes,
// read what the plan promises.
package main

import (
	"errors"
	"fmt"
	"log"

	mhc "github.com/libmhc/libmhc/bindings/go"
)

func main() {
	const maxB, b, n, c = 8, 2, 4, 64
	desc, err := mhc.NewDesc(mhc.OpStaticLayer)
	if err != nil {
		log.Fatal(err)
	}
	desc.Tokens, desc.N, desc.Hidden = maxB, n, c // Tokens: the largest batch the plan runs
	pref := mhc.DefaultPreference()
	pref.Backends = mhc.BackendHost
	plan, err := mhc.Select(mhc.DefaultStream, &desc, &pref)
	if err != nil {
		log.Fatal(err)
	}
	defer plan.Close()
	fmt.Printf("%v takes:\n", desc.Op)
	for _, ti := range plan.Tensors() {
		fmt.Printf("  %v\n", ti)
	}

	// x [B, n, C] fp32, rmsnorm weight [C] bf16, h_pre [n], h_post [n], h_res [n, n] fp32.
	x := make([]float32, b*n*c)
	for i := range x {
		x[i] = (float32(i%7) - 3) * 0.25
	}
	w := make([]mhc.BF16, c)
	for i := range w {
		w[i] = mhc.BF16FromFloat32(1)
	}
	hPre, hPost, hRes := make([]float32, n), make([]float32, n), make([]float32, n*n)
	for i := 0; i < n; i++ {
		hRes[i*n+i] = 2
	}
	out := make([]float32, b*n*c)

	// Each tensor with its shape: the binding checks them against the plan, and B = b, read
	// from the shapes, is this run's T.
	args := mhc.Args{
		Residual:    mhc.F32(x, b, n, c),
		NormWeight:  mhc.BF16s(w, c),
		HPre:        mhc.F32(hPre, n),
		HPost:       mhc.F32(hPost, n),
		HRes:        mhc.F32(hRes, n, n),
		OutResidual: mhc.F32(out, b, n, c),
	}
	if err := plan.CanImplement(&args); err != nil {
		log.Fatal(err)
	}
	if err := plan.Run(mhc.DefaultStream, mhc.Workspace{}, &args); err != nil {
		log.Fatal(err)
	}

	g := plan.PrecisionGuarantee()
	fmt.Printf("sku %v workspace %d bytes\n", plan.SKU(), plan.WorkspaceSize())
	fmt.Printf("math %v accumulator %v flags %#x\n", g.MathPrecision, g.Accumulator, uint32(g.Flags))
	fmt.Printf("out[0, 0, 0:4] = %v\n", out[:4])

	// Errors carry the status and a message; errors.Is tests the code or the category.
	transposed := args
	transposed.Residual = mhc.F32(x, b, c, n)
	if err := plan.CanImplement(&transposed); errors.Is(err, &mhc.Error{Status: mhc.StatusBadParamShape}) {
		fmt.Println("x as [B, C, n] refused:", err)
	} else {
		log.Fatalf("x as [B, C, n] must be refused, got %v", err)
	}
	bad := desc
	bad.N = 33
	if _, err := mhc.Select(mhc.DefaultStream, &bad, nil); errors.Is(err, mhc.ErrBadParam) {
		fmt.Println("n = 33 refused:", err)
	} else {
		log.Fatalf("n = 33 must be refused, got %v", err)
	}
}
