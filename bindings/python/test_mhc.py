"""Tests of the ctypes module against the built libmhc (ctest -L python):

  * the header-match test: every constant, typedef, struct and field of mhc.h (from the output
    of the mhc_abi_facts program, MHC_ABI_FACTS) against the module, both directions;
  * the plan lifecycle, errors, the binding's own checks (built from the plan's tensor infos:
    shapes, T, dtypes, required and unused fields, element counts of flat buffers), outputs
    against known values on the host backend, with numpy arrays and with plain buffers;
  * a plan selected for T = 8 run on T = 3 (PRE, POST, split partials): the rows equal the first
    3 of a T = 8 run bit for bit, nothing past them is written, T = 9 is refused;
  * with torch importable: CPU tensors on the host backend, and with a CUDA device CUDA tensors
    on a CUDA plan on torch's current stream, against the host result;
  * the doc page's example equals quickstart.py (which run_test.sh runs).

Run: MHC_LIBRARY=<build>/libmhc.so.1 MHC_ABI_FACTS=<build>/bindings/abi_facts.txt \
     python3 -m unittest -v test_mhc
"""
import array
import ctypes
import math
import os
import threading
import unittest

import numpy as np

import mhc

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import torch
except ImportError:
    torch = None


def host_plan(desc, **pref):
    return mhc.Plan(desc, backends=mhc.BACKEND_HOST, **pref)


class library_not_called:
    """Within it, the plan's calls in `names` fail the test: what the binding must refuse (or
    must have cached) never reaches the library."""

    def __init__(self, plan, names=("mhc_plan_run", "mhc_plan_can_implement")):
        self.plan, self.names = plan, names

    def __enter__(self):
        real, names = self.plan._lib, self.names

        class Guard:
            def __getattr__(self, name):
                if name in names:
                    raise AssertionError("%s was called: the binding should not have reached the library" % name)
                return getattr(real, name)
        self.real, self.plan._lib = real, Guard()
        return self

    def __exit__(self, *exc):
        self.plan._lib = self.real


_NP_DTYPES = {mhc.DTYPE_FP32: np.float32, mhc.DTYPE_BF16: np.uint16}
# Filler for output rows a run must not touch: NaN bit patterns no computation produces.
_SENTINELS = {mhc.DTYPE_FP32: np.uint32(0x7FC12345).view(np.float32), mhc.DTYPE_BF16: np.uint16(0x7FC1)}


def new_outputs(plan, tokens, room=None):
    """Every output of the plan for a run of T = tokens, allocated from plan.tensors and filled
    with the sentinel. With room: each is the first `tokens` rows of a buffer of `room` rows
    (token dim 0), returned as (views, buffers)."""
    views, bufs = {}, {}
    for t in plan.tensors:
        if not t.is_output:
            continue
        buf = np.full(t.shape_at(room or tokens), _SENTINELS[t.dtype], _NP_DTYPES[t.dtype])
        bufs[t.field] = buf
        views[t.field] = buf[:tokens] if room else buf
    return (views, bufs) if room else views


def values(count, seed, lo, hi):
    return np.random.default_rng(seed).uniform(lo, hi, count).astype(np.float32)


def static_layer_oracle(x, w, h_pre, h_post, h_res, eps=1e-5, iters=20):
    """docs/numerics.md family B in float64. x [B, n, C], w float [C]."""
    x = x.astype(np.float64)
    h_res = h_res.astype(np.float64)
    m = np.exp(h_res - h_res.max(axis=1, keepdims=True))
    for _ in range(iters):
        r = m.sum(axis=1, keepdims=True)
        m = np.where(r > eps, m / np.where(r > eps, r, 1), m)
        c = m.sum(axis=0, keepdims=True)
        m = np.where(c > eps, m / np.where(c > eps, c, 1), m)
    sig = lambda z: 1 / (1 + np.exp(-z.astype(np.float64)))  # noqa: E731
    y = np.einsum("i,bic->bc", sig(h_pre), x)
    rms = 1 / np.sqrt((y * y).mean(axis=1, keepdims=True) + eps)
    yn = y * rms * w.astype(np.float64)
    return np.einsum("ij,bjc->bic", m, x) + 2 * sig(h_post)[None, :, None] * yn[:, None, :]


class HeaderMatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        path = os.environ.get("MHC_ABI_FACTS")
        if not path:
            raise AssertionError("MHC_ABI_FACTS is not set: it names the output of the mhc_abi_facts program the "
                                 "CMake build makes (build/bindings/abi_facts.txt); `ctest -L python` sets it")
        cls.consts, cls.typedefs, cls.structs, cls.fields = {}, {}, {}, {}
        with open(path) as f:
            for line in f:
                w = line.split()
                if w[0] == "const" and len(w) == 3:
                    cls.consts[w[1]] = int(w[2])
                elif w[0] == "typedef" and len(w) == 5:
                    cls.typedefs[w[1]] = (int(w[2]), int(w[3]), w[4] == "signed")
                elif w[0] == "struct" and len(w) == 4:
                    cls.structs[w[1]] = (int(w[2]), int(w[3]))
                elif w[0] == "field" and len(w) == 5:
                    cls.fields.setdefault(w[1], []).append((w[2], int(w[3]), int(w[4])))
                else:
                    raise AssertionError("%s: unexpected line %r" % (path, line))
        assert len(cls.consts) >= 50 and len(cls.structs) >= 4, path + " looks truncated"

    def test_constants(self):
        errors = ["%s = %d is in mhc.h but not in the module" % (k, v) for k, v in self.consts.items()
                  if k not in mhc.CONSTANTS]
        errors += ["%s: mhc.h says %d, the module %d" % (k, v, mhc.CONSTANTS[k]) for k, v in self.consts.items()
                   if k in mhc.CONSTANTS and mhc.CONSTANTS[k] != v]
        errors += ["%s is in the module but not in mhc.h" % k for k in mhc.CONSTANTS if k not in self.consts]
        self.assertEqual(errors, [])

    def test_typedefs(self):
        mine = {name: (ctypes.sizeof(t), ctypes.alignment(t), t(-1).value < 0) for name, t in mhc.TYPEDEFS.items()}
        self.assertEqual(mine, self.typedefs)

    def test_structs(self):
        self.assertEqual(sorted(mhc.STRUCTS), sorted(self.structs))
        for name, cls in mhc.STRUCTS.items():
            self.assertEqual((ctypes.sizeof(cls), ctypes.alignment(cls)), self.structs[name], name)
            mine = [(f[0], getattr(cls, f[0]).offset, getattr(cls, f[0]).size) for f in cls._fields_]
            self.assertEqual(mine, self.fields[name], name)

    def test_loaded_library(self):
        self.assertEqual((mhc.version(), mhc.abi_version()), (mhc.VERSION, mhc.ABI_VERSION))
        self.assertEqual(mhc.lib().mhc_check_abi(mhc.ABI_VERSION + 1), mhc.STATUS_BAD_PARAM_ABI_MISMATCH)


