"""mhc.torch against the formulas (tests/reference.py, float64), torch.library.opcheck on every op,
gradients of the differentiable ops against torch autograd of the formulas, a torch.compile
(fullgraph) model of two layers. CPU tensors run on libmhc's host backend; with a CUDA device (and
a libmhc built with nvcc) every test runs on CUDA tensors too, and the CUDA graph and overhead
tests run.

Run from anywhere with the package installed (pip install ./bindings/python), or with
PYTHONPATH=bindings/python and MHC_LIBRARY=<build>/libmhc.so.1:  python -m pytest bindings/python/tests
"""
import os
import sys

import pytest

torch = pytest.importorskip("torch")

import mhc  # noqa: E402
import mhc.torch as mt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402

F64 = torch.float64
CUDA = torch.cuda.is_available() and mhc.cuda_device_count() > 0
DEVICES = ["cpu"] + (["cuda"] if CUDA else [])
T, N_, C = 5, 4, 64
NN, K = N_ * (N_ + 2), N_ * C
FP32 = {"weight_precision": "fp32"}


def gen(seed):
    g = torch.Generator().manual_seed(seed)

    def u(*shape, lo=-1.0, hi=1.0, dtype=torch.float32):
        return (torch.rand(*shape, generator=g) * (hi - lo) + lo).to(dtype)
    return u


def family_a(device, seed=1, t=T):
    u = gen(seed)
    d = dict(R=u(t, N_, C, lo=-2, hi=2, dtype=torch.bfloat16), fn=u(NN, K, lo=-0.05, hi=0.05),
             scale=torch.tensor([0.5, 0.75, 1.25]), base=u(NN, lo=-0.5, hi=0.5),
             X=u(t, C, lo=-2, hi=2, dtype=torch.bfloat16), post=u(t, N_, lo=0, hi=2), comb=u(t, N_, N_, lo=0, hi=1),
             pre_mix=u(t, N_, lo=0, hi=1), w=u(C, lo=0.5, hi=1.5, dtype=torch.bfloat16),
             E=u(t, C, lo=-2, hi=2, dtype=torch.bfloat16), hfn=u(N_, K, lo=-0.05, hi=0.05),
             hscale=torch.tensor([0.75]), hbase=u(N_, lo=-0.5, hi=0.5))
    return {k: v.to(device) for k, v in d.items()}


def family_b(device, dtype=torch.float32, seed=2):
    u = gen(seed)
    d = dict(x=u(3, N_, 40, lo=-2, hi=2, dtype=dtype), w=u(40, lo=0.5, hi=1.5, dtype=torch.bfloat16),
             h_pre=u(N_), h_post=u(N_), h_res=u(N_, N_, lo=-2, hi=2), F=u(3, 40, lo=-2, hi=2, dtype=dtype))
    return {k: v.to(device) for k, v in d.items()}


def close(got, want, what, rtol, atol=1e-6):
    torch.testing.assert_close(got.cpu().to(F64), want.cpu().to(F64), rtol=rtol, atol=atol, msg=lambda m: what + ": " + m)


def bf16_close(got, want, what):
    """A bf16 output against the fp64 formula: within one bf16 rounding (2^-8 relative)."""
    assert got.dtype == torch.bfloat16, what
    close(got, want, what, rtol=2.0 ** -8, atol=1e-6)


# ---- values --------------------------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("weights", ["fp32", "tf32"])
def test_pre_and_post(device, weights):
    a = family_a(device)
    x, post, comb = mt.pre(a["R"], a["fn"], a["scale"], a["base"], weight_precision=weights)
    wx, wpost, wcomb, _, _ = ref.pre(a["R"], a["fn"], a["scale"], a["base"], weight_precision=weights)
    bf16_close(x, wx, "layer_input")
    tol = 1e-5 if device == "cpu" else 1e-3  # docs/numerics.md: the GPU's fp32 coefficients
    close(post, wpost, "post_mix", tol)
    close(comb, wcomb, "comb_mix", tol)
    r2 = mt.post(a["X"], a["R"], a["post"], a["comb"])
    assert r2.shape == (T, N_, C) and r2.dtype == torch.bfloat16
    bf16_close(r2, ref.post(a["X"], a["R"], a["post"], a["comb"]), "new residual")


