"""Host time per call that mhc.torch adds above the raw C call, on a CUDA device (or, with --cpu,
on CPU tensors through the host backend: the same Python path, a different bare call).

mt.post(..., out=) on small tensors (T = 1, n = 4, C = 64: the kernel is negligible, the call is
host-bound) against mhc_plan_run called directly on the same plan with a prepared mhc_args_t.
Best of 5 rounds of 2000 calls each; prints both and the difference (the target is <= 5 us).

  PYTHONPATH=bindings/python MHC_LIBRARY=<build>/libmhc.so.1 python3 bench/torch_op_overhead.py [--cpu]
"""
import ctypes
import sys
import time

import torch

import mhc
import mhc.torch as mt


def per_call_us(f, cuda, reps=2000, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - t0) / reps)
        if cuda:
            torch.cuda.synchronize()
    return best * 1e6


def main():
    cuda = "--cpu" not in sys.argv[1:]
    if cuda and (not torch.cuda.is_available() or mhc.cuda_device_count() == 0):
        raise SystemExit("no CUDA device (or a host-only libmhc): nothing to time (--cpu times the host backend)")
    dev = "cuda" if cuda else "cpu"
    n, C = 4, 64
    g = torch.Generator().manual_seed(1)
    X = torch.rand(1, C, generator=g).to(torch.bfloat16).to(dev)
    R = torch.rand(1, n, C, generator=g).to(torch.bfloat16).to(dev)
    post = torch.rand(1, n, generator=g).to(dev)
    comb = torch.rand(1, n, n, generator=g).to(dev)
    out = torch.empty(1, n, C, dtype=torch.bfloat16, device=dev)
    mt.post(X, R, post, comb, out=out)
    plan = mt.plan_for("post", X, R, post, comb)
    args = mhc.Args(struct_size=ctypes.sizeof(mhc.Args), layer_output=X.data_ptr(), residual=R.data_ptr(),
                    post_mix=post.data_ptr(), comb_mix=comb.data_ptr(), out_residual=out.data_ptr(), tokens=1)
    lib, raw = plan._lib, plan._raw
    stream = torch.cuda.current_stream().cuda_stream if cuda else None
    raw_us = per_call_us(lambda: lib.mhc_plan_run(raw, stream, None, 0, ctypes.byref(args)), cuda)
    op_us = per_call_us(lambda: mt.post(X, R, post, comb, out=out), cuda)
    where = torch.cuda.get_device_name() if cuda else "CPU tensors (host backend)"
    print("%s, torch %s, sku %s" % (where, torch.__version__, mt.sku("post", X, R, post, comb)))
    print("raw mhc_plan_run %.2f us, mt.post(out=) %.2f us: +%.2f us per call" % (raw_us, op_us, op_us - raw_us))


if __name__ == "__main__":
    main()
