"""The formulas of docs/numerics.md in float64 torch: the oracle of test_torch.py (values, and the
gradients of the backward ops through torch autograd)."""
import torch

F64 = torch.float64


def bf16(v):
    """v rounded to bfloat16, as float64."""
    return v.to(torch.bfloat16).to(F64)


def tf32(w):
    """fp32 -> tf32 (10 mantissa bits, nearest even), as float64 (MHC_DTYPE_TF32 weights)."""
    b = w.to(torch.float32).contiguous().view(torch.int32).to(torch.int64)
    b = (b + 0xFFF + ((b >> 13) & 1)) & ~0x1FFF
    return b.to(torch.int32).view(torch.float32).to(F64)


def mixes(R, fn, scale, base, rms_eps=1e-6, pre_eps=1e-6, sinkhorn_eps=1e-6, post_mult=2.0, sinkhorn_repeat=20,
          weight_precision="fp32"):
    """A1 + A2 without the layer input: (pre [T, n], post [T, n], comb [T, n, n], D, Q)."""
    T, n, C = R.shape
    K = n * C
    A = R.to(F64).reshape(T, K)
    w = tf32(fn) if weight_precision == "tf32" else fn.to(F64)
    D = A @ w.t()
    Q = (A * A).sum(1)
    r = torch.rsqrt(Q / K + rms_eps)
    mix = D * r[:, None]
    scale, base = scale.to(F64), base.to(F64)
    pre = torch.sigmoid(mix[:, :n] * scale[0] + base[:n]) + pre_eps
    post = post_mult * torch.sigmoid(mix[:, n:2 * n] * scale[1] + base[n:2 * n])
    c = (mix[:, 2 * n:] * scale[2] + base[2 * n:]).reshape(T, n, n)
    c = torch.softmax(c, dim=-1) + sinkhorn_eps
    c = c / (c.sum(dim=-2, keepdim=True) + sinkhorn_eps)
    for _ in range(sinkhorn_repeat - 1):
        c = c / (c.sum(dim=-1, keepdim=True) + sinkhorn_eps)
        c = c / (c.sum(dim=-2, keepdim=True) + sinkhorn_eps)
    return pre, post, c, D, Q


def collapse(p, R):
    return (p.to(F64)[:, :, None] * R.to(F64)).sum(1)


def pre(R, fn, scale, base, **opts):
    """A3: (layer_input unrounded, post, comb, D, Q)."""
    p, q, c, D, Q = mixes(R, fn, scale, base, **opts)
    return collapse(p, R), q, c, D, Q


def post(X, R, post_mix, comb_mix):
    """A4 unrounded: post * X + comb^T R."""
    return post_mix.to(F64)[:, :, None] * X.to(F64)[:, None, :] + torch.einsum("tjk,tjx->tkx", comb_mix.to(F64),
                                                                             R.to(F64))


def head(R, fn, scale, base, rms_eps=1e-6, pre_eps=1e-6, weight_precision="fp32"):
    """A5 unrounded: y."""
    T, n, C = R.shape
    A = R.to(F64).reshape(T, n * C)
    w = tf32(fn) if weight_precision == "tf32" else fn.to(F64)
    D = A @ w.t()
    r = torch.rsqrt((A * A).sum(1) / (n * C) + rms_eps)
    p = torch.sigmoid(D * r[:, None] * scale.to(F64)[0] + base.to(F64)) + pre_eps
    return collapse(p, R)


def expand(E, n):
    return E.to(F64)[:, None, :].expand(E.shape[0], n, E.shape[1])


def rmsnorm(u, w, norm_eps=1e-6, norm_scale=1.0):
    """Step 4 of the boundary on the bf16 u: bf16(u * rsqrt(mean(u^2) + eps) * (w * norm_scale))."""
    ms = (u * u).mean(1, keepdim=True)
    return bf16(u * torch.rsqrt(ms + norm_eps) * (w.to(F64) * norm_scale))


def boundary(Y, Hp, q, c, fn, scale, base, norm_weight=None, pre_mix=None, norm_eps=1e-6, norm_scale=1.0, **opts):
    """A7: (H, layer_input, post', comb', pre'), H and the layer input rounded to bf16."""
    H = bf16(post(Y, Hp, q, c))
    p2, q2, c2, _, _ = mixes(H, fn, scale, base, **opts)
    u = bf16(collapse(pre_mix if pre_mix is not None else p2, H))
    x = rmsnorm(u, norm_weight, norm_eps, norm_scale) if norm_weight is not None else u
    return H, x, q2, c2, p2


def boundary_collapse(Y, Hp, q, c, pre_mix, norm_weight=None, norm_eps=1e-6, norm_scale=1.0):
    H = bf16(post(Y, Hp, q, c))
    u = bf16(collapse(pre_mix, H))
    return H, (rmsnorm(u, norm_weight, norm_eps, norm_scale) if norm_weight is not None else u)


def boundary_first(E, fn, scale, base, n, norm_weight=None, shifted=False, norm_eps=1e-6, norm_scale=1.0, **opts):
    H = expand(E, n)
    p, q, c, _, _ = mixes(H, fn, scale, base, **opts)
    u = E.to(F64) if shifted else bf16(collapse(p, H))
    x = rmsnorm(u, norm_weight, norm_eps, norm_scale) if norm_weight is not None else u
    return H, x, q, c, p


def sinkhorn_static(h_res, eps=1e-5, iters=20):
    m = torch.exp(h_res.to(F64))
    for _ in range(iters):
        r = m.sum(1, keepdim=True)
        m = torch.where(r > eps, m / torch.where(r > eps, r, torch.ones_like(r)), m)
        c = m.sum(0, keepdim=True)
        m = torch.where(c > eps, m / torch.where(c > eps, c, torch.ones_like(c)), m)
    return m


def static_pre(x, w, h_pre, eps=1e-5):
    """B1: (layer_input, rms)."""
    y = (torch.sigmoid(h_pre.to(F64))[None, :, None] * x.to(F64)).sum(1)
    rms = torch.rsqrt((y * y).mean(1) + eps)
    return y * rms[:, None] * w.to(F64), rms


def static_post(x, F, h_post, h_res, eps=1e-5, sinkhorn_iters=20):
    m = sinkhorn_static(h_res, eps, sinkhorn_iters)
    return torch.einsum("ij,bjx->bix", m, x.to(F64)) + 2 * torch.sigmoid(h_post.to(F64))[None, :, None] * F.to(F64)[:, None, :]


def static_layer(x, w, h_pre, h_post, h_res, eps=1e-5, sinkhorn_iters=20):
    yn, _ = static_pre(x, w, h_pre, eps)
    return static_post(x, yn, h_post, h_res, eps, sinkhorn_iters)
