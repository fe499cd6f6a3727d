"""libmhc as PyTorch ops: torch.library custom ops with fake (meta) implementations and autograd.

    import torch, mhc.torch as mt
    x, post, comb = mt.pre(R, fn, scale, base)           # R [T, n, C] bf16
    R_next = mt.post(y, R, post, comb)                   # y = sublayer(x)

Every op is registered as ``torch.ops.mhc.<name>`` (torch.library.custom_op) with a fake
implementation, so it works under torch.compile (fullgraph), torch.export and FakeTensor
tracing. T, n and C are taken from the tensors; the remaining descriptor fields are keyword
options with libmhc's defaults (docs/numerics.md). Plans are selected once per (op, shapes, dtype,
device, options) and cached. CUDA tensors run on torch.cuda.current_stream() with a CUDA SKU
(workspace from torch's allocator), CPU tensors on the host fp64 backend; a case that no CUDA SKU
supports (select finds none for it) runs on the host on copies.

Each public function returns new tensors, or writes the tensors given as ``out=`` (a tuple in
the order of the returned tensors) through a separate op ``torch.ops.mhc.<name>_out`` that
mutates them (no autograd through that variant).

Autograd: pre, post, head, expand and the static ops are differentiable through libmhc's
backward ops (MHC_OP_PRE_BACKWARD, MHC_OP_POST_BACKWARD, MHC_OP_HEAD_BACKWARD,
MHC_OP_EXPAND_BACKWARD, MHC_OP_STATIC_{PRE,POST,LAYER}_BACKWARD, also registered as ops:
``torch.ops.mhc.pre_backward`` ...). pre and head keep the reduced D and Q of their GEMM for it
(docs/training.md); the bf16 roundings pass gradients straight through. The boundary ops
(A7-A10) have no backward op in libmhc yet: calling them on tensors that require grad is an
error at backward time.

Ops: pre, post, head, expand (family A), boundary, boundary_collapse, boundary_mix,
boundary_first (the layer boundary, A7-A10), static_pre, static_post, static_layer (family B).
"""
import ctypes
import threading
from typing import List, Optional, Tuple

import torch

import mhc as _mhc

__all__ = ["pre", "post", "head", "expand", "boundary", "boundary_collapse", "boundary_mix", "boundary_first",
           "static_pre", "static_post", "static_layer", "sku", "plan_for", "clear_cache", "OPS"]

# ---- plans ---------------------------------------------------------------------------------------
_plans = {}
_plans_lock = threading.Lock()


class _RunPlan:
    """A selected mhc.Plan and what a run needs, prepared once: the library and the raw handle. A
    run sets the pointers and T in a fresh mhc_args_t and calls mhc_plan_run directly: the op's
    own shape rules have checked the tensors (the library checks pointers, alignment, memory)."""
    __slots__ = ("plan", "lib", "raw", "host", "workspace")

    def __init__(self, plan):
        self.plan, self.lib, self.raw = plan, plan._lib, plan._raw
        self.host, self.workspace = plan.on_host, plan.workspace_size

    def run(self, tokens, tensors, device):
        args = _mhc.Args()
        args.struct_size = _ARGS_SIZE
        for field, t in tensors.items():
            if t is not None:
                setattr(args, field, t.data_ptr() or None)
        args.tokens = tokens
        stream, ws, ws_bytes, buf = None, None, 0, None
        if not self.host:
            stream = torch.cuda.current_stream(device).cuda_stream or None
            if self.workspace:
                buf = torch.empty(self.workspace, dtype=torch.uint8, device=device)
                ws, ws_bytes = buf.data_ptr(), self.workspace
        s = self.lib.mhc_plan_run(self.raw, stream, ws, ws_bytes, ctypes.byref(args))
        if s != _mhc.STATUS_SUCCESS:
            raise _mhc._error(s, _mhc.last_error())


_ARGS_SIZE = ctypes.sizeof(_mhc.Args)
_ARGS_WORDS = _ARGS_SIZE // 8
_TOKENS_WORD = _mhc.Args.tokens.offset // 8
_Words = ctypes.c_uint64 * _ARGS_WORDS
_raw_run = None


def _raw_plan_run():
    """mhc_plan_run with untyped pointers (the eager fast path hands it an mhc_args_t built as
    64-bit words: cheaper than setting ctypes.Structure fields)."""
    global _raw_run
    if _raw_run is None:
        addr = ctypes.cast(_mhc.lib().mhc_plan_run, ctypes.c_void_p).value
        _raw_run = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                    ctypes.c_void_p)(addr)
    return _raw_run


try:
    _raw_stream = torch._C._cuda_getCurrentRawStream  # the current stream's handle, no Stream object
    _current_device = torch._C._cuda_getDevice          # torch.cuda.current_device() minus its Python layer
except AttributeError:  # a torch without CUDA support
    _raw_stream = _current_device = None


class _Fast:
    """What an eager call of one op on one set of shapes, dtypes, device and options needs, worked
    out once (the full checks ran when it was made): the plan's handle, T, the device, the
    workspace size and the outputs' shapes and dtypes (specs)."""
    __slots__ = ("runner", "raw", "tokens", "device", "cuda_index", "workspace", "specs")

    def __init__(self, runner, specs, tokens, device):
        # runner keeps the plan alive: clear_cache() drops the caches, and the plan is destroyed
        # with its last reference, never under a call that still holds its handle.
        self.runner, self.raw, self.specs, self.tokens, self.device, self.workspace = \
            runner, runner.raw, specs, tokens, device, runner.workspace
        self.cuda_index = device.index if device.type == "cuda" else None


