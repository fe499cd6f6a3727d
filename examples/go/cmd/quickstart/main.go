// The static hyper-connection layer (OpStaticLayer, seed 002's HyperConnectionPlan) on the
// host backend: select a plan once, check the tensors, run it, read what it promises.
package main

import (
	"errors"
	"fmt"
	"log"

	"mhc"
)

func main() {
	const b, n, c = 2, 4, 64
	desc, err := mhc.NewDesc(mhc.OpStaticLayer)
	if err != nil {
		log.Fatal(err)
	}
	desc.Tokens, desc.N, desc.Hidden = b, n, c
	pref := mhc.DefaultPreference()
	pref.Backends = mhc.BackendHost
	plan, err := mhc.Select(mhc.DefaultStream, &desc, &pref)
	if err != nil {
		log.Fatal(err)
	}
	defer plan.Close()

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

	args := mhc.Args{
		Residual:    mhc.F32(x),
		NormWeight:  mhc.BF16s(w),
		HPre:        mhc.F32(hPre),
		HPost:       mhc.F32(hPost),
		HRes:        mhc.F32(hRes),
		OutResidual: mhc.F32(out),
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

	// Errors carry the status and the library's message; errors.Is tests the category.
	bad := desc
	bad.N = 33
	if _, err := mhc.Select(mhc.DefaultStream, &bad, nil); errors.Is(err, mhc.ErrBadParam) {
		fmt.Println("n = 33 refused:", err)
	} else {
		log.Fatalf("n = 33 must be refused, got %v", err)
	}
}