class Lifecycle(unittest.TestCase):
    def test_library_queries(self):
        v = mhc.VERSION
        self.assertEqual(mhc.version_string(), "%d.%d.%d" % (v // 10000, v // 100 % 100, v % 100))
        self.assertGreaterEqual(mhc.cuda_device_count(), 0)
        self.assertEqual(mhc.status_name(mhc.STATUS_BAD_PARAM_SHAPE), "MHC_STATUS_BAD_PARAM_SHAPE")
        self.assertEqual(mhc.sku_name(mhc.SKU_HOST_PRE), "host_fp64_pre")
        self.assertIsNone(mhc.sku_name(0xDEADBEEF))

    def test_defaults_come_from_the_library(self):
        d = mhc.new_desc(mhc.OP_STATIC_LAYER)
        self.assertEqual((d.struct_size, d.n, d.sinkhorn_repeat, d.act_dtype), (80, 4, 20, mhc.DTYPE_FP32))
        b = mhc.new_desc(mhc.OP_BOUNDARY, norm_scale=0.5)
        self.assertEqual((b.act_dtype, b.norm_eps, b.norm_scale), (mhc.DTYPE_BF16, np.float32(1e-6), 0.5))
        self.assertAlmostEqual(d.static_eps, 1e-5, places=12)
        p = mhc.new_preference()
        self.assertEqual((p.backends, p.max_workspace_bytes, p.forced_sku), (mhc.BACKEND_ANY, 2**64 - 1, 0))
        with self.assertRaises(TypeError):
            mhc.new_desc(mhc.OP_PRE, tokenz=3)

    def test_plan_queries_and_close(self):
        plan = host_plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=3, hidden=16))
        self.assertEqual((plan.sku, plan.sku_name, plan.workspace_size), (mhc.SKU_HOST_STATIC_LAYER,
                                                                          "host_fp64_static_layer", 0))
        g = plan.precision_guarantee
        all_flags = (mhc.GUARANTEE_DETERMINISTIC | mhc.GUARANTEE_BIT_STABLE | mhc.GUARANTEE_BATCH_INVARIANT |
                     mhc.GUARANTEE_NO_ATOMICS)
        self.assertEqual((g.math_precision, g.accumulator, g.flags & all_flags), (mhc.DTYPE_FP64, mhc.DTYPE_FP64,
                                                                                  all_flags))
        self.assertEqual((plan.desc.tokens, plan.desc.hidden, plan.desc.op), (3, 16, mhc.OP_STATIC_LAYER))
        plan.close()
        plan.close()
        with mhc.Plan(mhc.new_desc(mhc.OP_PRE, tokens=5, hidden=256), backends=mhc.BACKEND_HOST,
                      required=mhc.GUARANTEE_BATCH_INVARIANT) as bi:
            self.assertTrue(bi.precision_guarantee.flags & mhc.GUARANTEE_BATCH_INVARIANT)
            self.assertGreaterEqual(bi.desc.num_splits, 1)

    def test_errors(self):
        with self.assertRaises(mhc.BadParamError) as cm:
            host_plan(mhc.new_desc(mhc.OP_PRE, tokens=4, n=9, hidden=64))
        e = cm.exception
        self.assertEqual((e.status, e.category), (mhc.STATUS_BAD_PARAM_SHAPE, mhc.STATUS_BAD_PARAM))
        self.assertIn("desc->n", e.message)
        self.assertTrue(str(e).startswith("MHC_STATUS_BAD_PARAM_SHAPE (2003): "), str(e))
        with self.assertRaises(mhc.BadParamError) as cm:
            mhc.new_desc(99)
        self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_UNKNOWN_ENUM)
        with self.assertRaises(mhc.NotSupportedError):
            mhc.Plan(mhc.new_desc(mhc.OP_POST, tokens=2, hidden=8), backends=mhc.BACKEND_HOST,
                     forced_sku=mhc.SKU_HOST_PRE)
        # Codes from a newer library: plain ints with a category.
        self.assertIsInstance(mhc._error(2999, "m"), mhc.BadParamError)
        self.assertEqual(mhc.status_name(2999), "MHC_STATUS_BAD_PARAM (unknown detail)")
        newer = mhc._error(7001, "m")
        self.assertIs(type(newer), mhc.MhcError)
        self.assertEqual((newer.category, mhc.status_name(7001)), (7000, "unknown mhc_status_t"))
        if mhc.cuda_device_count() == 0:
            with self.assertRaises(mhc.NotSupportedError) as cm:
                mhc.Plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=2, hidden=8), backends=mhc.BACKEND_CUDA)
            self.assertEqual(cm.exception.status, mhc.STATUS_NOT_SUPPORTED_NO_DEVICE)


