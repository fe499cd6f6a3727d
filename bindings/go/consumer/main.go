// pre + post of one DeepSeek-V4 layer through the Go binding, on the host backend; prints the SKUs.
package main

import (
	"fmt"
	"log"
	"math"

	mhc "github.com/libmhc/libmhc/bindings/go"
)

func main() {
	const t, n, c = 2, 4, 64
	const nn, k = n * (n + 2), n * c
	host := mhc.DefaultPreference()
	host.Backends = mhc.BackendHost
	plan := func(op mhc.Op) *mhc.Plan {
		d, err := mhc.NewDesc(op)
		if err != nil {
			log.Fatal(err)
		}
		d.Tokens, d.N, d.Hidden = t, n, c
		p, err := mhc.Select(mhc.DefaultStream, &d, &host)
		if err != nil {
			log.Fatal(err)
		}
		return p
	}
	pre, post := plan(mhc.OpPre), plan(mhc.OpPost)
	defer pre.Close()
	defer post.Close()

	r := make([]mhc.BF16, t*n*c)
	for i := range r {
		r[i] = mhc.BF16FromFloat32(float32(i%17-8) / 8)
	}
	fn := make([]float32, nn*k)
	for i := range fn {
		fn[i] = float32(i%13-6) / 256
	}
	postMix, combMix, x := make([]float32, t*n), make([]float32, t*n*n), make([]mhc.BF16, t*c)
	err := pre.Run(mhc.DefaultStream, mhc.Workspace{}, &mhc.Args{Residual: mhc.BF16s(r, t, n, c), Fn: mhc.F32(fn),
		Scale: mhc.F32([]float32{0.5, 0.25, 0.125}), Base: mhc.F32(make([]float32, nn)),
		OutPostMix: mhc.F32(postMix), OutCombMix: mhc.F32(combMix), OutLayerInput: mhc.BF16s(x)})
	if err != nil {
		log.Fatal(err)
	}
	rNext := make([]mhc.BF16, t*n*c)
	err = post.Run(mhc.DefaultStream, mhc.Workspace{}, &mhc.Args{LayerOutput: mhc.BF16s(x, t, c), Residual: mhc.BF16s(r),
		PostMix: mhc.F32(postMix), CombMix: mhc.F32(combMix), OutResidual: mhc.BF16s(rNext, t, n, c)})
	if err != nil {
		log.Fatal(err)
	}
	sum := float32(0)
	for _, v := range combMix[:n*n] {
		sum += v
	}
	fmt.Printf("libmhc %s: pre %v post %v; comb rows sum to %.3f (n = %d)\n", mhc.LibraryVersionString(), pre.SKU(),
		post.SKU(), sum, n)
	if math.Abs(float64(sum-n)) > 1e-2 {
		log.Fatal("comb_mix is not doubly stochastic")
	}
}
