"""A 4-layer DeepSeek-V4 mHC chain (expand, then per layer: pre, a stand-in sublayer, post) on
several processes with torch.distributed, in the two placements serving and training engines use:

  replicated (tensor parallel): every rank holds the whole residual [T, n, C] and runs pre and post
      on it with the full fn; the stand-in sublayer computes the rank's share of the hidden columns
      and an all-reduce sums the shares (exact: the other ranks add zeros). Every rank must end
      with the same bits, and with the single-process run's bits.
  token-sharded (sequence parallel): rank r runs the chain on its own T / world tokens and an
      all-gather joins the shards. The pre plans are selected with MHC_GUARANTEE_BATCH_INVARIANT,
      so the joined result must be the single-process run of the whole batch, bit for bit.

Each process selects its plans after binding its device: on CUDA one GPU per rank (NCCL), a plan
bound to the device current at select; with --cpu the host backend (gloo). Usage:
  torchrun --nproc-per-node 2 examples/python/distributed_chain.py [--T 4096 --C 7168]
  python examples/python/distributed_chain.py --cpu --world 2        (spawns the processes itself)
Rank 0 prints each placement's step time and each check; the exit status is 1 if a check failed.
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

import mhc

LAYERS = 4


def bits_equal(a, b):
    """Bitwise equality of two bf16 tensors (NaN-safe, -0 != +0)."""
    return a.shape == b.shape and torch.equal(a.contiguous().view(torch.int16), b.contiguous().view(torch.int16))


def make_inputs(T, n, C, device, seed=7):
    """The embedding and each layer's fn, scale, base and stand-in sublayer weight: the same on
    every rank (one generator, one seed)."""
    g = torch.Generator().manual_seed(seed)
    K, N = n * C, n * (n + 2)
    E = (torch.rand(T, C, generator=g) * 4 - 2).to(torch.bfloat16)
    layers = []
    for _ in range(LAYERS):
        fn = (torch.rand(N, K, generator=g) * 2 - 1) * (3.0 / K) ** 0.5
        scale = torch.rand(3, generator=g) + 0.5
        base = torch.rand(N, generator=g) - 0.5
        w = (torch.rand(C, generator=g) + 0.5).to(torch.bfloat16)
        layers.append(tuple(t.to(device) for t in (fn, scale, base, w)))
    return E.to(device), layers


class Chain:
    """The plans of a chain over `tokens` tokens, selected once (on the current device)."""

    def __init__(self, tokens, n, C, backends):
        def desc(op):
            return mhc.new_desc(op, tokens=tokens, n=n, hidden=C)

        self.n, self.C = n, C
        self.expand = mhc.Plan(desc(mhc.OP_EXPAND), backends=backends)
        self.pre = mhc.Plan(desc(mhc.OP_PRE), backends=backends, required=mhc.GUARANTEE_BATCH_INVARIANT)
        self.post = mhc.Plan(desc(mhc.OP_POST), backends=backends)

    def run(self, E, layers, sublayer):
        T, dev = E.shape[0], E.device
        R = torch.empty(T, self.n, self.C, dtype=torch.bfloat16, device=dev)
        self.expand.run(embedding=E, out_residual=R)
        for fn, scale, base, w in layers:
            li = torch.empty(T, self.C, dtype=torch.bfloat16, device=dev)
            post = torch.empty(T, self.n, device=dev)
            comb = torch.empty(T, self.n, self.n, device=dev)
            self.pre.run(residual=R, fn=fn, scale=scale, base=base, out_post_mix=post, out_comb_mix=comb,
                         out_layer_input=li)
            X = sublayer(li, w)
            R_next = torch.empty_like(R)
            self.post.run(layer_output=X, residual=R, post_mix=post, comb_mix=comb, out_residual=R_next)
            R = R_next
        return R

    def close(self):
        for p in (self.expand, self.pre, self.post):
            p.close()


def local_sublayer(li, w):
    """The stand-in sublayer on one process: x * w per column, fp32, rounded once."""
    return (li.float() * w.float()).to(torch.bfloat16)


def tp_sublayer(rank, world):
    """The same sublayer split over ranks by hidden columns, joined by an all-reduce of fp32 shares."""

    def f(li, w):
        C = li.shape[1]
        lo, hi = rank * C // world, (rank + 1) * C // world
        part = torch.zeros(li.shape, dtype=torch.float32, device=li.device)
        part[:, lo:hi] = li[:, lo:hi].float() * w[lo:hi].float()
        dist.all_reduce(part)
        return part.to(torch.bfloat16)

    return f


def timed(fn, sync, reps):
    times = []
    out = None
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        out = fn()
        sync()
        times.append(time.perf_counter() - t0)
    return out, statistics.median(times)


def worker(rank, world, args):
    cpu = args.cpu
    if cpu:
        dist.init_process_group("gloo", rank=rank, world_size=world)
        device, backends = torch.device("cpu"), mhc.BACKEND_HOST
        sync = lambda: None  # noqa: E731
    else:
        local = int(os.environ.get("LOCAL_RANK", rank))
        torch.cuda.set_device(local)  # the device every plan below binds to
        dist.init_process_group("nccl", rank=rank, world_size=world)
        device, backends = torch.device("cuda", local), mhc.BACKEND_CUDA
        sync = torch.cuda.synchronize
    T, n, C = args.T, args.n, args.C
    if T % world:
        raise SystemExit("--T %d must be a multiple of the world size %d" % (T, world))
    E, layers = make_inputs(T, n, C, device)
    failures = []

    # The single-process run of the whole batch: the reference of both placements.
    full = Chain(T, n, C, backends)
    ref = full.run(E, layers, local_sublayer)

    # Replicated: every rank the whole batch, the sublayer split by columns.
    tp, tp_s = timed(lambda: full.run(E, layers, tp_sublayer(rank, world)), sync, args.reps)
    gathered = [torch.empty_like(tp) for _ in range(world)]
    dist.all_gather(gathered, tp)
    same_ranks = all(bits_equal(g, gathered[0]) for g in gathered)
    same_ref = bits_equal(tp, ref)
    if not (same_ranks and same_ref):
        failures.append("replicated")

    # Token-sharded: rank r the tokens [r T / world, (r + 1) T / world).
    shard = T // world
    part = Chain(shard, n, C, backends)
    mine = E[rank * shard:(rank + 1) * shard].contiguous()
    sp, sp_s = timed(lambda: part.run(mine, layers, local_sublayer), sync, args.reps)
    shards = [torch.empty_like(sp) for _ in range(world)]
    dist.all_gather(shards, sp)
    joined = torch.cat(shards)
    sp_same = bits_equal(joined, ref)
    if not sp_same:
        failures.append("token-sharded")
    # The comparison itself: one flipped bit must show.
    flipped = ref.clone()
    flipped.view(torch.int16).view(-1)[-1] ^= 1
    if bits_equal(flipped, ref):
        failures.append("bits_equal misses a flipped bit")

    if rank == 0:
        where = "host backend (gloo)" if cpu else "%s x %d (NCCL)" % (torch.cuda.get_device_name(device), world)
        print("mhc chain: %d layers, T = %d, n = %d, C = %d, %d ranks on %s; pre SKU %s" %
              (LAYERS, T, n, C, world, where, full.pre.sku_name))
        print("  replicated:    step %.3f ms; every rank the same bits: %s; = single-process run: %s" %
              (tp_s * 1e3, same_ranks, same_ref))
        print("  token-sharded: step %.3f ms (%d tokens a rank); joined = single-process run: %s" %
              (sp_s * 1e3, shard, sp_same))
        print("PASS" if not failures else "FAIL: " + ", ".join(failures))
    full.close()
    part.close()
    dist.barrier()
    dist.destroy_process_group()
    if failures:
        raise SystemExit(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cpu", action="store_true", help="gloo and the host backend (spawns --world processes)")
    ap.add_argument("--world", type=int, default=2, help="processes to spawn with --cpu")
    ap.add_argument("--T", type=int, default=None, help="tokens (default 64 on the CPU, 4096 on GPUs)")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--C", type=int, default=None, help="hidden size (default 256 on the CPU, 7168 on GPUs)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions (default 1 on the CPU, 10 on GPUs)")
    args = ap.parse_args()
    args.T = args.T or (64 if args.cpu else 4096)
    args.C = args.C or (256 if args.cpu else 7168)
    args.reps = args.reps or (1 if args.cpu else 10)
    if args.cpu and "RANK" not in os.environ:
        import torch.multiprocessing as mp

        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(29500 + os.getpid() % 1000))
        try:
            mp.spawn(worker, args=(args.world, args), nprocs=args.world)
        except mp.ProcessRaisedException as e:
            print(e, file=sys.stderr)
            return 1
        except mp.ProcessExitedException:
            return 1
        return 0
    worker(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