class StaticLayer(unittest.TestCase):
    B, N, C = 3, 4, 40

    def setUp(self):
        B, N, C = self.B, self.N, self.C
        self.plan = host_plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=B, n=N, hidden=C))
        self.x = values(B * N * C, 1, -2, 2).reshape(B, N, C)
        self.w = mhc.bf16_from_float32(values(C, 2, 0.5, 1.5))
        self.h_pre, self.h_post = values(N, 3, -1, 1), values(N, 4, -1, 1)
        self.h_res = values(N * N, 5, -2, 2).reshape(N, N)

    def tearDown(self):
        self.plan.close()

    def run_numpy(self, plan=None):
        out = np.full((self.B, self.N, self.C), np.nan, np.float32)
        (plan or self.plan).run(residual=self.x, norm_weight=self.w, h_pre=self.h_pre, h_post=self.h_post,
                                h_res=self.h_res, out_residual=out)
        return out

    def test_matches_the_formula(self):
        out = self.run_numpy()
        want = static_layer_oracle(self.x, mhc.bf16_to_float32(self.w), self.h_pre, self.h_post, self.h_res)
        err = np.abs(out.astype(np.float64) - want) / np.maximum(1, np.abs(want))
        self.assertLessEqual(err.max(), 1e-6)  # fp64 on the host, rounded once to fp32

    def test_known_outputs_by_hand(self):
        # h = 0: s_pre = 0.5, s_post = 1, M = 1/n. Every stream holding the same row v of +-1 and
        # w = 1: y = 2v, mean(y^2) = 4, out = v + 2v / sqrt(4 + eps).
        v = np.where(np.arange(self.C) % 2 == 0, 1.0, -1.0).astype(np.float32)
        x = np.broadcast_to(v, (self.B, self.N, self.C)).copy()
        out = np.empty_like(x)
        z = np.zeros(self.N, np.float32)
        self.plan.run(residual=x, norm_weight=mhc.bf16_from_float32(np.ones(self.C, np.float32)), h_pre=z,
                      h_post=z, h_res=np.zeros((self.N, self.N), np.float32), out_residual=out)
        np.testing.assert_allclose(out, np.broadcast_to(v + 2 * v / math.sqrt(4 + 1e-5), out.shape), rtol=0,
                                   atol=1e-6)

    def test_plain_buffers_give_the_same_bits(self):
        out = array.array("f", bytes(self.x.nbytes))
        self.plan.run(residual=array.array("f", self.x.ravel().tolist()),
                      norm_weight=bytes(self.w.tobytes()),  # read-only bytes: an input
                      h_pre=memoryview(array.array("f", self.h_pre.tolist())),
                      h_post=bytearray(self.h_post.tobytes()),  # raw bytes: size checked only
                      h_res=array.array("f", self.h_res.ravel().tolist()), out_residual=out)
        self.assertEqual(np.frombuffer(out, np.float32).tobytes(), self.run_numpy().tobytes())

    def test_binding_checks(self):
        kw = dict(residual=self.x, norm_weight=self.w, h_pre=self.h_pre, h_post=self.h_post, h_res=self.h_res,
                  out_residual=np.empty_like(self.x))
        self.plan.can_implement(**kw)
        with library_not_called(self.plan):
            with self.assertRaises(mhc.BadParamError) as cm:  # a required tensor missing
                self.plan.can_implement(**dict(kw, h_res=None))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_NULL_POINTER)
            self.assertIn("args.h_res is missing: the plan (MHC_OP_STATIC_LAYER) needs it, FP32 [4, 4]",
                          cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # flattened: the shape is wrong
                self.plan.can_implement(**dict(kw, residual=self.x.ravel()))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_SHAPE)
            self.assertIn("args.residual: shape [480] given, the plan takes [T, 4, 40] with T in 1..3",
                          cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # a weight of the wrong length
                self.plan.run(**dict(kw, h_pre=np.zeros(self.N + 1, np.float32)))
            self.assertIn("args.h_pre: shape [5] given, the plan takes [4]", cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # fp32 where bf16 goes
                self.plan.run(**dict(kw, norm_weight=np.ones(self.C, np.float32)))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_VALUE)
            self.assertIn("args.norm_weight: FP32 given, the plan takes BF16 [40]", cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # a field the op does not use
                self.plan.run(**dict(kw, fn=np.zeros((24, 160), np.float32)))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_VALUE)
            self.assertIn("args.fn: the plan (MHC_OP_STATIC_LAYER) does not use it; it takes residual, norm_weight, "
                          "h_pre, h_post, h_res, out_residual", cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # raw memory with a shape: checked by it
                self.plan.run(**dict(kw, out_residual=mhc.Tensor(self.x.ctypes.data, self.x.nbytes, mhc.DTYPE_FP32,
                                                                 shape=(self.B, self.C, self.N))))
            self.assertIn("args.out_residual: shape [3, 40, 4] given", cm.exception.message)
        with self.assertRaises(mhc.BadParamError):  # not contiguous
            self.plan.run(**dict(kw, residual=np.asfortranarray(self.x)))
        with self.assertRaises(mhc.BadParamError):  # a read-only output
            ro = np.empty_like(self.x)
            ro.setflags(write=False)
            self.plan.run(**dict(kw, out_residual=ro))
        with self.assertRaises(TypeError):
            self.plan.run(**dict(kw, bogus=self.x))
        if mhc.cuda_device_count() == 0:
            # A CUDA array (by its interface) to a host plan where the library cannot tell: refused
            # before the call, never dereferenced.
            class FakeCudaArray:
                __cuda_array_interface__ = {"shape": (self.B, self.N, self.C), "typestr": "<f4", "data": (64, False),
                                            "version": 3, "strides": None, "stream": 1}
            with self.assertRaises(mhc.BadParamError) as cm:
                self.plan.run(**dict(kw, residual=FakeCudaArray()))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_MEMORY_SPACE)

    def test_transposed_residual_is_refused_before_the_library(self):
        # [T, C, n] holds as many bytes as [T, n, C]: only the shape tells them apart.
        xt = np.ascontiguousarray(self.x.transpose(0, 2, 1))
        self.assertEqual(xt.nbytes, self.x.nbytes)
        kw = dict(residual=xt, norm_weight=self.w, h_pre=self.h_pre, h_post=self.h_post, h_res=self.h_res,
                  out_residual=np.empty_like(self.x))
        with library_not_called(self.plan):
            for call in (self.plan.run, self.plan.can_implement):
                with self.assertRaises(mhc.BadParamError) as cm:
                    call(**kw)
                self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_SHAPE)
                self.assertEqual(cm.exception.message, "mhc (Python binding): args.residual: shape [3, 40, 4] given, "
                                                       "the plan takes [T, 4, 40] with T in 1..3")

    def test_buffers_without_a_shape_are_checked_by_element_count(self):
        N, C = self.N, self.C
        kw = dict(residual=array.array("f", self.x.ravel().tolist()), norm_weight=self.w, h_pre=self.h_pre,
                  h_post=self.h_post, h_res=self.h_res, out_residual=array.array("f", bytes(self.x.nbytes)))
        self.plan.can_implement(**kw)
        with library_not_called(self.plan):
            with self.assertRaises(mhc.BadParamError) as cm:  # one element short
                self.plan.run(**dict(kw, residual=array.array("f", self.x.ravel()[:-1].tolist())))
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_SHAPE)
            self.assertIn("args.residual: 1916 bytes given (no shape), the plan takes FP32 [T, 4, 40] with T in 1..3: "
                          "T * 160 elements of 4 bytes", cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # raw bytes of one element too many
                self.plan.run(**dict(kw, h_post=bytearray(4 * (N + 1))))
            self.assertIn("args.h_post: 20 bytes given (no shape), the plan takes FP32 [4]: 4 elements",
                          cm.exception.message)
            with self.assertRaises(mhc.BadParamError) as cm:  # 2 rows in, 3 rows out
                self.plan.run(**dict(kw, residual=array.array("f", self.x[:2].ravel().tolist())))
            self.assertIn("args.out_residual: T = 3 (1920 bytes given, the plan takes [T, 4, 40]), but args.residual "
                          "has T = 2 (1280 bytes): every tensor of a run has the same T", cm.exception.message)
        # Two rows in and out, from counts alone: the first two rows of the full run.
        out2 = array.array("f", bytes(2 * N * C * 4))
        self.plan.run(**dict(kw, residual=array.array("f", self.x[:2].ravel().tolist()), out_residual=out2))
        self.assertEqual(out2.tobytes(), self.run_numpy()[:2].tobytes())

    def test_threads_share_a_plan(self):
        first = self.run_numpy()
        results = [None] * 6

        def work(i):
            results[i] = self.run_numpy()
        threads = [threading.Thread(target=work, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            self.assertEqual(r.tobytes(), first.tobytes())

    @unittest.skipIf(torch is None, "torch is not importable: torch tensors not tested")
    def test_torch_cpu_tensors(self):
        out = torch.empty(self.B, self.N, self.C)
        self.plan.run(residual=torch.from_numpy(self.x), norm_weight=torch.from_numpy(self.w.view(np.int16)).view(torch.bfloat16),
                      h_pre=torch.from_numpy(self.h_pre), h_post=torch.from_numpy(self.h_post),
                      h_res=torch.from_numpy(self.h_res), out_residual=out)
        self.assertEqual(out.numpy().tobytes(), self.run_numpy().tobytes())

    @unittest.skipIf(torch is None or not (torch.cuda.is_available() and mhc.cuda_device_count() > 0),
                     "no torch with CUDA and a CUDA device for libmhc: CUDA tensors not tested")
    def test_torch_cuda_tensors_on_the_current_stream(self):
        plan = mhc.Plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=self.B, n=self.N, hidden=self.C))
        self.assertFalse(plan.on_host, plan.sku_name)
        dev = torch.device("cuda")
        stream = torch.cuda.Stream()
        with torch.cuda.stream(stream):
            out = torch.empty(self.B, self.N, self.C, device=dev)
            plan.run(residual=torch.from_numpy(self.x).to(dev),
                     norm_weight=torch.from_numpy(self.w.view(np.int16)).view(torch.bfloat16).to(dev),
                     h_pre=torch.from_numpy(self.h_pre).to(dev), h_post=torch.from_numpy(self.h_post).to(dev),
                     h_res=torch.from_numpy(self.h_res).to(dev), out_residual=out)
        stream.synchronize()
        want = self.run_numpy()
        err = np.abs(out.cpu().numpy() - want) / np.maximum(1, np.abs(want))
        self.assertLessEqual(err.max(), 1e-4)  # docs/numerics.md: family B fp32 path
        plan.close()


class TensorInfo(unittest.TestCase):
    def test_op_names(self):
        for name, value in mhc.CONSTANTS.items():
            if name.startswith("MHC_OP_"):
                self.assertEqual(mhc.op_name(value), name)
        self.assertEqual(mhc.op_name(mhc.OP_BOUNDARY_FIRST), "MHC_OP_BOUNDARY_FIRST")
        self.assertIsNone(mhc.op_name(11))
        self.assertIsNone(mhc.op_name(99))

    def test_plan_tensors(self):
        R, I, O = mhc.DTYPE_FP32, False, True
        with host_plan(mhc.new_desc(mhc.OP_STATIC_LAYER, tokens=3, n=4, hidden=40)) as plan:
            self.assertEqual(plan.op_name, "MHC_OP_STATIC_LAYER")
            got = [(t.field, t.is_output, t.dtype, t.required, t.shape, t.token_dim) for t in plan.tensors]
            self.assertEqual(got, [("residual", I, R, True, (3, 4, 40), 0),
                                   ("norm_weight", I, mhc.DTYPE_BF16, True, (40,), None),
                                   ("h_pre", I, R, True, (4,), None), ("h_post", I, R, True, (4,), None),
                                   ("h_res", I, R, True, (4, 4), None), ("out_residual", O, R, True, (3, 4, 40), 0)])
            for t in plan.tensors:
                self.assertEqual(t.field_offset, getattr(mhc.Args, t.field).offset, t.field)
                self.assertEqual(t.role, mhc.TENSOR_ROLE_OUTPUT if t.is_output else mhc.TENSOR_ROLE_INPUT)
            r = plan.tensors[0]
            self.assertEqual((r.pattern(), r.shape_at(2), r.dtype_name), ("[T, 4, 40]", (2, 4, 40), "FP32"))
            # Queried once at select: a run asks the library nothing about its tensors.
            out = new_outputs(plan, 2)
            with library_not_called(plan, ("mhc_plan_get_tensor_count", "mhc_plan_get_tensor_info")):
                plan.run(residual=np.zeros((2, 4, 40), np.float32), norm_weight=np.zeros(40, np.uint16),
                         h_pre=np.zeros(4, np.float32), h_post=np.zeros(4, np.float32),
                         h_res=np.zeros((4, 4), np.float32), **out)
            self.assertTrue(np.all(out["out_residual"] == 0))
        with host_plan(mhc.new_desc(mhc.OP_PRE, tokens=5, n=4, hidden=64)) as plan:
            optional = {t.field: t.shape for t in plan.tensors if not t.required}
            self.assertEqual(optional, {"out_gemm": (5, 24), "out_sqrsum": (5,)})
        with host_plan(mhc.new_desc(mhc.OP_PRENORM_GEMM, tokens=5, n=4, hidden=64, num_splits=2,
                                    flags=mhc.DESC_FLAG_SPLIT_PARTIALS)) as plan:
            gemm = {t.field: t for t in plan.tensors}["out_gemm"]
            self.assertEqual((gemm.shape, gemm.token_dim, gemm.pattern()), ((2, 5, 24), 1, "[2, T, 24]"))


class FewerTokensThanThePlan(unittest.TestCase):
    """A plan selected for T = 8 run on T = 3: the rows equal the first 3 of a T = 8 run."""
    T, ROWS, N, C = 8, 3, 4, 64

    def pre_inputs(self):
        T, N, C = self.T, self.N, self.C
        return dict(residual=mhc.bf16_from_float32(values(T * N * C, 11, -2, 2)).reshape(T, N, C),
                    fn=values(N * (N + 2) * N * C, 12, -0.05, 0.05).reshape(N * (N + 2), N * C),
                    scale=np.array([0.5, 0.75, 1.25], np.float32), base=values(N * (N + 2), 13, -0.5, 0.5))

    def post_inputs(self):
        T, N, C = self.T, self.N, self.C
        return dict(layer_output=mhc.bf16_from_float32(values(T * C, 21, -2, 2)).reshape(T, C),
                    residual=mhc.bf16_from_float32(values(T * N * C, 22, -2, 2)).reshape(T, N, C),
                    post_mix=values(T * N, 23, 0, 2).reshape(T, N), comb_mix=values(T * N * N, 24, 0, 1).reshape(T, N, N))

    def check_prefix(self, plan, inputs):
        rows = self.ROWS
        full = new_outputs(plan, self.T)
        plan.run(**inputs, **full)
        # T = 3 inputs: copies of the first rows; outputs: the first rows of sentinel-filled buffers.
        firsts = {t.field: np.ascontiguousarray(inputs[t.field][:rows]) if t.token_dim is not None
                  else inputs[t.field] for t in plan.tensors if t.field in inputs}
        part, bufs = new_outputs(plan, rows, room=self.T)
        plan.run(**firsts, **part)
        for field, out in part.items():
            self.assertEqual(out.tobytes(), full[field][:rows].tobytes(), field)
            self.assertTrue(np.all(bufs[field][rows:].view(np.uint8) == np.full_like(
                bufs[field][rows:], _SENTINELS[plan._by_field[field].dtype]).view(np.uint8)),
                "%s: the run wrote past its T" % field)
        return full, part

    def test_pre_batch_invariant(self):
        with host_plan(mhc.new_desc(mhc.OP_PRE, tokens=self.T, n=self.N, hidden=self.C),
                       required=mhc.GUARANTEE_BATCH_INVARIANT) as plan:
            full, part = self.check_prefix(plan, self.pre_inputs())
            self.assertEqual(sorted(part), ["out_comb_mix", "out_gemm", "out_layer_input", "out_post_mix",
                                            "out_sqrsum"])
            self.assertFalse(np.isnan(mhc.bf16_to_float32(full["out_layer_input"])).any())

    def test_post(self):
        with host_plan(mhc.new_desc(mhc.OP_POST, tokens=self.T, n=self.N, hidden=self.C)) as plan:
            inputs = self.post_inputs()
            full, part = self.check_prefix(plan, inputs)
            # The same T = 3 run through flat buffers: T comes from the element counts.
            rows, N, C = self.ROWS, self.N, self.C
            out = bytearray(rows * N * C * 2)
            plan.run(layer_output=array.array("H", inputs["layer_output"][:rows].ravel().tolist()),
                     residual=array.array("H", inputs["residual"][:rows].ravel().tolist()),
                     post_mix=array.array("f", inputs["post_mix"][:rows].ravel().tolist()),
                     comb_mix=bytearray(inputs["comb_mix"][:rows].tobytes()), out_residual=out)
            self.assertEqual(bytes(out), part["out_residual"].tobytes())

    def test_split_partials_token_dim_1(self):
        with host_plan(mhc.new_desc(mhc.OP_PRENORM_GEMM, tokens=self.T, n=self.N, hidden=self.C, num_splits=2,
                                    flags=mhc.DESC_FLAG_SPLIT_PARTIALS),
                       required=mhc.GUARANTEE_BATCH_INVARIANT) as plan:
            inputs = {k: v for k, v in self.pre_inputs().items() if k in ("residual", "fn")}
            full = new_outputs(plan, self.T)
            plan.run(**inputs, **full)
            part = new_outputs(plan, self.ROWS)
            self.assertEqual(part["out_gemm"].shape, (2, self.ROWS, self.N * (self.N + 2)))
            plan.run(residual=inputs["residual"][:self.ROWS].copy(), fn=inputs["fn"], **part)
            for field, out in part.items():
                self.assertEqual(out.tobytes(), np.ascontiguousarray(full[field][:, :self.ROWS]).tobytes(), field)

    def test_more_tokens_than_the_plan_are_refused(self):
        with host_plan(mhc.new_desc(mhc.OP_POST, tokens=self.T, n=self.N, hidden=self.C)) as plan:
            nine = {k: np.concatenate([v, v[:1]]) for k, v in self.post_inputs().items()}
            with library_not_called(plan):
                with self.assertRaises(mhc.BadParamError) as cm:
                    plan.run(**nine, **new_outputs(plan, self.T))
                self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_SHAPE)
                self.assertIn("args.layer_output: shape [9, 64] given, the plan takes [T, 64] with T in 1..8 (T = 9 is "
                              "out of range", cm.exception.message)
                with self.assertRaises(mhc.BadParamError) as cm:  # T = 0
                    plan.run(**{k: v[:0] for k, v in nine.items()}, **new_outputs(plan, 1))
                self.assertIn("T = 0 is out of range", cm.exception.message)
                with self.assertRaises(mhc.BadParamError) as cm:  # 3 rows in, 8 rows out
                    plan.run(**{k: v[:3] for k, v in nine.items()}, **new_outputs(plan, self.T))
                self.assertIn("args.out_residual: T = 8 (shape [8, 4, 64] given, the plan takes [T, 4, 64]), but "
                              "args.layer_output has T = 3 (shape [3, 64]): every tensor of a run has the same T",
                              cm.exception.message)


