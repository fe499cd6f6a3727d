"""Host time per call that mhc.torch adds above the raw C call, on a CUDA device.

mt.post(..., out=) on small tensors (T = 1, n = 4, C = 64: the kernel is negligible, the call is
host-bound) against mhc_plan_run called directly on the same plan with a prepared mhc_args_t.
Best of 5 rounds of 2000 calls each; prints both and the difference (the target is <= 5 us).

  PYTHONPATH=bindings/python MHC_LIBRARY=<build>/libmhc.so.1 python3 bench/torch_op_overhead.py
"""
import ctypes
import time

import torch

import mhc
import mhc.torch as mt


def per_call_us(f, reps=2000, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t0) / reps)
        torch.cuda.synchronize()
    return best * 1e6


def main():
    if not torch.cuda.is_available() or mhc.cuda_device_count() == 0:
        raise SystemExit("no CUDA device (or a host-only libmhc): nothing to time")
    n, C = 4, 64
    g = torch.Generator().manual_seed(1)
    X = torch.rand(1, C, generator=g).to(torch.bfloat16).cuda()
    R = torch.rand(1, n, C, generator=g).to(torch.bfloat16).cuda()
    post = torch.rand(1, n, generator=g).cuda()
    comb = torch.rand(1, n, n, generator=g).cuda()
    out = torch.empty(1, n, C, dtype=torch.bfloat16, device="cuda")
    mt.post(X, R, post, comb, out=out)
    plan = mt.plan_for("post", X, R, post, comb)
    args = mhc.Args(struct_size=ctypes.sizeof(mhc.Args), layer_output=X.data_ptr(), residual=R.data_ptr(),
                    post_mix=post.data_ptr(), comb_mix=comb.data_ptr(), out_residual=out.data_ptr(), tokens=1)
    lib, raw, stream = plan._lib, plan._raw, torch.cuda.current_stream().cuda_stream
    raw_us = per_call_us(lambda: lib.mhc_plan_run(raw, stream, None, 0, ctypes.byref(args)))
    op_us = per_call_us(lambda: mt.post(X, R, post, comb, out=out))
    print("%s, torch %s, sku %s" % (torch.cuda.get_device_name(), torch.__version__, mt.sku("post", X, R, post, comb)))
    print("raw mhc_plan_run %.2f us, mt.post(out=) %.2f us: +%.2f us per call" % (raw_us, op_us, op_us - raw_us))


if __name__ == "__main__":
    main()
