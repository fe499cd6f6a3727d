#!/usr/bin/env python3
"""Side-by-side: libmhc (mhc-bench JSON) against the docs/numerics.md formulas in PyTorch eager and
torch.compile, each captured in a CUDA graph, on the same GPU. A backward op is compared as a
training step: forward + backward of the formulas against libmhc's forward + backward, both the
mhc-bench rows (added) and, when the Python package loads, the same step through `mhc.torch`'s
autograd in this process and CUDA graph (the ratios are taken against this one then).

    python3 bench/compare_torch.py --json gpu-out/bench.json [--mode max-autotune-no-cudagraphs]
                                   [--ops pre,post,static_layer] [--max-tokens 16384]
"""
import argparse
import json

import torch


def pre(R, fn, scale, base, n, rms_eps=1e-6, pre_eps=1e-6, sk_eps=1e-6, post_mult=2.0, repeat=20):
    T = R.shape[0]
    x = R.reshape(T, -1).float()
    r = torch.rsqrt(x.square().mean(-1, keepdim=True) + rms_eps)
    mix = (x @ fn.t()) * r
    pre_g = torch.sigmoid(mix[:, :n] * scale[0] + base[:n]) + pre_eps
    post = post_mult * torch.sigmoid(mix[:, n:2 * n] * scale[1] + base[n:2 * n])
    c = (mix[:, 2 * n:] * scale[2] + base[2 * n:]).view(T, n, n)
    c = torch.softmax(c, dim=-1) + sk_eps
    c = c / (c.sum(-2, keepdim=True) + sk_eps)
    for _ in range(repeat - 1):
        c = c / (c.sum(-1, keepdim=True) + sk_eps)
        c = c / (c.sum(-2, keepdim=True) + sk_eps)
    y = (pre_g.unsqueeze(-1) * R.float()).sum(1).to(torch.bfloat16)
    return post, c, y


def head(R, fn, scale, base, n, rms_eps=1e-6, pre_eps=1e-6):
    T = R.shape[0]
    x = R.reshape(T, -1).float()
    r = torch.rsqrt(x.square().mean(-1, keepdim=True) + rms_eps)
    pre_g = torch.sigmoid((x @ fn.t()) * r * scale[0] + base) + pre_eps
    return (pre_g.unsqueeze(-1) * R.float()).sum(1).to(torch.bfloat16)


def post_op(X, R, post, comb):
    out = post.unsqueeze(-1) * X.float().unsqueeze(1) + torch.einsum("tjk,tjc->tkc", comb, R.float())
    return out.to(torch.bfloat16)


def static_layer(x, w, h_pre, h_post, h_res, eps=1e-5, iters=20):
    s_pre, s_post = torch.sigmoid(h_pre), 2 * torch.sigmoid(h_post)
    M = torch.exp(h_res - h_res.max(-1, keepdim=True).values)
    for _ in range(iters):
        M = M / M.sum(-1, keepdim=True)
        M = M / M.sum(-2, keepdim=True)
    y = torch.einsum("i,bic->bc", s_pre, x)
    yn = y * torch.rsqrt(y.square().mean(-1, keepdim=True) + eps) * w.float()
    return torch.einsum("ij,bjc->bic", M, x) + s_post[None, :, None] * yn[:, None, :]


def train_step(forward, inputs):
    """Forward and backward of `forward` (the formulas above) as one step: the gradients of its
    differentiable inputs (positions `inputs`) for the given gradients of its outputs, the way a
    training step runs it (torch.autograd.grad: no retain_graph, nothing kept between steps)."""
    def step(*args, grads, **kw):
        outs = forward(*args, **kw)
        outs = outs if isinstance(outs, tuple) else (outs,)
        return torch.autograd.grad(outs, [args[i] for i in inputs], grads)
    return step


# op -> (forward formula, the positions of its differentiable inputs)
TRAIN = {"pre_backward": (pre, (0, 1, 2, 3)), "head_backward": (head, (0, 1, 2, 3)),
         "post_backward": (post_op, (0, 1, 2, 3))}


def library_forwards():
    """op -> libmhc's forward through mhc.torch with the formula's arguments and outputs (the
    package's autograd runs the backward op), or {} when the package does not load."""
    try:
        import mhc.torch as mt
    except (ImportError, OSError) as e:
        print(f"mhc.torch not loaded ({e}): the libmhc column is the mhc-bench rows only")
        return {}

    def lib_pre(R, fn, scale, base, n):
        x, post, comb = mt.pre(R, fn, scale, base)
        return post, comb, x  # the formula's order

    return {"pre_backward": lib_pre,
            "head_backward": lambda R, fn, scale, base, n: mt.head(R, fn, scale[:1], base),
            "post_backward": lambda X, R, post, comb: mt.post(X, R, post, comb)}


def make_train_inputs(op, T, n, C, dev):
    fwd = op[:-len("_backward")]
    args, kw = make_inputs(fwd, T, n, C, dev)
    args = tuple(a.detach().requires_grad_(i in TRAIN[op][1]) for i, a in enumerate(args))
    with torch.no_grad():
        outs = TRAIN[op][0](*args, **kw)
    outs = outs if isinstance(outs, tuple) else (outs,)
    g = torch.Generator(device=dev).manual_seed(1)
    kw["grads"] = tuple((torch.rand(o.shape, device=dev, generator=g) - 0.5).to(o.dtype) for o in outs)
    return args, kw