class Boundary(unittest.TestCase):
    T, ROWS, N, C = 4, 3, 4, 64

    def desc(self, op, flags=0):
        return mhc.new_desc(op, tokens=self.T, n=self.N, hidden=self.C, flags=flags, norm_eps=1e-5, norm_scale=0.75)

    def test_tensors(self):
        R, F, I, O = mhc.DTYPE_BF16, mhc.DTYPE_FP32, False, True
        with host_plan(self.desc(mhc.OP_BOUNDARY_MIX)) as plan:
            self.assertEqual((plan.sku, plan.op_name), (mhc.SKU_HOST_BOUNDARY_MIX, "MHC_OP_BOUNDARY_MIX"))
            got = [(t.field, t.is_output, t.dtype, t.shape) for t in plan.tensors]
            self.assertEqual(got, [("residual", I, R, (4, 4, 64)), ("fn", I, F, (24, 256)), ("scale", I, F, (3,)),
                                   ("base", I, F, (24,)), ("out_post_mix", O, F, (4, 4)),
                                   ("out_comb_mix", O, F, (4, 4, 4)), ("out_pre_mix", O, F, (4, 4))])
        for op, flags in ((mhc.OP_BOUNDARY, mhc.DESC_FLAG_SHIFTED | mhc.DESC_FLAG_NORM),
                          (mhc.OP_BOUNDARY_COLLAPSE, mhc.DESC_FLAG_NORM),
                          (mhc.OP_BOUNDARY_FIRST, mhc.DESC_FLAG_SHIFTED)):
            with host_plan(self.desc(op, flags)) as plan:
                self.assertEqual((plan.desc.flags, plan.desc.norm_eps, plan.desc.norm_scale),
                                 (flags, np.float32(1e-5), 0.75))
                for t in plan.tensors:
                    self.assertEqual(t.field_offset, getattr(mhc.Args, t.field).offset, t.field)
                fields = {t.field for t in plan.tensors}
                self.assertEqual(("pre_mix" in fields, "out_pre_mix" in fields),
                                 (op != mhc.OP_BOUNDARY_FIRST, op != mhc.OP_BOUNDARY_COLLAPSE), plan.op_name)

    def test_shifted_boundary_is_collapse_then_mix(self):
        """The V4.1 boundary (OP_BOUNDARY, DESC_FLAG_SHIFTED) is its critical part
        (OP_BOUNDARY_COLLAPSE: post, collapse with the carried pre, RMSNorm) and its mix part
        (OP_BOUNDARY_MIX on the new residual): bit-identical on the host backend. Runs T = 3 on
        plans for T = 4: pre_mix and out_pre_mix sit after args.tokens."""
        T, N, C = self.ROWS, self.N, self.C
        NN = N * (N + 2)
        ins = dict(layer_output=mhc.bf16_from_float32(values(T * C, 31, -2, 2)).reshape(T, C),
                   residual=mhc.bf16_from_float32(values(T * N * C, 32, -2, 2)).reshape(T, N, C),
                   post_mix=values(T * N, 33, 0, 2).reshape(T, N),
                   comb_mix=values(T * N * N, 34, 0, 0.5).reshape(T, N, N),
                   pre_mix=values(T * N, 35, 0, 1).reshape(T, N),
                   norm_weight=mhc.bf16_from_float32(values(C, 36, 0.5, 1.5)))
        coeffs = dict(fn=values(NN * N * C, 37, -0.05, 0.05).reshape(NN, N * C),
                      scale=np.array([0.5, 0.25, 0.125], np.float32), base=values(NN, 38, -0.5, 0.5))
        with host_plan(self.desc(mhc.OP_BOUNDARY, mhc.DESC_FLAG_SHIFTED | mhc.DESC_FLAG_NORM)) as fused, \
                host_plan(self.desc(mhc.OP_BOUNDARY_COLLAPSE, mhc.DESC_FLAG_NORM)) as collapse, \
                host_plan(self.desc(mhc.OP_BOUNDARY_MIX)) as mix:
            self.assertEqual((fused.sku, collapse.sku), (mhc.SKU_HOST_BOUNDARY, mhc.SKU_HOST_BOUNDARY_COLLAPSE))
            a = new_outputs(fused, T)
            fused.run(**ins, **coeffs, **a)
            b = new_outputs(collapse, T)
            collapse.run(**ins, **b)
            b.update(new_outputs(mix, T))
            mix.run(residual=b["out_residual"], out_post_mix=b["out_post_mix"], out_comb_mix=b["out_comb_mix"],
                    out_pre_mix=b["out_pre_mix"], **coeffs)
            self.assertEqual(sorted(a), sorted(b))
            for field in a:
                self.assertEqual(a[field].tobytes(), b[field].tobytes(), field)
            self.assertFalse(np.isnan(a["out_pre_mix"]).any())
        with host_plan(self.desc(mhc.OP_BOUNDARY, mhc.DESC_FLAG_NORM)) as v4:  # V4: no carried pre
            with self.assertRaises(mhc.BadParamError) as cm:
                v4.can_implement(pre_mix=ins["pre_mix"])
            self.assertIn("args.pre_mix: the plan (MHC_OP_BOUNDARY) does not use it", cm.exception.message)