def _select(op, tokens, n, hidden, device, options):
    """The cached plan of op for these sizes on this device: a CUDA SKU for a CUDA device (None
    when libmhc has none for the op: the caller runs the host plan on copies), the host SKU for
    the CPU."""
    cuda = device.type == "cuda"
    key = (op, tokens, n, hidden, device.type, device.index if cuda else None, options)
    try:
        return _plans[key]
    except KeyError:
        pass
    with _plans_lock:
        if key in _plans:
            return _plans[key]
        desc = _mhc.new_desc(op, tokens=tokens, n=n, hidden=hidden, **dict(options))
        if cuda:
            try:
                with torch.cuda.device(device):
                    p = _RunPlan(_mhc.Plan(desc, backends=_mhc.BACKEND_CUDA))
            except _mhc.NotSupportedError:
                p = None
        else:
            p = _RunPlan(_mhc.Plan(desc, backends=_mhc.BACKEND_HOST))
        _plans[key] = p
        return p


def clear_cache():
    """Forgets every cached plan (and every op's eager cache, which holds plans too). A plan is
    destroyed when its last reference goes: at once, unless a call in another thread is using it."""
    with _plans_lock:
        _plans.clear()
        for o in _OP_OBJECTS:
            o.fast.clear()


def _execute(op, T, n, C, options, tensors, outputs, device):
    """Runs op on the tensors (field -> contiguous tensor or None, outputs included)."""
    p = _select(op, T, n, C, device, options)
    if p is not None:
        if device.type == "cuda":
            with torch.cuda.device(device):
                p.run(T, tensors, device)
        else:
            p.run(T, tensors, device)
        return
    # No CUDA SKU supports this case: the host backend on copies.
    cpu = torch.device("cpu")
    hp = _select(op, T, n, C, cpu, options)
    copies = {f: (t.cpu() if t is not None else None) for f, t in tensors.items()}
    hp.run(T, copies, cpu)
    for f in outputs:
        tensors[f].copy_(copies[f])


# ---- the op factory ------------------------------------------------------------------------------
_BF16, _F32 = torch.bfloat16, torch.float32
_WEIGHTS = {"tf32": _mhc.DTYPE_TF32, "tf32x3": _mhc.DTYPE_TF32X3, "fp32": _mhc.DTYPE_FP32}


def _check(cond, msg):
    torch._check(cond, lambda: "mhc.torch: " + msg)


def _dims(rule, T, n, C):
    table = {"T": T, "n": n, "C": C, "N": n * (n + 2), "K": n * C}
    return [table[d] if isinstance(d, str) else d for d in rule]


_MISSING = object()


_is_compiling = torch.compiler.is_compiling
_grad_enabled = torch.is_grad_enabled
_empty = torch.empty
_Tensor = torch.Tensor


