"""The static hyper-connection layer (OP_STATIC_LAYER) on the host backend with numpy: select a
plan once for the largest batch, list the tensors it takes, check them, run it on the full batch
and on a smaller one, read what it promises. With torch and a GPU, the same run takes CUDA
tensors on a CUDA plan (see the last lines)."""
import numpy as np

import mhc

B, n, C = 2, 4, 64
desc = mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=B, n=n, hidden=C)
with mhc.Plan(desc, backends=mhc.BACKEND_HOST) as plan:
    # What the plan reads and writes, from the library; T is the batch dimension (1..B).
    print(plan.op_name, "takes:")
    for t in plan.tensors:
        print("  %-12s %-6s %s %s%s" % (t.field, "output" if t.is_output else "input", t.dtype_name, t.pattern(),
                                        "" if t.required else " (optional)"))
    # x [B, n, C] fp32, rmsnorm weight [C] bf16 (uint16 bits), h_pre [n], h_post [n], h_res [n, n].
    x = ((np.arange(B * n * C) % 7 - 3) * 0.25).astype(np.float32).reshape(B, n, C)
    w = mhc.bf16_from_float32(np.ones(C, np.float32))
    h_pre = np.zeros(n, np.float32)
    h_post = np.zeros(n, np.float32)
    h_res = np.diag(np.full(n, 2.0, np.float32))
    out = np.empty_like(x)

    tensors = dict(residual=x, norm_weight=w, h_pre=h_pre, h_post=h_post, h_res=h_res, out_residual=out)
    plan.can_implement(**tensors)
    plan.run(**tensors)

    g = plan.precision_guarantee
    print("sku %s (0x%08x) workspace %d bytes" % (plan.sku_name, plan.sku, plan.workspace_size))
    print("math %d accumulator %d flags %#x" % (g.math_precision, g.accumulator, g.flags))
    print("out[0, 0, 0:4] =", out[0, 0, :4])

    # The same plan on the first row alone: T is taken from the tensors' shapes.
    out1 = np.empty_like(x[:1])
    plan.run(**dict(tensors, residual=x[:1], out_residual=out1))
    print("T = 1 gives the same row:", out1.tobytes() == out[:1].tobytes())

    # Shapes are checked before the library is called: [B, C, n] is not [B, n, C].
    try:
        plan.run(**dict(tensors, residual=np.ascontiguousarray(x.transpose(0, 2, 1))))
        raise SystemExit("a transposed residual must be refused")
    except mhc.BadParamError as e:
        print("transposed residual refused:", e)

# Errors carry the status and the library's message.
try:
    mhc.Plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=B, n=33, hidden=C))
    raise SystemExit("n = 33 must be refused")
except mhc.BadParamError as e:
    print("n = 33 refused:", e)

# On a GPU: backend ANY picks a CUDA SKU; torch CUDA tensors run on torch's current stream.
try:
    import torch
except ImportError:
    torch = None
if torch is not None and torch.cuda.is_available() and mhc.cuda_device_count() > 0:
    with mhc.Plan(desc) as gpu_plan:
        dev = torch.device("cuda")
        out_gpu = torch.empty(B, n, C, device=dev)
        gpu_plan.run(residual=torch.from_numpy(x).to(dev),
                     norm_weight=torch.from_numpy(w.view(np.int16)).view(torch.bfloat16).to(dev),
                     h_pre=torch.from_numpy(h_pre).to(dev), h_post=torch.from_numpy(h_post).to(dev),
                     h_res=torch.from_numpy(h_res).to(dev), out_residual=out_gpu)
        print("GPU sku %s: max |gpu - host| = %.3g" % (gpu_plan.sku_name,
                                                       np.abs(out_gpu.cpu().numpy() - out).max()))