def make_inputs(op, T, n, C, dev):
    K = n * C
    g = torch.Generator(device=dev).manual_seed(0)
    u = lambda *s, lo=-1.0, hi=1.0: (torch.rand(*s, device=dev, generator=g) * (hi - lo) + lo)
    if op in ("pre", "head"):
        N = n * (n + 2) if op == "pre" else n
        return (u(T, n, C, lo=-2, hi=2).to(torch.bfloat16), u(N, K, lo=-(3 / K) ** 0.5, hi=(3 / K) ** 0.5),
                u(3, lo=0.5, hi=1.5), u(N)), dict(n=n)
    if op == "post":
        return (u(T, C, lo=-2, hi=2).to(torch.bfloat16), u(T, n, C, lo=-2, hi=2).to(torch.bfloat16),
                u(T, n, lo=0.05, hi=2), u(T, n, n, lo=0.01, hi=1)), {}
    return (u(T, n, C, lo=-2, hi=2), u(C, lo=0.5, hi=1.5).to(torch.bfloat16), u(n), u(n), u(n, n, lo=-2, hi=2)), {}


def graph_time_us(fn, args, kw, reps=50):
    fn(*args, **kw)
    torch.cuda.synchronize()
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        for _ in range(3):
            fn(*args, **kw)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn(*args, **kw)
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        g.replay()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True, help="mhc-bench --json output")
    ap.add_argument("--mode", default="max-autotune-no-cudagraphs")
    ap.add_argument("--ops", default="pre,head,post,static_layer,pre_backward,head_backward,post_backward")
    ap.add_argument("--max-tokens", type=int, default=16384)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False  # the reference GEMM of docs/numerics.md is fp32
    data = json.load(open(a.json))
    fns = {"pre": pre, "head": head, "post": post_op, "static_layer": static_layer}
    peers = {}  # (op, T, n, C) -> (eager us, compile us): each shape timed once, every libmhc SKU compared
    # A backward op is compared as a training step: libmhc's forward row of the same shape plus its
    # backward row, against forward + backward of the formulas (eager autograd; torch.compile's
    # compiled forward and backward), each step captured in one CUDA graph.
    forward_us = {(r["op"], r["T"], r["n"], r["C"]): r["us"] for r in data["results"]
                  if r.get("w", "tf32") == "tf32" and r["op"] in fns}
    print(f"device: {data['device']}, copy {data['copy_gbps']:.0f} GB/s; torch {torch.__version__}, compile mode {a.mode}")
    lib_forwards = library_forwards() if any(op in TRAIN for op in a.ops.split(",")) else {}
    print(f"{'op':13} {'T':>6} {'n':>2} {'C':>5} {'sku':36} {'libmhc us':>10} {'in-process':>10} {'eager us':>10} "
          f"{'compile us':>11} {'x eager':>8} {'x compile':>9}")
    for r in data["results"]:
        if (r["op"] not in a.ops.split(",") or r["T"] > a.max_tokens or r.get("w", "tf32") != "tf32"
                or r.get("dtype") == "bf16" and r["op"] == "static_layer"):
            continue
        key = (r["op"], r["T"], r["n"], r["C"])
        us = r["us"]
        if r["op"] in TRAIN:
            fwd = forward_us.get((r["op"][:-len("_backward")], r["T"], r["n"], r["C"]))
            if fwd is None:
                print(f"{r['op']:13} {r['T']:6} {r['n']:2} {r['C']:5}: no forward row of this shape in the JSON, skipped")
                continue
            us += fwd
            if key not in peers:
                args, kw = make_train_inputs(r["op"], r["T"], r["n"], r["C"], "cuda")
                forward, inputs = TRAIN[r["op"]]
                lib = lib_forwards.get(r["op"])
                peers[key] = (graph_time_us(train_step(forward, inputs), args, kw),
                              graph_time_us(train_step(torch.compile(forward, mode=a.mode), inputs), args, kw),
                              graph_time_us(train_step(lib, inputs), args, kw) if lib else None)
        elif key not in peers:
            args, kw = make_inputs(r["op"], r["T"], r["n"], r["C"], "cuda")
            peers[key] = (graph_time_us(fns[r["op"]], args, kw),
                          graph_time_us(torch.compile(fns[r["op"]], mode=a.mode), args, kw), None)
        eager, compiled, inproc = peers[key]
        name = r["op"] + ("+fwd" if r["op"] in TRAIN else "")
        base = inproc if inproc else us  # the ratios against the same process's libmhc where it ran
        shown = f"{inproc:10.2f}" if inproc else f"{'-':>10}"
        print(f"{name:13} {r['T']:6} {r['n']:2} {r['C']:5} {r['sku']:36} {us:10.2f} {shown} {eager:10.1f} "
              f"{compiled:11.1f} {eager / base:8.1f} {compiled / base:9.1f}", flush=True)


if __name__ == "__main__":
    main()