class ExpandPost(unittest.TestCase):
    def test_expand_then_post_is_exact(self):
        # A6 copies the embedding into n streams; A4 with comb a permutation and post = 0.5 on a
        # layer output of 2.0 gives out[k] = R[perm(k)] + 1, all exact in bf16.
        T, n, C = 3, 4, 24
        with host_plan(mhc.new_desc(mhc.OP_EXPAND, tokens=T, n=n, hidden=C)) as expand, \
                host_plan(mhc.new_desc(mhc.OP_POST, tokens=T, n=n, hidden=C)) as post:
            e = mhc.bf16_from_float32((np.arange(T * C) % 13 * 0.25 - 1.5).astype(np.float32)).reshape(T, C)
            r = np.empty((T, n, C), np.uint16)
            expand.run(embedding=e, out_residual=r)
            np.testing.assert_array_equal(r, np.broadcast_to(e[:, None, :], r.shape))
            r = mhc.bf16_from_float32(mhc.bf16_to_float32(r) + np.arange(n, dtype=np.float32)[None, :, None])
            perm = [2, 0, 3, 1]  # out stream k reads stream perm[k]
            comb = np.zeros((T, n, n), np.float32)
            for k in range(n):
                comb[:, perm[k], k] = 1  # out[k] = sum_j comb[j][k] R[j]
            out = np.empty_like(r)
            post.run(layer_output=mhc.bf16_from_float32(np.full((T, C), 2, np.float32)), residual=r,
                     post_mix=np.full((T, n), 0.5, np.float32), comb_mix=comb, out_residual=out)
            want = mhc.bf16_from_float32(mhc.bf16_to_float32(r[:, perm, :]) + 1)
            np.testing.assert_array_equal(out, want)


