#!/usr/bin/env python3
"""Writes the seed corpus of tests/fuzz (corpus/*.bin): one valid plan and run per op variant,
plus run-time T, 0.1-sized args, oversized buffers and a few faults. The bytes follow the order
in which fuzz_capi.cpp decodes its input; a byte past the end of an input reads as 0, the valid
default, so each seed spells out only what differs from the defaults. The inputs are checked in;
run this again only after changing the decoder (python3 tests/fuzz/make_corpus.py).
"""
import os
import struct

OPS = [1, 2, 3, 4, 5, 6, 16, 17, 18]  # kOpIds[0..8]; index 9 is op 0 (no op); 18..21 ops 7..10
TENSORS = [4, 8, 9, 5, 7, 2, 5, 5, 6]  # mhc_plan_get_tensor_count of each
# The backward ops (kOpIds[22..25]: ops 67..70) and their tensor counts.
PRE_BWD, POST_BWD, HEAD_BWD, EXPAND_BWD = 22, 23, 24, 25
# The family B backward ops of 0.5 (kOpIds[28..30]: ops 80..82).
STATIC_PRE_BWD, STATIC_POST_BWD, STATIC_LAYER_BWD = 28, 29, 30
BACKWARD_TENSORS = {PRE_BWD: 13, POST_BWD: 9, HEAD_BWD: 11, EXPAND_BWD: 2,
                    STATIC_PRE_BWD: 7, STATIC_POST_BWD: 9, STATIC_LAYER_BWD: 11}
# The boundary ops (kOpIds[18..21]): their tensor count depends on the mode flags.
BOUNDARY, COLLAPSE, MIX, FIRST = 18, 19, 20, 21
SHIFTED, NORM = 2, 4
FLAG_PICK = {SHIFTED: 0, NORM: 4, SHIFTED | NORM: 5}  # index into the flags list of decode_desc


def tensor_count(op_index, flags):
    shifted, norm = bool(flags & SHIFTED), bool(flags & NORM)
    if op_index == BOUNDARY:
        return 12 + shifted + norm
    if op_index == COLLAPSE:
        return 7 + norm
    if op_index == MIX:
        return 7
    if op_index == FIRST:
        return 9 + norm
    if op_index in BACKWARD_TENSORS:
        return BACKWARD_TENSORS[op_index]
    return TENSORS[op_index]


def seed(op_index, T=4, C=40, n=4, splits=None, partials=False, act=0, fp32_weights=False,
         repeat=None, pref_mode=0, rounds=(), n_wide=False, modes=0):
    """op_index: index into kOpIds; act: 0 default, 1 BF16, 2 FP32; rounds: round_bytes() arguments;
    modes: MHC_DESC_FLAG_SHIFTED / MHC_DESC_FLAG_NORM bits (the boundary ops)."""
    b = bytearray([op_index])
    b += bytes([0, T - 1])                                   # tokens: 1 + byte % 8
    b += bytes([0, C - 1])                                   # hidden: 1 + byte % 64
    b += bytes([5, n - 1]) if n_wide else bytes([0, n - 1])  # n: 1 + byte % 8 (or % 32)
    b += bytes([1, splits - 1]) if splits else bytes([0])    # num_splits
    if modes:
        b += bytes([2, FLAG_PICK[modes]])                    # flags: one of the mode combinations
    else:
        b += bytes([1 if partials else 0])                   # flags
    b += bytes([act])                                        # act_dtype
    b += bytes([1 if fp32_weights else 0])                   # weight_precision
    b += bytes([1, repeat - 1]) if repeat else bytes([0])    # sinkhorn_repeat: 1 + byte % 40
    b += bytes([0, 0, 0])                                    # float fields, reserved0, struct_size
    b += bytes([pref_mode])                                  # preference: 0 HOST
    b += bytes([0])                                          # select: pointers given
    b += bytes([0, 0, 0, 0, 0])                              # get_desc, guarantee, tensor_info sizes
    b += bytes([max(len(rounds), 1) - 1])                    # rounds: 1 + byte % 3
    for r in rounds:
        b += round_bytes(tensor_count(op_index, modes), **r)
    return bytes(b)