class _Op:
    """One libmhc op as torch.ops.mhc.<name> (functional: new tensors) and <name>_out (writes the
    tensors of its `outs` list). inputs: [(argument, mhc_args_t field, dtype, shape rule,
    optional)]; outputs: [(field, dtype, shape rule)]; dtype "bf16", "f32" or "act" (family B:
    the dtype of the first input); options: [(name, default)], the descriptor's fields that are
    not sizes (weight_precision as "tf32", "tf32x3", "fp32"; family B's eps and sinkhorn_iters);
    sizes(tensors, options) -> (T, n, C); flags(tensors) -> desc flags from optional inputs."""

    def __init__(self, name, op, inputs, outputs, sizes, options=(), flags=None, family="A"):
        self.name, self.op, self.inputs, self.outputs = name, op, inputs, outputs
        self.sizes, self.options, self.flags, self.family = sizes, tuple(options), flags, family
        self.defaults = [d for o, d in self.options]
        self.option_names = frozenset(o for o, d in self.options)
        self.functional, self.out = self._register()
        self.eager = self._make_eager()
        OPS[name], OPS[name + "_out"] = self.functional, self.out
        _OP_OBJECTS.append(self)

    # what every variant does first: sizes, checks, the descriptor options
    def prepare(self, tensors, opts):
        T, n, C = self.sizes(tensors, opts)
        first = tensors[0]
        act = first.dtype
        if self.family == "B":
            _check(act in (_F32, _BF16), "%s: %s given: family B takes float32 or bfloat16" % (self.inputs[0][0], act))
        for (arg, field, kind, rule, optional), t in zip(self.inputs, tensors):
            if t is None:
                _check(optional, "%s is required" % arg)
                continue
            self.check_tensor(arg, t, _dims(rule, T, n, C), self.dtype(kind, act), first.device)
        return T, n, C, act, first.device

    @staticmethod
    def dtype(kind, act):
        return _BF16 if kind == "bf16" else _F32 if kind == "f32" else act

    @staticmethod
    def check_tensor(name, t, dims, dtype, device):
        _check(t.dim() == len(dims) and all(g == w for g, w in zip(t.shape, dims)),
               "%s: shape %s given, %s expected" % (name, list(t.shape), dims))
        _check(t.dtype == dtype, "%s: %s given, %s expected" % (name, t.dtype, dtype))
        _check(t.device == device, "%s is on %s, the op's first tensor on %s" % (name, t.device, device))

    def desc_options(self, tensors, opts, act):
        out = []
        for (k, _), v in zip(self.options, opts):
            if k == "n":
                continue
            if k == "weight_precision":
                _check(v in _WEIGHTS, "weight_precision=%r: one of %s" % (v, ", ".join(_WEIGHTS)))
                out.append(("weight_precision", _WEIGHTS[v]))
            elif k == "eps":
                out.append(("static_eps", float(v)))
            elif k == "sinkhorn_iters":
                out.append(("sinkhorn_repeat", int(v)))
            else:
                out.append((k, v))
        if self.family == "B":
            out.append(("act_dtype", _mhc.DTYPE_BF16 if act == _BF16 else _mhc.DTYPE_FP32))
        if self.flags is not None:
            f = self.flags(tensors)
            if f:
                out.append(("flags", f))
        return tuple(out)

    def new_outputs(self, T, n, C, act, device):
        return [torch.empty(_dims(rule, T, n, C), dtype=self.dtype(kind, act), device=device)
                for field, kind, rule in self.outputs]

    def run(self, tensors, opts, outs):
        T, n, C, act, device = self.prepare(tensors, opts)
        fields = {field: (t.contiguous() if t is not None else None)
                  for (arg, field, kind, rule, optional), t in zip(self.inputs, tensors)}
        for (field, kind, rule), t in zip(self.outputs, outs):
            fields[field] = t
        _execute(self.op, T, n, C, self.desc_options(tensors, opts, act), fields, [f[0] for f in self.outputs],
                 device)

    def impl(self, tensors, opts):
        T, n, C, act, device = self.prepare(tensors, opts)
        outs = self.new_outputs(T, n, C, act, device)
        self.run(tensors, opts, outs)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def fake(self, tensors, opts):
        T, n, C, act, device = self.prepare(tensors, opts)
        outs = self.new_outputs(T, n, C, act, device)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def out_impl(self, tensors, opts, outs):
        T, n, C, act, device = self.prepare(tensors, opts)
        _check(len(outs) == len(self.outputs), "%s_out: %d out tensors given, %d expected (%s)"
               % (self.name, len(outs), len(self.outputs), ", ".join(f[0] for f in self.outputs)))
        for (field, kind, rule), t in zip(self.outputs, outs):
            self.check_tensor("out " + field, t, _dims(rule, T, n, C), self.dtype(kind, act), device)
            _check(t.is_contiguous(), "out %s is not contiguous" % field)
        self.run(tensors, opts, outs)

    def _register(self):
        # Python functions with the op's real signature, from which custom_op infers the schema.
        params = ["%s: %s" % (a[0], "Optional[torch.Tensor]" if a[4] else "torch.Tensor") for a in self.inputs]
        params += ["%s: %s" % (o, type(d).__name__) for o, d in self.options]
        sig = ", ".join(params)
        ts = ", ".join(a[0] for a in self.inputs)
        os_ = ", ".join(o for o, d in self.options)
        k = len(self.outputs)
        ret = "torch.Tensor" if k == 1 else "Tuple[%s]" % ", ".join(["torch.Tensor"] * k)
        src = ("def functional({sig}) -> {ret}:\n    return self.impl([{ts}], [{os}])\n"
               "def fake({sig}) -> {ret}:\n    return self.fake([{ts}], [{os}])\n"
               "def out_variant({sig}, outs: List[torch.Tensor]) -> None:\n    self.out_impl([{ts}], [{os}], outs)\n"
               "def out_fake({sig}, outs: List[torch.Tensor]) -> None:\n    self.prepare([{ts}], [{os}])\n"
               ).format(sig=sig, ret=ret, ts=ts, os=os_)
        ns = {"torch": torch, "Optional": Optional, "List": List, "Tuple": Tuple, "self": self}
        exec(src, ns)
        functional = torch.library.custom_op("mhc::" + self.name, mutates_args=())(ns["functional"])
        functional.register_fake(ns["fake"])
        out = torch.library.custom_op("mhc::%s_out" % self.name, mutates_args=("outs",))(ns["out_variant"])
        out.register_fake(ns["out_fake"])
        return functional, out

    def call(self, tensors, kwargs, out):
        """The public function: options from kwargs (unknown ones refused), then the eager fast
        path, else the functional op or, with out=, the out variant (returns out)."""
        if kwargs:
            if not self.option_names.issuperset(kwargs):
                unknown = set(kwargs) - self.option_names
                raise TypeError("mhc.torch.%s: unknown option(s) %s; it takes %s" % (
                    self.name, ", ".join(sorted(unknown)), ", ".join(o for o, _ in self.options) or "none"))
            opts = [kwargs.get(o, d) for o, d in self.options]
        else:
            opts = self.defaults
        if not _is_compiling():
            r = self.eager(tensors, opts, out)
            if r is not None:
                return r
        if out is None:
            return self.functional(*tensors, *opts)
        outs = [out] if torch.is_tensor(out) else list(out)
        self.out(*tensors, *opts, outs)
        return out

    def make_fast(self, tensors, opts, outs):
        """The _Fast of a first eager call (the full checks), or None: no CUDA SKU for the case (the
        host on copies), or out tensors that do not fit (the registered op reports them)."""
        T, n, C, act, device = self.prepare(tensors, opts)
        runner = _select(self.op, T, n, C, device, self.desc_options(tensors, opts, act))
        if runner is None:
            return None
        specs = [(torch.Size(_dims(rule, T, n, C)), self.dtype(kind, act)) for field, kind, rule in self.outputs]
        if outs is not None and any(o.shape != shape or o.dtype != dtype or o.device != device
                                    for o, (shape, dtype) in zip(outs, specs)):
            return None
        return _Fast(runner, specs, T, device)

    def _make_eager(self):
        """eager(tensors, opts, out): the eager fast path (plain contiguous tensors, nothing to record
        for autograd), generated for this op's inputs and outputs: the same computation as the
        registered ops without the dispatcher's Python overhead. It writes the mhc_args_t as
        64-bit words and calls mhc_plan_run on a plan cached per (options, inputs' shapes and
        dtypes, the first input's device[, out tensors' shapes and dtypes]). None: take the
        registered op (the first call of a key, a FakeTensor or other subclass, a tensor that needs
        autograd, out tensors that do not fit)."""
        k, m = len(self.inputs), len(self.outputs)
        ins = ["t%d" % i for i in range(k)]
        outs = ["o%d" % i for i in range(m)]
        optional = [a[4] for a in self.inputs]

        def plain(t):  # a tensor the fast path takes
            return "(type({t}) is _Tensor and {t}.is_contiguous() and not (grad and {t}.requires_grad))".format(t=t)

        # The key holds every tensor's shape and dtype and the first input's device: a tensor on
        # another device than the first is refused by mhc_plan_run itself (its pointer checks name
        # the argument), so the other devices need not be read on every call.
        def meta(t, opt, device=False):
            d = "{t}.shape, {t}.dtype".format(t=t) + (", {t}.device".format(t=t) if device else "")
            return "None if %s is None else (%s)" % (t, d) if opt else d

        in_ok = " and ".join(("(%s is None or %s)" % (t, plain(t))) if opt else plain(t) for t, opt in zip(ins, optional))
        assert not optional[0], "the first input decides the device"
        key = ", ".join(["*opts"] + [meta(t, opt, i == 0) for i, (t, opt) in enumerate(zip(ins, optional))])
        words = ["w[%d] = %s.data_ptr()" % (getattr(_mhc.Args, a[1]).offset // 8, t) if not a[4] else
                 "if %s is not None: w[%d] = %s.data_ptr()" % (t, getattr(_mhc.Args, a[1]).offset // 8, t)
                 for t, a in zip(ins, self.inputs)]
        words += ["w[%d] = %s.data_ptr()" % (getattr(_mhc.Args, o[0]).offset // 8, t) for t, o in zip(outs, self.outputs)]
        run = "\n".join("    " + line for line in [
            "w = _Words()",
            "w[0] = _ARGS_SIZE",
            "w[%d] = f.tokens" % _TOKENS_WORD] + words + [
            "ci = f.cuda_index",
            "if ci is None:",
            "    s = _run(f.raw, None, None, 0, _addressof(w))",
            "else:",
            "    if _current_device() != ci:",
            "        _set_device(ci)",
            "    if f.workspace:",
            "        buf = _empty(f.workspace, dtype=_U8, device=f.device)",
            "        s = _run(f.raw, _raw_stream(ci) or None, buf.data_ptr(), f.workspace, _addressof(w))",
            "    else:",
            "        s = _run(f.raw, _raw_stream(ci) or None, None, 0, _addressof(w))",
            "if s:",
            "    raise _mhc._error(s, _mhc.last_error())"])
        take_out = ("if type(out) is not _Tensor:\n        return None\n    o0 = out" if m == 1 else
                    "if type(out) not in (tuple, list) or len(out) != %d:\n        return None\n    %s, = out" % (m, ", ".join(outs)))
        src = """def eager(ts, opts, out):
    {ins}, = ts
    grad = _grad_enabled()
    if not ({in_ok}):
        return None
    key = ({key},)
    if out is None:
        f = fast.get(key, _MISSING)
        if f is _MISSING:
            fast[key] = make_fast(ts, opts, None)
            return None
        if f is None:
            return None
{new}
{run}
        return {ret}
    {take_out}
    if not ({out_ok}):
        return None
    key += ({out_key},)
    f = fast.get(key, _MISSING)
    if f is _MISSING:
        fast[key] = make_fast(ts, opts, [{outs}])
        return None
    if f is None:
        return None
{run_out}
    return out
""".format(ins=", ".join(ins), in_ok=in_ok, key=key,
           new="\n".join("        %s = _empty(f.specs[%d][0], dtype=f.specs[%d][1], device=f.device)" % (o, i, i)
                         for i, o in enumerate(outs)),
           run="\n".join("    " + line for line in run.split("\n")),
           ret=outs[0] if m == 1 else "(%s)" % ", ".join(outs), take_out=take_out,
           out_ok=" and ".join(plain(o) for o in outs), out_key=", ".join(meta(o, False) for o in outs),
           outs=", ".join(outs), run_out=run)
        def make_fast(ts, opts, outs):  # also binds mhc_plan_run (the library loads on first use)
            ns["_run"] = _raw_plan_run()
            return self.make_fast(ts, opts, outs)

        ns = {"_Tensor": _Tensor, "_grad_enabled": _grad_enabled, "_MISSING": _MISSING, "fast": {},
              "make_fast": make_fast, "_empty": _empty, "_Words": _Words, "_ARGS_SIZE": _ARGS_SIZE,
              "_addressof": ctypes.addressof, "_current_device": _current_device,
              "_set_device": torch.cuda.set_device, "_raw_stream": _raw_stream, "_U8": torch.uint8, "_mhc": _mhc}
        exec(compile(src, "<mhc.torch eager %s>" % self.name, "exec"), ns)
        self.fast = ns["fast"]
        return ns["eager"]


OPS = {}
_OP_OBJECTS = []  # every _Op, for clear_cache()


def _sizes_r(tensors, opts):
    """T, n, C from the residual (the first input) [T, n, C]."""
    return tuple(tensors[0].shape) if tensors[0].dim() == 3 else (0, 0, 0)


def _sizes_r2(tensors, opts):
    """T, n, C from the residual, the second input (after the layer output)."""
    return tuple(tensors[1].shape) if tensors[1].dim() == 3 else (0, 0, 0)


def _sizes_e(tensors, opts):
    """T and C from the embedding [T, C], n from the option."""
    e = tensors[0]
    return (e.shape[0], opts[0], e.shape[1]) if e.dim() == 2 else (0, 0, 0)


_A = (("rms_eps", 1e-6), ("pre_eps", 1e-6), ("sinkhorn_eps", 1e-6), ("post_mult", 2.0), ("sinkhorn_repeat", 20),
      ("weight_precision", "tf32"))
_HEAD = (("rms_eps", 1e-6), ("pre_eps", 1e-6), ("weight_precision", "tf32"))
_NORM = (("norm_eps", 1e-6), ("norm_scale", 1.0))
_B = (("eps", 1e-5), ("sinkhorn_iters", 20))


def _in(arg, kind, rule, field=None, optional=False):
    return (arg, field or arg, kind, rule, optional)


_R = _in("residual", "bf16", ("T", "n", "C"))
_X = _in("layer_output", "bf16", ("T", "C"))
_POST = _in("post_mix", "f32", ("T", "n"))
_COMB = _in("comb_mix", "f32", ("T", "n", "n"))
_FN, _SCALE, _BASE = _in("fn", "f32", ("N", "K")), _in("scale", "f32", (3,)), _in("base", "f32", ("N",))
_HFN, _HSCALE, _HBASE = _in("fn", "f32", ("n", "K")), _in("scale", "f32", (1,)), _in("base", "f32", ("n",))
_W = _in("norm_weight", "bf16", ("C",), optional=True)
_OUT_R, _OUT_X = ("out_residual", "bf16", ("T", "n", "C")), ("out_layer_input", "bf16", ("T", "C"))
_OUT_POST, _OUT_COMB = ("out_post_mix", "f32", ("T", "n")), ("out_comb_mix", "f32", ("T", "n", "n"))
_OUT_PRE = ("out_pre_mix", "f32", ("T", "n"))


def _norm_flags(w_index, pre_index=None):
    def flags(tensors):
        f = _mhc.DESC_FLAG_NORM if tensors[w_index] is not None else 0
        if pre_index is not None and tensors[pre_index] is not None:
            f |= _mhc.DESC_FLAG_SHIFTED
        return f
    return flags


_pre = _Op("pre", _mhc.OP_PRE, [_R, _FN, _SCALE, _BASE],
           [_OUT_X, _OUT_POST, _OUT_COMB, ("out_gemm", "f32", ("T", "N")), ("out_sqrsum", "f32", ("T",))],
           _sizes_r, _A)
_post = _Op("post", _mhc.OP_POST, [_X, _R, _POST, _COMB], [_OUT_R], _sizes_r2)
_head = _Op("head", _mhc.OP_HEAD, [_R, _HFN, _HSCALE, _HBASE],
            [_OUT_X, ("out_gemm", "f32", ("T", "n")), ("out_sqrsum", "f32", ("T",))], _sizes_r, _HEAD)
_expand = _Op("expand", _mhc.OP_EXPAND, [_in("embedding", "bf16", ("T", "C"))], [_OUT_R], _sizes_e, (("n", 4),))

# boundary: (layer_output, residual, post_mix, comb_mix, fn, scale, base, norm_weight?, pre_mix?)
_boundary = _Op("boundary", _mhc.OP_BOUNDARY,
                [_X, _R, _POST, _COMB, _FN, _SCALE, _BASE, _W, _in("pre_mix", "f32", ("T", "n"), optional=True)],
                [_OUT_R, _OUT_X, _OUT_POST, _OUT_COMB, _OUT_PRE], _sizes_r2, _A + _NORM, _norm_flags(7, 8))
_boundary_collapse = _Op("boundary_collapse", _mhc.OP_BOUNDARY_COLLAPSE,
                         [_X, _R, _POST, _COMB, _in("pre_mix", "f32", ("T", "n")), _W],
                         [_OUT_R, _OUT_X], _sizes_r2, _NORM, _norm_flags(5))
_boundary_mix = _Op("boundary_mix", _mhc.OP_BOUNDARY_MIX, [_R, _FN, _SCALE, _BASE], [_OUT_POST, _OUT_COMB, _OUT_PRE],
                    _sizes_r, _A)


def _sizes_first(tensors, opts):
    e = tensors[0]
    return (e.shape[0], opts[0], e.shape[1]) if e.dim() == 2 else (0, 0, 0)


def _first_flags(tensors):
    return _mhc.DESC_FLAG_NORM if tensors[4] is not None else 0


# boundary_first: n and shifted are options (nothing carried in); flags from them and norm_weight.
class _FirstOp(_Op):
    def desc_options(self, tensors, opts, act):
        out = list(_Op.desc_options(self, tensors, opts, act))
        shifted = dict(zip([o for o, _ in self.options], opts))["shifted"]
        out = [(k, v) for k, v in out if k not in ("shifted", "flags")]
        f = (_mhc.DESC_FLAG_NORM if tensors[4] is not None else 0) | (_mhc.DESC_FLAG_SHIFTED if shifted else 0)
        if f:
            out.append(("flags", f))
        return tuple(out)


_boundary_first = _FirstOp("boundary_first", _mhc.OP_BOUNDARY_FIRST,
                           [_in("embedding", "bf16", ("T", "C")), _FN, _SCALE, _BASE, _W],
                           [_OUT_R, _OUT_X, _OUT_POST, _OUT_COMB, _OUT_PRE], _sizes_first,
                           (("n", 4), ("shifted", False)) + _A + _NORM)

_XB = _in("residual", "act", ("T", "n", "C"))
_static_pre = _Op("static_pre", _mhc.OP_STATIC_PRE,
                  [_XB, _in("norm_weight", "bf16", ("C",)), _in("h_pre", "f32", ("n",))],
                  [("out_layer_input", "act", ("T", "C")), ("out_rms", "f32", ("T",))], _sizes_r, _B[:1], family="B")
_static_post = _Op("static_post", _mhc.OP_STATIC_POST,
                   [_XB, _in("layer_output", "act", ("T", "C")), _in("h_post", "f32", ("n",)),
                    _in("h_res", "f32", ("n", "n"))],
                   [("out_residual", "act", ("T", "n", "C"))], _sizes_r, _B, family="B")
_static_layer = _Op("static_layer", _mhc.OP_STATIC_LAYER,
                    [_XB, _in("norm_weight", "bf16", ("C",)), _in("h_pre", "f32", ("n",)), _in("h_post", "f32", ("n",)),
                     _in("h_res", "f32", ("n", "n"))],
                    [("out_residual", "act", ("T", "n", "C"))], _sizes_r, _B, family="B")

# ---- backward ops and autograd -------------------------------------------------------------------
_D, _Q = _in("gemm_out", "f32", ("T", "N")), _in("sqrsum", "f32", ("T",))
_pre_bw = _Op("pre_backward", _mhc.OP_PRE_BACKWARD,
              [_R, _FN, _SCALE, _BASE, _D, _Q, _in("grad_layer_input", "bf16", ("T", "C")),
               _in("grad_post_mix", "f32", ("T", "n")), _in("grad_comb_mix", "f32", ("T", "n", "n"))],
              [("out_grad_residual", "bf16", ("T", "n", "C")), ("out_grad_fn", "f32", ("N", "K")),
               ("out_grad_scale", "f32", (3,)), ("out_grad_base", "f32", ("N",))], _sizes_r, _A)
_post_bw = _Op("post_backward", _mhc.OP_POST_BACKWARD, [_X, _R, _POST, _COMB, _in("grad_residual", "bf16", ("T", "n", "C"))],
               [("out_grad_layer_output", "bf16", ("T", "C")), ("out_grad_residual", "bf16", ("T", "n", "C")),
                ("out_grad_post_mix", "f32", ("T", "n")), ("out_grad_comb_mix", "f32", ("T", "n", "n"))], _sizes_r2)
_head_bw = _Op("head_backward", _mhc.OP_HEAD_BACKWARD,
               [_R, _HFN, _HSCALE, _HBASE, _in("gemm_out", "f32", ("T", "n")), _Q,
                _in("grad_layer_input", "bf16", ("T", "C"))],
               [("out_grad_residual", "bf16", ("T", "n", "C")), ("out_grad_fn", "f32", ("n", "K")),
                ("out_grad_scale", "f32", (1,)), ("out_grad_base", "f32", ("n",))], _sizes_r, _HEAD)
_expand_bw = _Op("expand_backward", _mhc.OP_EXPAND_BACKWARD, [_in("grad_residual", "bf16", ("T", "n", "C"))],
                 [("out_grad_embedding", "bf16", ("T", "C"))], _sizes_r)


_static_pre_bw = _Op("static_pre_backward", _mhc.OP_STATIC_PRE_BACKWARD,
                     [_XB, _in("norm_weight", "bf16", ("C",)), _in("h_pre", "f32", ("n",)),
                      _in("grad_layer_input", "act", ("T", "C"))],
                     [("out_grad_residual", "act", ("T", "n", "C")), ("out_grad_h_pre", "f32", ("n",)),
                      ("out_grad_norm_weight", "f32", ("C",))], _sizes_r, _B[:1], family="B")
_static_post_bw = _Op("static_post_backward", _mhc.OP_STATIC_POST_BACKWARD,
                      [_XB, _in("layer_output", "act", ("T", "C")), _in("h_post", "f32", ("n",)),
                       _in("h_res", "f32", ("n", "n")), _in("grad_residual", "act", ("T", "n", "C"))],
                      [("out_grad_residual", "act", ("T", "n", "C")), ("out_grad_layer_output", "act", ("T", "C")),
                       ("out_grad_h_post", "f32", ("n",)), ("out_grad_h_res", "f32", ("n", "n"))], _sizes_r, _B,
                      family="B")
_static_layer_bw = _Op("static_layer_backward", _mhc.OP_STATIC_LAYER_BACKWARD,
                       [_XB, _in("norm_weight", "bf16", ("C",)), _in("h_pre", "f32", ("n",)),
                        _in("h_post", "f32", ("n",)), _in("h_res", "f32", ("n", "n")),
                        _in("grad_residual", "act", ("T", "n", "C"))],
                       [("out_grad_residual", "act", ("T", "n", "C")), ("out_grad_h_pre", "f32", ("n",)),
                        ("out_grad_h_post", "f32", ("n",)), ("out_grad_h_res", "f32", ("n", "n")),
                        ("out_grad_norm_weight", "f32", ("C",))], _sizes_r, _B, family="B")


def _like(t):
    """What a missing incoming gradient is made like: the output's shape, dtype and device. Not the
    output itself: an output kept on ctx is a cycle (output -> its node -> ctx -> output) that holds
    the whole graph, saved tensors and the leaves' gradient accumulators included, until the garbage
    collector runs; a training step captured in a CUDA graph then fails on the accumulators' stale
    streams."""
    return t.shape, t.dtype, t.device


def _grad(g, like):
    """An incoming gradient as a backward op takes it: zeros for None, the output's dtype, contiguous."""
    shape, dtype, device = like
    return torch.zeros(shape, dtype=dtype, device=device) if g is None else g.to(dtype).contiguous()


def _pre_setup(ctx, inputs, output):
    ctx.options = inputs[4:]
    ctx.save_for_backward(*inputs[:4], output[3], output[4])
    ctx.like = tuple(_like(o) for o in output[:3])


def _pre_backward(ctx, g_x, g_post, g_comb, g_d, g_q):
    # g_d, g_q: the saved D and Q are for the backward only, not differentiable outputs
    r, fn, scale, base, d, q = ctx.saved_tensors
    x, post, comb = ctx.like
    grads = _pre_bw.functional(r, fn, scale, base, d, q, _grad(g_x, x), _grad(g_post, post), _grad(g_comb, comb),
                               *ctx.options)
    return tuple(grads) + (None,) * len(ctx.options)


def _post_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _post_backward(ctx, g):
    x, r, post, comb = ctx.saved_tensors
    return tuple(_post_bw.functional(x, r, post, comb, _grad(g, _like(r))))


def _head_setup(ctx, inputs, output):
    ctx.options = inputs[4:]
    ctx.save_for_backward(*inputs[:4], output[1], output[2])
    ctx.like = _like(output[0])


def _head_backward(ctx, g_y, g_d, g_q):
    r, fn, scale, base, d, q = ctx.saved_tensors
    grads = _head_bw.functional(r, fn, scale, base, d, q, _grad(g_y, ctx.like), *ctx.options)
    return tuple(grads) + (None,) * len(ctx.options)


def _expand_setup(ctx, inputs, output):
    ctx.like = _like(output)


def _expand_backward(ctx, g):
    return _expand_bw.functional(_grad(g, ctx.like)), None


def _static_pre_setup(ctx, inputs, output):
    ctx.options = inputs[3:]
    ctx.save_for_backward(*inputs[:3])
    ctx.like = _like(output[0])


def _static_pre_backward(ctx, g_y, g_rms):
    # g_rms: the optional rms output is not differentiable (B1' recomputes rms from x)
    x, w, h_pre = ctx.saved_tensors
    dx, dh_pre, dw = _static_pre_bw.functional(x, w, h_pre, _grad(g_y, ctx.like), *ctx.options)
    return (dx, dw.to(w.dtype), dh_pre) + (None,) * len(ctx.options)


def _static_post_setup(ctx, inputs, output):
    ctx.options = inputs[4:]
    ctx.save_for_backward(*inputs[:4])
    ctx.like = _like(output)


def _static_post_backward(ctx, g):
    x, f, h_post, h_res = ctx.saved_tensors
    dx, df, dh_post, dh_res = _static_post_bw.functional(x, f, h_post, h_res, _grad(g, ctx.like), *ctx.options)
    return (dx, df, dh_post, dh_res) + (None,) * len(ctx.options)


def _static_layer_setup(ctx, inputs, output):
    ctx.options = inputs[5:]
    ctx.save_for_backward(*inputs[:5])
    ctx.like = _like(output)


def _static_layer_backward(ctx, g):
    x, w, h_pre, h_post, h_res = ctx.saved_tensors
    dx, dh_pre, dh_post, dh_res, dw = _static_layer_bw.functional(x, w, h_pre, h_post, h_res, _grad(g, ctx.like),
                                                                  *ctx.options)
    return (dx, dw.to(w.dtype), dh_pre, dh_post, dh_res) + (None,) * len(ctx.options)


_pre.functional.register_autograd(_pre_backward, setup_context=_pre_setup)
_static_pre.functional.register_autograd(_static_pre_backward, setup_context=_static_pre_setup)
_static_post.functional.register_autograd(_static_post_backward, setup_context=_static_post_setup)
_static_layer.functional.register_autograd(_static_layer_backward, setup_context=_static_layer_setup)
_post.functional.register_autograd(_post_backward, setup_context=_post_setup)
_head.functional.register_autograd(_head_backward, setup_context=_head_setup)
_expand.functional.register_autograd(_expand_backward, setup_context=_expand_setup)


# ---- the public functions ------------------------------------------------------------------------
def pre(residual, fn, scale, base, *, out=None, **options):
    """A3, the pre step of a DeepSeek-V4 layer: (layer_input [T, C] bf16, post_mix [T, n],
    comb_mix [T, n, n]) from the residual R [T, n, C] bf16, fn [N, n*C], scale [3], base [N]
    (fp32; N = n(n+2)). Options: rms_eps, pre_eps, sinkhorn_eps, post_mult, sinkhorn_repeat,
    weight_precision ("tf32", "tf32x3", "fp32"). out=: (layer_input, post_mix, comb_mix, D [T, N],
    Q [T]). Differentiable (MHC_OP_PRE_BACKWARD, from the D and Q it keeps)."""
    if out is not None:
        return _pre.call((residual, fn, scale, base), options, out)
    return _pre.call((residual, fn, scale, base), options, None)[:3]


def post(layer_output, residual, post_mix, comb_mix, *, out=None):
    """A4, the post step: the new residual bf16(post * X + comb^T R) [T, n, C]. Differentiable."""
    return _post.call((layer_output, residual, post_mix, comb_mix), {}, out)


def head(residual, fn, scale, base, *, out=None, **options):
    """A5, the final layer's pre mix: y [T, C] bf16 from R, fn_head [n, n*C], scale_head [1],
    base_head [n]. Options: rms_eps, pre_eps, weight_precision. out=: (y, D [T, n], Q [T]).
    Differentiable (MHC_OP_HEAD_BACKWARD)."""
    if out is not None:
        return _head.call((residual, fn, scale, base), options, out)
    return _head.call((residual, fn, scale, base), options, None)[0]


def expand(embedding, n=4, *, out=None):
    """A6: the embedding [T, C] bf16 copied into n streams, [T, n, C]. Differentiable."""
    return _expand.call((embedding,), {"n": int(n)}, out)


def boundary(layer_output, residual, post_mix, comb_mix, fn, scale, base, *, norm_weight=None, pre_mix=None,
             out=None, **options):
    """A7, the layer boundary in one op: (residual H [T, n, C], layer_input [T, C], post_mix,
    comb_mix, pre_mix of H). pre_mix= (the carried pre [T, n]) selects the DeepSeek-V4.1 shifted
    mode; norm_weight= [C] bf16 the RMSNorm of the layer input (options norm_eps, norm_scale).
    Other options as pre(). No backward."""
    return _boundary.call((layer_output, residual, post_mix, comb_mix, fn, scale, base, norm_weight, pre_mix),
                          options, out)


def boundary_collapse(layer_output, residual, post_mix, comb_mix, pre_mix, *, norm_weight=None, out=None, **options):
    """A8, the critical part of a V4.1 boundary (also the V4.1 head): (H, layer_input). No backward."""
    return _boundary_collapse.call((layer_output, residual, post_mix, comb_mix, pre_mix, norm_weight), options, out)


def boundary_mix(residual, fn, scale, base, *, out=None, **options):
    """A9, the mix part of a V4.1 boundary: (post_mix, comb_mix, pre_mix) of H. No backward."""
    return _boundary_mix.call((residual, fn, scale, base), options, out)


def boundary_first(embedding, fn, scale, base, n=4, *, norm_weight=None, shifted=False, out=None, **options):
    """A10, the first boundary: (H = expand(E), layer_input, post_mix, comb_mix, pre_mix). No backward."""
    return _boundary_first.call((embedding, fn, scale, base, norm_weight), dict(options, n=int(n), shifted=shifted),
                                out)


def static_pre(x, norm_weight, h_pre, *, out=None, **options):
    """B1: (layer_input [B, C], rms [B]) of the static hyper-connection, x [B, n, C] float32 or
    bfloat16 (the act dtype). Option eps. Differentiable (MHC_OP_STATIC_PRE_BACKWARD; rms is not)."""
    return _static_pre.call((x, norm_weight, h_pre), options, out)


def static_post(x, layer_output, h_post, h_res, *, out=None, **options):
    """B2: M x + 2 sigmoid(h_post) F, [B, n, C]. Options eps, sinkhorn_iters. Differentiable."""
    return _static_post.call((x, layer_output, h_post, h_res), options, out)


def static_layer(x, norm_weight, h_pre, h_post, h_res, *, out=None, **options):
    """B3: B2(B1), the whole static hyper-connection layer, [B, n, C]. Options eps,
    sinkhorn_iters. Differentiable (MHC_OP_STATIC_LAYER_BACKWARD)."""
    return _static_layer.call((x, norm_weight, h_pre, h_post, h_res), options, out)


_PUBLIC = {"pre": _pre, "post": _post, "head": _head, "expand": _expand, "boundary": _boundary,
           "boundary_collapse": _boundary_collapse, "boundary_mix": _boundary_mix, "boundary_first": _boundary_first,
           "static_pre": _static_pre, "static_post": _static_post, "static_layer": _static_layer,
           "pre_backward": _pre_bw, "post_backward": _post_bw, "head_backward": _head_bw,
           "expand_backward": _expand_bw, "static_pre_backward": _static_pre_bw,
           "static_post_backward": _static_post_bw, "static_layer_backward": _static_layer_bw}


def plan_for(name, *tensors, **options):
    """The mhc.Plan the op `name` ("pre", "post", ...) runs for these tensors and options (None: a
    CUDA tensor and no CUDA SKU, so the host plan runs on copies)."""
    op = _PUBLIC[name]
    tensors = list(tensors) + [None] * (len(op.inputs) - len(tensors))
    opts = [options.get(o, d) for o, d in op.options]
    T, n, C, act, device = op.prepare(tensors, opts)
    p = _select(op.op, T, n, C, device, op.desc_options(tensors, opts, act))
    return p.plan if p is not None else None


def sku(name, *tensors, **options):
    """The name of the SKU the op `name` runs for these tensors ("host_fp64_pre", "sm90_...")."""
    p = plan_for(name, *tensors, **options)
    return p.sku_name if p is not None else plan_for(name, *[t.cpu() if t is not None else None for t in tensors],
                                                     **options).sku_name