class Backward(unittest.TestCase):
    """The backward ops (since 0.4): the gradient fields after args.tokens and grad_accumulate."""
    T, N, C = 3, 4, 32

    def test_post_backward_matches_the_formula(self):
        # out[t,k,:] = post[t,k] X[t,:] + sum_j comb[t,j,k] R[t,j,:]
        T, N, C = self.T, self.N, self.C
        X = mhc.bf16_from_float32(values(T * C, 41, -2, 2)).reshape(T, C)
        R = mhc.bf16_from_float32(values(T * N * C, 42, -2, 2)).reshape(T, N, C)
        post, comb = values(T * N, 43, 0, 2).reshape(T, N), values(T * N * N, 44, 0, 1).reshape(T, N, N)
        G = mhc.bf16_from_float32(values(T * N * C, 45, -1, 1)).reshape(T, N, C)
        with host_plan(mhc.new_desc(mhc.OP_POST_BACKWARD, tokens=T, n=N, hidden=C)) as plan:
            self.assertEqual((plan.sku, plan.op_name), (mhc.SKU_HOST_POST_BACKWARD, "MHC_OP_POST_BACKWARD"))
            for t in plan.tensors:
                self.assertEqual(t.field_offset, getattr(mhc.Args, t.field).offset, t.field)
            out = new_outputs(plan, T)
            self.assertEqual(sorted(out), ["out_grad_comb_mix", "out_grad_layer_output", "out_grad_post_mix",
                                           "out_grad_residual"])
            plan.run(layer_output=X, residual=R, post_mix=post, comb_mix=comb, grad_residual=G, **out)
            x, r, g = (mhc.bf16_to_float32(a).astype(np.float64) for a in (X, R, G))
            want = {"out_grad_layer_output": np.einsum("tk,tkc->tc", post, g),
                    "out_grad_residual": np.einsum("tjk,tkc->tjc", comb, g),
                    "out_grad_post_mix": np.einsum("tc,tkc->tk", x, g),
                    "out_grad_comb_mix": np.einsum("tjc,tkc->tjk", r, g)}
            for field, w in want.items():
                got = out[field]
                got = mhc.bf16_to_float32(got) if got.dtype == np.uint16 else got
                rel = 2.0 ** -8 if out[field].dtype == np.uint16 else 1e-6
                np.testing.assert_allclose(got, w, rtol=rel, atol=1e-6, err_msg=field)
            # grad_accumulate by name: dX is added to (here: to itself, so doubled exactly).
            again = dict(out)
            again["out_grad_layer_output"] = out["out_grad_layer_output"].copy()
            plan.run(layer_output=X, residual=R, post_mix=post, comb_mix=comb, grad_residual=G,
                     grad_accumulate=["out_grad_layer_output"], **again)
            np.testing.assert_array_equal(mhc.bf16_to_float32(again["out_grad_layer_output"]),
                                          2 * mhc.bf16_to_float32(out["out_grad_layer_output"]))

    def test_expand_backward_accumulates(self):
        T, N, C = self.T, self.N, self.C
        g = (np.arange(T * N * C) % 7 * 0.25 - 0.75).astype(np.float32).reshape(T, N, C)
        G = mhc.bf16_from_float32(g)
        with host_plan(mhc.new_desc(mhc.OP_EXPAND_BACKWARD, tokens=T, n=N, hidden=C)) as plan:
            self.assertEqual(plan.sku, mhc.SKU_HOST_EXPAND_BACKWARD)
            dE = mhc.bf16_from_float32(np.full((T, C), np.nan, np.float32))  # beta 0: never read
            plan.run(grad_residual=G, out_grad_embedding=dE)
            np.testing.assert_array_equal(mhc.bf16_to_float32(dE), g.sum(axis=1))
            plan.run(grad_residual=G, out_grad_embedding=dE, grad_accumulate=mhc.GRAD_ACCUMULATE_EMBEDDING)
            np.testing.assert_array_equal(mhc.bf16_to_float32(dE), 2 * g.sum(axis=1))
            # A bit of an output the op does not write: the library refuses it.
            with self.assertRaises(mhc.BadParamError) as cm:
                plan.run(grad_residual=G, out_grad_embedding=dE, grad_accumulate=mhc.GRAD_ACCUMULATE_FN)
            self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_VALUE)
            with self.assertRaises(TypeError):
                plan.run(grad_residual=G, out_grad_embedding=dE, grad_accumulate=["out_grad_bogus"])

    def test_pre_and_head_backward_tensors(self):
        T, N, C = self.T, self.N, self.C
        NN = N * (N + 2)
        with host_plan(mhc.new_desc(mhc.OP_PRE_BACKWARD, tokens=T, n=N, hidden=C)) as plan:
            self.assertEqual(plan.sku, mhc.SKU_HOST_PRE_BACKWARD)
            got = {t.field: t.shape for t in plan.tensors}
            self.assertEqual(got, {"residual": (T, N, C), "fn": (NN, N * C), "scale": (3,), "base": (NN,),
                                   "gemm_out": (T, NN), "sqrsum": (T,), "grad_layer_input": (T, C),
                                   "grad_post_mix": (T, N), "grad_comb_mix": (T, N, N),
                                   "out_grad_residual": (T, N, C), "out_grad_fn": (NN, N * C),
                                   "out_grad_scale": (3,), "out_grad_base": (NN,)})
            for t in plan.tensors:
                self.assertEqual(t.field_offset, getattr(mhc.Args, t.field).offset, t.field)
        with host_plan(mhc.new_desc(mhc.OP_HEAD_BACKWARD, tokens=T, n=N, hidden=C)) as plan:
            self.assertEqual(plan.sku, mhc.SKU_HOST_HEAD_BACKWARD)
            self.assertIn("out_grad_fn", {t.field for t in plan.tensors})
        # family B (since 0.5): the parameters' gradients sit after reserved1
        with host_plan(mhc.new_desc(mhc.OP_STATIC_LAYER_BACKWARD, tokens=T, n=N, hidden=C)) as plan:
            self.assertEqual(plan.sku, mhc.SKU_HOST_STATIC_LAYER_BACKWARD)
            fields = {t.field for t in plan.tensors}
            self.assertTrue({"out_grad_h_pre", "out_grad_h_post", "out_grad_h_res", "out_grad_norm_weight"} <= fields)
            for t in plan.tensors:
                self.assertEqual(t.field_offset, getattr(mhc.Args, t.field).offset, t.field)


class DocPage(unittest.TestCase):
    def test_the_doc_page_shows_quickstart_py(self):
        """docs/bindings_python.md shows quickstart.py verbatim after its marker line."""
        with open(os.path.join(HERE, "..", "..", "docs", "bindings_python.md")) as f:
            page = f.read()
        with open(os.path.join(HERE, "quickstart.py")) as f:
            source = f.read()
        marker = "<!-- example: bindings/python/quickstart.py -->"
        self.assertIn(marker, page)
        rest = page.split(marker, 1)[1].lstrip("\n")
        self.assertTrue(rest.startswith("```python\n"), "the marker must be followed by a ```python block")
        block = rest[len("```python\n"):].split("\n```\n", 1)[0] + "\n"
        self.assertEqual(block, source, "the block after the marker differs from quickstart.py: copy the file")


if __name__ == "__main__":
    unittest.main()
