"""Tests of the ctypes module against the built libmhc (ctest -L python):

  * the header-match test: every constant, typedef, struct and field of mhc.h (from the output
    of the mhc_abi_facts program, MHC_ABI_FACTS) against the module, both directions;
  * the plan lifecycle, errors, the binding's own checks, outputs against known values on the
    host backend, with numpy arrays and with plain buffers;
  * with torch importable: CPU tensors on the host backend, and with a CUDA device CUDA tensors
    on a CUDA plan on torch's current stream, against the host result;
  * the doc page's example equals quickstart.py (which run_test.sh runs).

Run: MHC_LIBRARY=<build>/libmhc.so.1 MHC_ABI_FACTS=<build>/examples/bindings/abi_facts.txt \
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


def host_plan(desc):
    return mhc.Plan(desc, backends=mhc.BACKEND_HOST)


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
                                 "CMake build makes (build/examples/bindings/abi_facts.txt); `ctest -L python` sets it")
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
        self.assertEqual((d.struct_size, d.n, d.sinkhorn_repeat, d.act_dtype), (72, 4, 20, mhc.DTYPE_FP32))
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
        with self.assertRaises(mhc.BadParamError) as cm:  # the library: a required tensor missing
            self.plan.can_implement(**dict(kw, h_res=None))
        self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_NULL_POINTER)
        self.assertIn("h_res", cm.exception.message)
        with self.assertRaises(mhc.BadParamError) as cm:  # too short
            self.plan.can_implement(**dict(kw, residual=self.x.ravel()[:-1]))
        self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_SHAPE)
        self.assertIn("args.residual: 1916 bytes given, the plan needs 1920", cm.exception.message)
        with self.assertRaises(mhc.BadParamError) as cm:  # fp32 where bf16 goes
            self.plan.run(**dict(kw, norm_weight=np.ones(self.C, np.float32)))
        self.assertEqual(cm.exception.status, mhc.STATUS_BAD_PARAM_VALUE)
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


class DocPage(unittest.TestCase):
    def test_the_doc_page_shows_quickstart_py(self):
        """docs/bindings_python.md shows quickstart.py verbatim after its marker line."""
        with open(os.path.join(HERE, "..", "..", "docs", "bindings_python.md")) as f:
            page = f.read()
        with open(os.path.join(HERE, "quickstart.py")) as f:
            source = f.read()
        marker = "<!-- example: examples/python/quickstart.py -->"
        self.assertIn(marker, page)
        rest = page.split(marker, 1)[1].lstrip("\n")
        self.assertTrue(rest.startswith("```python\n"), "the marker must be followed by a ```python block")
        block = rest[len("```python\n"):].split("\n```\n", 1)[0] + "\n"
        self.assertEqual(block, source, "the block after the marker differs from quickstart.py: copy the file")


if __name__ == "__main__":
    unittest.main()