@pytest.mark.parametrize("device", DEVICES)
def test_head_and_expand(device):
    a = family_a(device)
    y = mt.head(a["R"], a["hfn"], a["hscale"], a["hbase"], **FP32)
    bf16_close(y, ref.head(a["R"], a["hfn"], a["hscale"], a["hbase"]), "head y")
    h = mt.expand(a["E"], N_)
    assert torch.equal(h.cpu(), a["E"].cpu()[:, None, :].expand(T, N_, C))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["v4", "v4_norm", "v41_norm"])
def test_boundary(device, mode):
    a = family_a(device)
    kw = dict(norm_weight=a["w"] if mode != "v4" else None, pre_mix=a["pre_mix"] if mode == "v41_norm" else None,
              norm_eps=1e-5, norm_scale=0.75)
    got = mt.boundary(a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"], **kw, **FP32)
    want = ref.boundary(a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"], **kw)
    for g, w, what in zip(got, want, ["H", "layer_input", "post_mix", "comb_mix", "pre_mix"]):
        if g.dtype == torch.bfloat16:
            bf16_close(g, w, what)
        else:
            close(g, w, what, 1e-5 if device == "cpu" else 1e-3)


@pytest.mark.parametrize("device", DEVICES)
def test_boundary_split_and_first(device):
    a = family_a(device)
    # V4.1: the shifted boundary is its critical part then its mix part, bit for bit (host)
    fused = mt.boundary(a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"], norm_weight=a["w"],
                        pre_mix=a["pre_mix"])
    H, x = mt.boundary_collapse(a["X"], a["R"], a["post"], a["comb"], a["pre_mix"], norm_weight=a["w"])
    q, c, p = mt.boundary_mix(H, a["fn"], a["scale"], a["base"])
    for f, s in zip(fused, (H, x, q, c, p)):
        if device == "cpu":
            assert torch.equal(f, s)
    wH, wx = ref.boundary_collapse(a["X"], a["R"], a["post"], a["comb"], a["pre_mix"], norm_weight=a["w"])
    bf16_close(H, wH, "H")
    bf16_close(x, wx, "x")
    for shifted in (False, True):
        got = mt.boundary_first(a["E"], a["fn"], a["scale"], a["base"], N_, norm_weight=a["w"], shifted=shifted, **FP32)
        want = ref.boundary_first(a["E"], a["fn"], a["scale"], a["base"], N_, norm_weight=a["w"], shifted=shifted)
        bf16_close(got[0], want[0], "first H")
        bf16_close(got[1], want[1], "first x")
        close(got[3], want[3], "first comb", 1e-5 if device == "cpu" else 1e-3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_static_family(device, dtype):
    b = family_b(device, dtype)
    tol = (1e-6 if device == "cpu" else 1e-4) if dtype == torch.float32 else 2.0 ** -8
    li, rms = mt.static_pre(b["x"], b["w"], b["h_pre"])
    wli, wrms = ref.static_pre(b["x"], b["w"], b["h_pre"])
    assert li.dtype == dtype and rms.dtype == torch.float32
    close(li, wli, "static_pre", tol)
    close(rms, wrms, "rms", 1e-5)
    close(mt.static_post(b["x"], b["F"], b["h_post"], b["h_res"]), ref.static_post(b["x"], b["F"], b["h_post"], b["h_res"]),
          "static_post", tol, 1e-5)
    close(mt.static_layer(b["x"], b["w"], b["h_pre"], b["h_post"], b["h_res"]),
          ref.static_layer(b["x"], b["w"], b["h_pre"], b["h_post"], b["h_res"]), "static_layer", tol, 1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_out_variants_write_the_given_tensors(device):
    a = family_a(device)
    outs = (torch.empty(T, C, dtype=torch.bfloat16, device=device), torch.empty(T, N_, device=device),
            torch.empty(T, N_, N_, device=device), torch.empty(T, NN, device=device), torch.empty(T, device=device))
    got = mt.pre(a["R"], a["fn"], a["scale"], a["base"], out=outs)
    assert got is outs
    x, post, comb = mt.pre(a["R"], a["fn"], a["scale"], a["base"])
    assert torch.equal(outs[0], x) and torch.equal(outs[1], post) and torch.equal(outs[2], comb)
    r = torch.empty(T, N_, C, dtype=torch.bfloat16, device=device)
    assert mt.post(a["X"], a["R"], a["post"], a["comb"], out=r) is r
    assert torch.equal(r, mt.post(a["X"], a["R"], a["post"], a["comb"]))
    with pytest.raises(RuntimeError, match="out out_residual: shape"):
        mt.post(a["X"], a["R"], a["post"], a["comb"], out=torch.empty(T, C, N_, dtype=torch.bfloat16, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_eager_fast_path_matches_the_registered_op(device):
    """From the second call of a key, an eager call writes the mhc_args_t itself (no dispatcher):
    each call's outputs, poisoned first, against the registered op's; optional inputs toggled;
    out tensors that stop fitting after the key is cached are still refused."""
    a = family_a(device)
    poison = lambda t: t.fill_(float("nan"))  # noqa: E731
    A7 = (1e-6, 1e-6, 1e-6, 2.0, 20, "tf32", 1e-6, 1.0)  # the boundary's default options, in schema order
    b = (a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"])
    cases = [  # (public function, its arguments, keyword arguments, the registered op's arguments)
        (mt.post, (a["X"], a["R"], a["post"], a["comb"]), {}, ("post", a["X"], a["R"], a["post"], a["comb"])),
        (mt.expand, (a["E"], N_), {}, ("expand", a["E"], N_)),
        (mt.boundary, b, {}, ("boundary", *b, None, None, *A7)),
        (mt.boundary, b, dict(norm_weight=a["w"]), ("boundary", *b, a["w"], None, *A7)),
        (mt.boundary, b, dict(norm_weight=a["w"], pre_mix=a["pre_mix"]), ("boundary", *b, a["w"], a["pre_mix"], *A7)),
    ]
    for fn, args, kw, registered in cases:
        name = registered[0]
        want = mt.OPS[name](*registered[1:])
        want = [want] if torch.is_tensor(want) else list(want)
        outs = [torch.empty_like(w) for w in want]
        for call in range(3):
            got = fn(*args, **kw)
            got = [got] if torch.is_tensor(got) else list(got)
            for g, w in zip(got, want):
                assert torch.equal(g, w), "%s call %d (new outputs)" % (name, call)
            for o in outs:
                poison(o)
            given = outs[0] if len(outs) == 1 else tuple(outs)
            assert fn(*args, **kw, out=given) is given
            for o, w in zip(outs, want):
                assert torch.equal(o, w), "%s call %d (out=)" % (name, call)
    assert all(f is not None for f in mt._boundary.fast.values()) and len(mt._boundary.fast) >= 6  # it was taken
    wrong = torch.empty(T, C, N_, dtype=torch.bfloat16, device=device)
    with pytest.raises(RuntimeError, match="out out_residual: shape"):
        mt.post(a["X"], a["R"], a["post"], a["comb"], out=wrong)
    need_grad = a["X"].clone().requires_grad_(True)  # recorded for autograd: the registered op
    assert mt.post(need_grad, a["R"], a["post"], a["comb"]).grad_fn is not None


def test_checks_and_errors():
    a = family_a("cpu")
    with pytest.raises(RuntimeError, match=r"fn: shape \[256, 24\] given, \[24, 256\] expected"):
        mt.pre(a["R"], a["fn"].t().contiguous(), a["scale"], a["base"])
    with pytest.raises(RuntimeError, match="residual: torch.float32 given, torch.bfloat16 expected"):
        mt.post(a["X"], a["R"].float(), a["post"], a["comb"])
    with pytest.raises(TypeError, match="unknown option"):
        mt.pre(a["R"], a["fn"], a["scale"], a["base"], rms_epsilon=1e-6)
    with pytest.raises(mhc.BadParamError):  # the library's own check: n = 9
        mt.expand(a["E"], 9)
    # not contiguous inputs are made contiguous
    rt = a["R"].transpose(0, 1).contiguous().transpose(0, 1)
    assert torch.equal(mt.post(a["X"], rt, a["post"], a["comb"]), mt.post(a["X"], a["R"], a["post"], a["comb"]))
    assert mt.sku("pre", a["R"], a["fn"], a["scale"], a["base"]) == "host_fp64_pre"


def test_plans_are_cached_per_shape_and_options():
    a = family_a("cpu")
    mt.clear_cache()
    p1 = mt.plan_for("pre", a["R"], a["fn"], a["scale"], a["base"])
    assert mt.plan_for("pre", a["R"], a["fn"], a["scale"], a["base"]) is p1
    assert mt.plan_for("pre", a["R"], a["fn"], a["scale"], a["base"], rms_eps=1e-20) is not p1
    b = family_a("cpu", t=3)
    assert mt.plan_for("pre", b["R"], b["fn"], b["scale"], b["base"]).desc.tokens == 3


def test_clear_cache_also_forgets_the_eager_path():
    # The eager path caches plan handles per key: after clear_cache() none may be left (a handle
    # of a destroyed plan would run whatever now lives at that address).
    a = family_a("cpu")
    want = [mt.pre(a["R"], a["fn"], a["scale"], a["base"]) for _ in range(3)][-1]  # the 2nd call on is the fast path
    assert any(o.fast for o in mt._OP_OBJECTS)
    mt.clear_cache()
    assert not any(o.fast for o in mt._OP_OBJECTS)
    for _ in range(3):
        got = mt.pre(a["R"], a["fn"], a["scale"], a["base"])
        assert all(torch.equal(g, w) for g, w in zip(got, want))


# ---- opcheck: schema, fake (meta) implementation, autograd registration, AOT dispatch --------------
def _samples(device):
    a = family_a(device, t=3)
    b = family_b(device)
    g = lambda t: t.detach().clone().requires_grad_(True)  # noqa: E731
    cases = [
        ("pre", (g(a["R"]), g(a["fn"]), g(a["scale"]), g(a["base"]), 1e-6, 1e-6, 1e-6, 2.0, 20, "fp32")),
        ("post", (g(a["X"]), g(a["R"]), g(a["post"]), g(a["comb"]))),
        ("head", (g(a["R"]), g(a["hfn"]), g(a["hscale"]), g(a["hbase"]), 1e-6, 1e-6, "tf32")),
        ("expand", (g(a["E"]), N_)),
        ("boundary", (a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"], a["w"], a["pre_mix"],
                      1e-6, 1e-6, 1e-6, 2.0, 20, "tf32", 1e-6, 1.0)),
        ("boundary", (a["X"], a["R"], a["post"], a["comb"], a["fn"], a["scale"], a["base"], None, None,
                      1e-6, 1e-6, 1e-6, 2.0, 20, "tf32", 1e-6, 1.0)),
        ("boundary_collapse", (a["X"], a["R"], a["post"], a["comb"], a["pre_mix"], a["w"], 1e-6, 1.0)),
        ("boundary_mix", (a["R"], a["fn"], a["scale"], a["base"], 1e-6, 1e-6, 1e-6, 2.0, 20, "tf32")),
        ("boundary_first", (a["E"], a["fn"], a["scale"], a["base"], None, N_, True, 1e-6, 1e-6, 1e-6, 2.0, 20, "tf32",
                            1e-6, 1.0)),
        ("static_pre", (g(b["x"]), g(b["w"]), g(b["h_pre"]), 1e-5)),
        ("static_post", (g(b["x"]), g(b["F"]), g(b["h_post"]), g(b["h_res"]), 1e-5, 20)),
        ("static_layer", (g(b["x"]), g(b["w"]), g(b["h_pre"]), g(b["h_post"]), g(b["h_res"]), 1e-5, 20)),
        ("static_pre_backward", (b["x"], b["w"], b["h_pre"], b["F"], 1e-5)),
        ("static_post_backward", (b["x"], b["F"], b["h_post"], b["h_res"], b["x"], 1e-5, 20)),
        ("static_layer_backward", (b["x"], b["w"], b["h_pre"], b["h_post"], b["h_res"], b["x"], 1e-5, 20)),
        ("post_backward", (a["X"], a["R"], a["post"], a["comb"], a["R"])),
        ("expand_backward", (a["R"],)),
        ("pre_backward", (a["R"], a["fn"], a["scale"], a["base"], torch.randn(3, NN, device=device),
                          torch.rand(3, device=device) + 1, a["X"], a["post"], a["comb"], 1e-6, 1e-6, 1e-6, 2.0, 20,
                          "fp32")),
        ("head_backward", (a["R"], a["hfn"], a["hscale"], a["hbase"], torch.randn(3, N_, device=device),
                           torch.rand(3, device=device) + 1, a["X"], 1e-6, 1e-6, "fp32")),
    ]
    return cases


def _out_sample(name, args):
    op = mt.OPS[name]
    res = op(*[x.detach() if torch.is_tensor(x) else x for x in args])
    res = [res] if torch.is_tensor(res) else list(res)
    return [torch.empty_like(r) for r in res]


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck_every_op(device):
    checked = set()
    for name, args in _samples(device):
        torch.library.opcheck(mt.OPS[name], args)
        outs = _out_sample(name, args)
        torch.library.opcheck(mt.OPS[name + "_out"], tuple(x.detach() if torch.is_tensor(x) else x for x in args)
                              + (outs,))
        checked.update((name, name + "_out"))
    assert checked == set(mt.OPS), set(mt.OPS) - checked


# ---- gradients ---------------------------------------------------------------------------------------
def _bf16_grad(shape, seed, device):
    """An incoming gradient whose values are exact in bf16 (the op's bf16 outputs take it as bf16)."""
    return gen(seed)(*shape).to(torch.bfloat16).to(F64).to(device)


def _leaves(*ts):
    return [t.detach().clone().requires_grad_(True) for t in ts]


def _ref_leaves(*ts):
    return [t.detach().cpu().to(F64).requires_grad_(True) for t in ts]


def _compare_grads(got, want, names):
    for g, w, name in zip(got, want, names):
        scale = max(w.abs().max().item(), 1e-30)
        rtol = 2.0 ** -7 if g.dtype == torch.bfloat16 else 1e-4
        close(g, w, "d" + name, rtol, atol=1e-5 * scale)


@pytest.mark.parametrize("device", DEVICES)
def test_post_gradients(device):
    a = family_a(device)
    G = _bf16_grad((T, N_, C), 11, device)
    ins = _leaves(a["X"], a["R"], a["post"], a["comb"])
    (mt.post(*ins).to(F64) * G).sum().backward()
    rins = _ref_leaves(*ins)
    (ref.post(*rins) * G.cpu()).sum().backward()
    _compare_grads([t.grad for t in ins], [t.grad for t in rins], ["X", "R", "post", "comb"])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("n", [1, 4])
def test_pre_gradients(device, n):
    u = gen(21)
    nn, k = n * (n + 2), n * C
    R = u(T, n, C, lo=-2, hi=2, dtype=torch.bfloat16).to(device)
    fn, scale, base = u(nn, k, lo=-0.05, hi=0.05).to(device), torch.tensor([0.5, 0.75, 1.25], device=device), \
        u(nn, lo=-0.5, hi=0.5).to(device)
    G1, G2, G3 = _bf16_grad((T, C), 12, device), u(T, n).to(F64).to(device), u(T, n, n).to(F64).to(device)
    ins = _leaves(R, fn, scale, base)
    x, post, comb = mt.pre(*ins, **FP32)
    ((x.to(F64) * G1).sum() + (post.to(F64) * G2).sum() + (comb.to(F64) * G3).sum()).backward()
    rins = _ref_leaves(R, fn, scale, base)
    wx, wpost, wcomb, _, _ = ref.pre(*rins)
    ((wx * G1.cpu()).sum() + (wpost * G2.cpu()).sum() + (wcomb * G3.cpu()).sum()).backward()
    _compare_grads([t.grad for t in ins], [t.grad for t in rins], ["R", "fn", "scale", "base"])
    if n == 1:  # a 1x1 comb is constant: its logits get exactly 0 (docs/numerics.md)
        assert torch.all(ins[3].grad[2:] == 0)


@pytest.mark.parametrize("device", DEVICES)
def test_head_and_expand_gradients(device):
    a = family_a(device)
    G = _bf16_grad((T, C), 13, device)
    ins = _leaves(a["R"], a["hfn"], a["hscale"], a["hbase"])
    (mt.head(*ins, **FP32).to(F64) * G).sum().backward()
    rins = _ref_leaves(a["R"], a["hfn"], a["hscale"], a["hbase"])
    (ref.head(*rins) * G.cpu()).sum().backward()
    _compare_grads([t.grad for t in ins], [t.grad for t in rins], ["R", "fn_head", "scale_head", "base_head"])
    (e,) = _leaves(a["E"])
    G2 = _bf16_grad((T, N_, C), 14, device)
    (mt.expand(e, N_).to(F64) * G2).sum().backward()
    close(e.grad, G2.sum(1), "dE", 2.0 ** -8)


@pytest.mark.parametrize("device", DEVICES)
def test_a_dropped_output_frees_its_graph(device):
    """No reference cycle through the autograd context: an output dropped by the caller is freed at
    once (not at the next garbage collection), and with it the graph and its saved tensors."""
    import gc
    import weakref
    a, b = family_a(device), family_b(device, torch.float32)
    ops = [lambda: mt.pre(*_leaves(a["R"], a["fn"], a["scale"], a["base"]))[0],
           lambda: mt.post(*_leaves(a["X"], a["R"], a["post"], a["comb"])),
           lambda: mt.head(*_leaves(a["R"], a["hfn"], a["hscale"], a["hbase"])),
           lambda: mt.expand(*_leaves(a["E"]), N_),
           lambda: mt.static_layer(*_leaves(*[b[k] for k in ["x", "w", "h_pre", "h_post", "h_res"]])),
           lambda: mt.static_post(*_leaves(*[b[k] for k in ["x", "F", "h_post", "h_res"]])),
           lambda: mt.static_pre(*_leaves(*[b[k] for k in ["x", "w", "h_pre"]]))[0]]
    gc.disable()
    try:
        for i, op in enumerate(ops):
            y = op()
            assert y.grad_fn is not None
            node = weakref.ref(y.grad_fn)
            out = weakref.ref(y)
            del y
            assert out() is None and node() is None, "op %d: its output and graph outlive the caller" % i
    finally:
        gc.enable()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_static_gradients(device, dtype):
    b = family_b(device, dtype)
    G = gen(15)(3, N_, 40).to(dtype).to(F64).to(device)  # exact in the act dtype
    Gy = gen(16)(3, 40).to(dtype).to(F64).to(device)
    cases = [("static_layer", mt.static_layer, ref.static_layer, ["x", "w", "h_pre", "h_post", "h_res"], G),
             ("static_post", mt.static_post, ref.static_post, ["x", "F", "h_post", "h_res"], G),
             ("static_pre", lambda *t: mt.static_pre(*t)[0], lambda *t: ref.static_pre(*t)[0], ["x", "w", "h_pre"], Gy)]
    for name, op, formula, names, g in cases:
        ins = _leaves(*[b[k] for k in names])
        (op(*ins).to(F64) * g).sum().backward()
        rins = _ref_leaves(*ins)
        (formula(*rins) * g.cpu()).sum().backward()
        for t, r, k in zip(ins, rins, names):
            scale = max(r.grad.abs().max().item(), 1e-30)
            rtol = 2.0 ** -7 if t.dtype == torch.bfloat16 else (1e-5 if device == "cpu" else 1e-3)
            close(t.grad, r.grad, "%s: d%s" % (name, k), rtol, atol=1e-5 * scale)


def test_the_reference_gradients_pass_gradcheck():
    """The oracle's own derivatives (torch autograd of the formulas) against finite differences, in
    fp64: libmhc's ops take bf16 and fp32 tensors only, so gradcheck runs on the formulas, and the
    tests above compare the library's backward ops with them."""
    u = gen(31)
    n, c, t = 2, 4, 2
    R = u(t, n, c, lo=-2, hi=2).to(F64).requires_grad_(True)
    fn = u(n * (n + 2), n * c, lo=-0.3, hi=0.3).to(F64).requires_grad_(True)
    scale = torch.tensor([0.5, 0.75, 1.25], dtype=F64, requires_grad=True)
    base = u(n * (n + 2), lo=-0.5, hi=0.5).to(F64).requires_grad_(True)
    f = lambda *x: ref.pre(*x, sinkhorn_repeat=5)[:3]  # noqa: E731
    assert torch.autograd.gradcheck(f, (R, fn, scale, base))
    X = u(t, c).to(F64).requires_grad_(True)
    P, Cm = u(t, n).to(F64).requires_grad_(True), u(t, n, n).to(F64).requires_grad_(True)
    assert torch.autograd.gradcheck(ref.post, (X, R, P, Cm))
    hfn = u(n, n * c, lo=-0.3, hi=0.3).to(F64).requires_grad_(True)
    hs, hb = torch.tensor([0.75], dtype=F64, requires_grad=True), u(n).to(F64).requires_grad_(True)
    assert torch.autograd.gradcheck(ref.head, (R, hfn, hs, hb))


# ---- a model of two mHC layers: eager, backward, torch.compile(fullgraph=True) -----------------------
class TwoLayers(torch.nn.Module):
    """expand -> (pre -> sublayer -> post) x 2 -> head, DeepSeek-V4's hyper-connections with a
    linear sublayer; the mHC weights are parameters, trained through the backward ops."""

    def __init__(self, n=N_, c=C, layers=2):
        super().__init__()
        u = gen(41)
        self.n = n
        self.fn = torch.nn.ParameterList([torch.nn.Parameter(u(n * (n + 2), n * c, lo=-0.05, hi=0.05))
                                          for _ in range(layers)])
        self.scale = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor([0.5, 0.75, 1.25])) for _ in range(layers)])
        self.base = torch.nn.ParameterList([torch.nn.Parameter(u(n * (n + 2), lo=-0.5, hi=0.5)) for _ in range(layers)])
        self.sub = torch.nn.ModuleList([torch.nn.Linear(c, c, dtype=torch.bfloat16) for _ in range(layers)])
        self.hfn = torch.nn.Parameter(u(n, n * c, lo=-0.05, hi=0.05))
        self.hscale, self.hbase = torch.nn.Parameter(torch.tensor([0.75])), torch.nn.Parameter(u(n))

    def forward(self, emb):
        R = mt.expand(emb, self.n)
        for fn, scale, base, sub in zip(self.fn, self.scale, self.base, self.sub):
            x, post, comb = mt.pre(R, fn, scale, base, weight_precision="fp32")
            R = mt.post(sub(x), R, post, comb)
        return mt.head(R, self.hfn, self.hscale, self.hbase, weight_precision="fp32")


@pytest.mark.parametrize("device", DEVICES)
def test_two_layer_model_backward_and_compile(device):
    torch.manual_seed(0)
    model = TwoLayers().to(device)
    emb = gen(42)(T, C, lo=-2, hi=2, dtype=torch.bfloat16).to(device).requires_grad_(True)
    y = model(emb)
    y.float().square().mean().backward()
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    assert all(torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads.values()), grads.keys()
    assert emb.grad is not None and emb.grad.abs().sum() > 0

    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True)
    model.zero_grad()
    emb2 = emb.detach().clone().requires_grad_(True)
    y2 = compiled(emb2)
    torch.testing.assert_close(y2, y, rtol=2.0 ** -7, atol=1e-2)
    y2.float().square().mean().backward()
    for k, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[k], rtol=2e-2, atol=1e-3, msg=lambda m: k + ": " + m)


# ---- CUDA only: graphs and the host overhead of an op ------------------------------------------------
@pytest.mark.skipif(not CUDA, reason="no CUDA device (or a host-only libmhc)")
def test_cuda_graph_capture_and_replay():
    a = family_a("cuda")
    x, post, comb = mt.pre(a["R"], a["fn"], a["scale"], a["base"])  # warm-up: plans selected, cached
    r = mt.post(x, a["R"], post, comb)
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    g = torch.cuda.CUDAGraph()
    with torch.cuda.stream(s):
        with torch.cuda.graph(g, stream=s):
            gx, gpost, gcomb = mt.pre(a["R"], a["fn"], a["scale"], a["base"])
            gr = mt.post(gx, a["R"], gpost, gcomb)
    torch.cuda.current_stream().wait_stream(s)
    a["R"].copy_(a["R"] * 0.5)
    g.replay()
    torch.cuda.synchronize()
    x2, post2, comb2 = mt.pre(a["R"], a["fn"], a["scale"], a["base"])
    assert torch.equal(gx, x2) and torch.equal(gcomb, comb2)
    assert torch.equal(gr, mt.post(x2, a["R"], post2, comb2))
    assert not torch.equal(gr, r)


@pytest.mark.skipif(not CUDA, reason="no CUDA device (or a host-only libmhc)")
def test_cuda_graph_of_a_training_step():
    """Forward and backward (torch.autograd.grad, nothing retained) captured in one CUDA graph after
    eager steps on the default stream, the way a training loop captures its step; the replay's
    gradients equal an eager step's, bit for bit."""
    a = family_a("cuda")
    ins = _leaves(a["R"], a["fn"], a["scale"], a["base"])
    G = _bf16_grad((T, C), 17, "cuda").to(torch.bfloat16)

    def step():
        x, post, comb = mt.pre(*ins, **FP32)
        r = mt.post(x, a["R"], post, comb)
        return torch.autograd.grad((r * r.detach()).sum() + (x * G).sum(), ins)

    want = step()  # on the default stream: the leaves' gradient accumulators are made here
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        step()
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        got = step()
    g.replay()
    torch.cuda.synchronize()
    for w, t, name in zip(want, got, ["R", "fn", "scale", "base"]):
        assert torch.equal(w, t), "d" + name


@pytest.mark.skipif(not CUDA, reason="no CUDA device (or a host-only libmhc)")
def test_cuda_op_with_a_tensor_on_the_cpu_is_refused_on_the_fast_path_too():
    # The eager path's key reads only the first input's device: a later input on the CPU must
    # still be refused (by libmhc's pointer checks), never read as device memory.
    a = family_a("cuda")
    for _ in range(3):  # the second call on takes the eager fast path
        mt.post(a["X"], a["R"], a["post"], a["comb"])
    with pytest.raises((RuntimeError, mhc.MhcError), match="comb"):
        mt.post(a["X"], a["R"], a["post"], a["comb"].cpu())
    out = torch.empty_like(a["R"])
    mt.post(a["X"], a["R"], a["post"], a["comb"], out=out)
    mt.post(a["X"], a["R"], a["post"], a["comb"], out=out)
    with pytest.raises((RuntimeError, mhc.MhcError), match="out"):
        mt.post(a["X"], a["R"], a["post"], a["comb"], out=out.cpu())