def round_bytes(count, tokens=None, args_size=0, args_k=0, oversize=False, values=0, seed_value=1, modes=(), extra=(),
                ws=0):
    """tokens: None (0: desc.tokens) or k (a run with 1 + k % desc.tokens tokens); modes: the first
    tensors' pointer modes (the rest 0: a real buffer); extra: the misalignment and alias bytes."""
    r = bytearray()
    if tokens is None:
        r += bytes([0])
    else:
        r += bytes([3]) + struct.pack("<Q", tokens)
    r += bytes([args_size])  # args.struct_size mode: 0 sizeof, 5 the 0.1 size (176), 6 then k: 3 the 0.2 size (184),
    #                          1 the 0.3 size (200), 4 the 0.4 size (304)
    if args_size == 6:
        r += bytes([args_k])
    r += bytes([0])          # reserved0
    if tokens is not None:
        r += bytes([3 if oversize else 0])
    r += bytes([values])
    r += struct.pack("<I", seed_value)
    r += bytes(list(modes) + [0] * (count - len(modes)))  # pointer mode per tensor
    r += bytes(extra)        # one byte per misaligned pointer, two per alias
    r += bytes([0, ws, 0, 0])  # unused field, workspace, stream, args pointer
    return bytes(r)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    valid = {}
    inputs = {
        "a1_reduced": seed(0, rounds=[valid]),
        "a1_partials_s3": seed(0, splits=3, partials=True, rounds=[valid]),
        "a1_fp32_weights_short_run": seed(0, T=6, fp32_weights=True, rounds=[dict(tokens=2, oversize=True)]),
        "a2_reduced": seed(1, rounds=[valid]),
        "a2_partials_s2_short_run": seed(1, T=5, splits=2, partials=True, rounds=[dict(tokens=1)]),
        "a3_default_s": seed(2, T=5, C=64, rounds=[valid]),
        "a3_s2_optional_outputs_left_out": seed(2, n=2, C=50, splits=2,
                                               rounds=[dict(modes=[0] * 7 + [12, 12])]),
        "a3_three_rounds": seed(2, T=8, C=16, rounds=[dict(tokens=3), dict(args_size=5),
                                                       dict(ws=4, values=2)]),
        "a4_post": seed(3, rounds=[valid]),
        "a4_post_misaligned": seed(3, rounds=[dict(modes=[0, 13], extra=[1])]),
        "a5_head": seed(4, rounds=[valid]),
        "a6_expand": seed(5, T=8, C=64, n=8, rounds=[valid]),
        "a6_expand_alias": seed(5, rounds=[dict(modes=[0, 14], extra=[0, 1])]),
        "b1_fp32": seed(6, n=3, rounds=[valid]),
        "b1_bf16_short_run": seed(6, n=3, act=1, T=7, rounds=[dict(tokens=4, values=3)]),
        "b2_fp32": seed(7, n=3, rounds=[valid]),
        "b2_bf16_n16": seed(7, n=16, n_wide=True, C=8, act=1, rounds=[valid]),
        "b3_fp32_args_0_1": seed(8, n=3, rounds=[dict(args_size=5)]),
        "b3_bf16_repeat_7": seed(8, n=3, act=1, repeat=7, rounds=[valid]),
        "no_op": bytes([9]),
        "a7_boundary_v4": seed(BOUNDARY, rounds=[valid]),
        "a7_boundary_shifted_norm": seed(BOUNDARY, modes=SHIFTED | NORM, rounds=[valid]),
        "a7_boundary_norm_no_out_pre_mix": seed(BOUNDARY, modes=NORM, rounds=[dict(modes=[0] * 12 + [12])]),
        "a7_boundary_v4_args_0_2": seed(BOUNDARY, rounds=[dict(args_size=6, args_k=3)]),
        "a7_boundary_shifted_args_0_2": seed(BOUNDARY, modes=SHIFTED, rounds=[dict(args_size=6, args_k=3)]),
        "a8_boundary_collapse_norm": seed(COLLAPSE, modes=NORM, rounds=[valid]),
        "a8_boundary_collapse_head": seed(COLLAPSE, modes=NORM, rounds=[dict(modes=[0] * 6 + [12])]),
        "a9_boundary_mix": seed(MIX, n=2, C=33, rounds=[valid]),
        "a10_boundary_first_shifted": seed(FIRST, modes=SHIFTED, rounds=[valid]),
        "a10_boundary_first_norm_short_run": seed(FIRST, T=5, modes=NORM, rounds=[dict(tokens=2)]),
        "pref_null": seed(2, pref_mode=4, rounds=[valid]),
        "a3_pre_backward": seed(PRE_BWD, rounds=[valid]),
        "a3_pre_backward_repeat_3_short_run": seed(PRE_BWD, T=6, C=24, repeat=3, rounds=[dict(tokens=2)]),
        "a3_pre_backward_args_0_3": seed(PRE_BWD, rounds=[dict(args_size=6, args_k=1)]),  # no gradient fields
        "a4_post_backward": seed(POST_BWD, rounds=[valid]),
        "a4_post_backward_short_run": seed(POST_BWD, T=7, rounds=[dict(tokens=3, oversize=True)]),
        "a5_head_backward": seed(HEAD_BWD, n=2, C=33, rounds=[valid]),
        "a6_expand_backward": seed(EXPAND_BWD, T=8, rounds=[valid]),
        "a6_expand_backward_alias": seed(EXPAND_BWD, rounds=[dict(modes=[0, 14], extra=[0, 1])]),
        "b1_static_pre_backward_fp32": seed(STATIC_PRE_BWD, n=3, rounds=[valid]),
        "b1_static_pre_backward_bf16_short_run": seed(STATIC_PRE_BWD, n=3, act=1, T=6, rounds=[dict(tokens=2)]),
        "b2_static_post_backward_bf16_n17": seed(STATIC_POST_BWD, n=17, n_wide=True, C=8, act=1, rounds=[valid]),
        "b2_static_post_backward_args_0_4": seed(STATIC_POST_BWD, n=3, rounds=[dict(args_size=6, args_k=4)]),
        "b3_static_layer_backward_repeat_5": seed(STATIC_LAYER_BWD, n=3, repeat=5, rounds=[valid]),
        "b3_static_layer_backward_bf16_alias": seed(STATIC_LAYER_BWD, n=2, act=1,
                                                    rounds=[dict(modes=[0] * 6 + [14], extra=[0, 1])]),
    }
    for name, data in inputs.items():
        with open(os.path.join(out, name + ".bin"), "wb") as f:
            f.write(data)
    print(f"wrote {len(inputs)} seed inputs to {out}")


if __name__ == "__main__":
    main()
