//! Tensor infos and the checks built from them, and runs at a smaller T than the plan's
//! `desc.tokens`, on the host backend.
use mhc::sys;
use mhc::{
    Args, Bf16, Desc, Dtype, Field, Guarantee, Op, Plan, Role, Sku, Status, Stream, TensorInfo, TensorMut, TensorRef,
    Workspace,
};

mod common;
use common::{bf16s, host, values};

fn info(field: Field, role: Role, dtype: Dtype, required: bool, shape: &[usize], token_dim: Option<usize>) -> TensorInfo {
    TensorInfo { field, role, dtype, required, shape: shape.to_vec(), token_dim }
}

/// A plan of `op` at T = 8, n = 4, C = 16 on the host backend.
fn host_plan(op: Op) -> Plan {
    Plan::select(&Stream::legacy_default(), &Desc::new(op).unwrap().tokens(8).n(4).hidden(16), host()).unwrap()
}

#[test]
fn op_names_come_from_the_library() {
    assert_eq!(Op::PRE.name(), Some("MHC_OP_PRE"));
    assert_eq!(mhc::op_name(Op::STATIC_LAYER), Some("MHC_OP_STATIC_LAYER"));
    assert_eq!(Op::BOUNDARY_FIRST.name(), Some("MHC_OP_BOUNDARY_FIRST"));
    assert_eq!(Op(99).name(), None);
    assert_eq!(Op::POST.to_string(), "MHC_OP_POST");
    assert_eq!(Op(99).to_string(), "op 99");
}

#[test]
fn plans_carry_the_library_tensor_infos() {
    let (i, o) = (Role::INPUT, Role::OUTPUT);
    let (bf16, f32) = (Dtype::BF16, Dtype::FP32);
    let post = host_plan(Op::POST);
    assert_eq!(
        post.tensors(),
        &[
            info(Field::LayerOutput, i, bf16, true, &[8, 16], Some(0)),
            info(Field::Residual, i, bf16, true, &[8, 4, 16], Some(0)),
            info(Field::PostMix, i, f32, true, &[8, 4], Some(0)),
            info(Field::CombMix, i, f32, true, &[8, 4, 4], Some(0)),
            info(Field::OutResidual, o, bf16, true, &[8, 4, 16], Some(0)),
        ][..]
    );
    assert_eq!(post.tensor(Field::Residual).unwrap().name(), "residual");
    assert_eq!(post.tensor(Field::Residual).unwrap().shape_at(3), vec![3, 4, 16]);
    assert!(post.tensor(Field::Embedding).is_none());

    // Weights have no T dimension; optional outputs are marked.
    let pre = host_plan(Op::PRE);
    let (mixes, k) = (4 * 6, 4 * 16);
    assert_eq!(pre.tensor(Field::Fn), Some(&info(Field::Fn, i, f32, true, &[mixes, k], None)));
    assert_eq!(pre.tensor(Field::Scale), Some(&info(Field::Scale, i, f32, true, &[3], None)));
    assert_eq!(pre.tensor(Field::OutGemm), Some(&info(Field::OutGemm, o, f32, false, &[8, mixes], Some(0))));

    // Split partials: T is the middle dimension of [S, T, N].
    let desc = Desc::new(Op::PRENORM_GEMM).unwrap().tokens(8).n(4).hidden(64).num_splits(2).flags(sys::MHC_DESC_FLAG_SPLIT_PARTIALS);
    let gemm = Plan::select(&Stream::legacy_default(), &desc, host()).unwrap();
    let s = gemm.desc().raw().num_splits as usize;
    assert_eq!(s, 2);
    assert_eq!(gemm.tensor(Field::Fn), Some(&info(Field::Fn, i, f32, true, &[mixes, 4 * 64], None)));
    assert_eq!(gemm.tensor(Field::OutGemm), Some(&info(Field::OutGemm, o, f32, true, &[s, 8, mixes], Some(1))));
    assert_eq!(gemm.tensor(Field::OutSqrsum), Some(&info(Field::OutSqrsum, o, f32, true, &[s, 8], Some(1))));

    // The binding's field table agrees with the library's names and offsets.
    for p in [&post, &pre, &gemm] {
        let mut count = 0i32;
        assert_eq!(unsafe { sys::mhc_plan_get_tensor_count(p.as_raw(), &mut count) }, 0);
        assert_eq!(count as usize, p.tensors().len());
        for (index, t) in p.tensors().iter().enumerate() {
            let mut raw: sys::mhc_tensor_info_t = unsafe { std::mem::zeroed() };
            raw.struct_size = std::mem::size_of::<sys::mhc_tensor_info_t>() as u32;
            assert_eq!(unsafe { sys::mhc_plan_get_tensor_info(p.as_raw(), index as i32, &mut raw) }, 0);
            let name = unsafe { std::ffi::CStr::from_ptr(raw.field) }.to_str().unwrap();
            assert_eq!((name, raw.field_offset as usize), (t.name(), t.field.offset()));
        }
    }
}

#[test]
fn shifted_boundary_is_collapse_then_mix() {
    // The V4.1 boundary (Op::BOUNDARY with MHC_DESC_FLAG_SHIFTED) is its critical part
    // (BOUNDARY_COLLAPSE: post, collapse with the carried pre, RMSNorm) and its mix part
    // (BOUNDARY_MIX on the new residual): bit-identical on the host backend. Runs T = 3 on plans
    // for T = 4; pre_mix and out_pre_mix sit after args.tokens.
    let stream = Stream::legacy_default();
    let (max_t, t, n, c) = (4usize, 3usize, 4usize, 64usize);
    let (mixes, k) = (n * n + 2 * n, n * c);
    let (shifted, norm) = (sys::MHC_DESC_FLAG_SHIFTED, sys::MHC_DESC_FLAG_NORM);
    let desc = |op: Op, flags: u32| {
        Desc::new(op).unwrap().tokens(max_t as i64).n(n as i32).hidden(c as i64).flags(flags).norm_eps(1e-5).norm_scale(0.75)
    };
    let fused = Plan::select(&stream, &desc(Op::BOUNDARY, shifted | norm), host()).unwrap();
    let collapse = Plan::select(&stream, &desc(Op::BOUNDARY_COLLAPSE, norm), host()).unwrap();
    let mix = Plan::select(&stream, &desc(Op::BOUNDARY_MIX, 0), host()).unwrap();
    assert_eq!((fused.sku(), collapse.sku(), mix.sku()), (Sku::HOST_BOUNDARY, Sku::HOST_BOUNDARY_COLLAPSE, Sku::HOST_BOUNDARY_MIX));
    let r = fused.desc().raw();
    assert_eq!((r.flags, r.norm_eps, r.norm_scale), (shifted | norm, 1e-5, 0.75));
    let (i, o, f32) = (Role::INPUT, Role::OUTPUT, Dtype::FP32);
    assert_eq!(fused.tensor(Field::PreMix), Some(&info(Field::PreMix, i, f32, true, &[max_t, n], Some(0))));
    assert_eq!(mix.tensor(Field::OutPreMix), Some(&info(Field::OutPreMix, o, f32, true, &[max_t, n], Some(0))));
    for p in [&fused, &collapse, &mix] {
        for (index, info) in p.tensors().iter().enumerate() {
            let mut raw: sys::mhc_tensor_info_t = unsafe { std::mem::zeroed() };
            raw.struct_size = std::mem::size_of::<sys::mhc_tensor_info_t>() as u32;
            assert_eq!(unsafe { sys::mhc_plan_get_tensor_info(p.as_raw(), index as i32, &mut raw) }, 0);
            assert_eq!(raw.field_offset as usize, info.field.offset(), "{}", info.field);
        }
    }

    let (y, res) = (bf16s(t * c, 31, -2.0, 2.0), bf16s(t * n * c, 32, -2.0, 2.0));
    let (post, comb, pre) = (values(t * n, 33, 0.0, 2.0), values(t * n * n, 34, 0.0, 0.5), values(t * n, 35, 0.0, 1.0));
    let w = bf16s(c, 36, 0.5, 1.5);
    let (fn_, scale, base) = (values(mixes * k, 37, -0.05, 0.05), [0.5f32, 0.25, 0.125], values(mixes, 38, -0.5, 0.5));
    #[derive(Debug, PartialEq)]
    struct Outs {
        h: Vec<Bf16>,
        x: Vec<Bf16>,
        post: Vec<f32>,
        comb: Vec<f32>,
        pre: Vec<f32>,
    }
    let outs = || Outs { h: vec![Bf16(0); t * n * c], x: vec![Bf16(0); t * c], post: vec![0.0; t * n], comb: vec![0.0; t * n * n], pre: vec![0.0; t * n] };
    let (mut a, mut b) = (outs(), outs());
    let args = Args::new()
        .layer_output(TensorRef::new(&y, &[t, c]))
        .residual(TensorRef::new(&res, &[t, n, c]))
        .post_mix(&post)
        .comb_mix(&comb)
        .pre_mix(TensorRef::new(&pre, &[t, n]))
        .fn_(&fn_)
        .scale(&scale[..])
        .base(&base)
        .norm_weight(&w)
        .out_residual(&mut a.h)
        .out_layer_input(&mut a.x)
        .out_post_mix(&mut a.post)
        .out_comb_mix(&mut a.comb)
        .out_pre_mix(TensorMut::new(&mut a.pre, &[t, n]));
    assert_eq!(fused.run_tokens(&args).unwrap(), t);
    fused.run(&stream, Workspace::none(), &args).unwrap();
    drop(args);
    let args = Args::new()
        .layer_output(&y)
        .residual(&res)
        .post_mix(&post)
        .comb_mix(&comb)
        .pre_mix(&pre)
        .norm_weight(&w)
        .out_residual(&mut b.h)
        .out_layer_input(&mut b.x);
    collapse.run(&stream, Workspace::none(), &args).unwrap();
    drop(args);
    let args = Args::new()
        .residual(TensorRef::new(&b.h, &[t, n, c]))
        .fn_(&fn_)
        .scale(&scale[..])
        .base(&base)
        .out_post_mix(&mut b.post)
        .out_comb_mix(&mut b.comb)
        .out_pre_mix(&mut b.pre);
    mix.run(&stream, Workspace::none(), &args).unwrap();
    drop(args);
    assert!(a == b, "BOUNDARY (shifted) differs from BOUNDARY_COLLAPSE + BOUNDARY_MIX:\n{:?}\n{:?}", a, b);
    assert!(a.pre.iter().any(|&v| v != 0.0), "out_pre_mix was not written");

    // A V4 boundary collapses with its own pre: it takes no pre_mix.
    let v4 = Plan::select(&stream, &desc(Op::BOUNDARY, norm), host()).unwrap();
    assert!(v4.tensor(Field::PreMix).is_none());
    let e = v4.can_implement(&Args::new().pre_mix(&pre)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_VALUE, "{}", e);
    assert!(e.message().contains("args.pre_mix is set, but MHC_OP_BOUNDARY does not use it"), "{}", e.message());
}

/// POST tensors at T rows: layer_output [T, C], residual [T, n, C], post_mix [T, n], comb_mix
/// [T, n, n]; the first rows of every T are the same.
struct PostInputs {
    x: Vec<Bf16>,
    r: Vec<Bf16>,
    post: Vec<f32>,
    comb: Vec<f32>,
}

fn post_inputs(t: usize, n: usize, c: usize) -> PostInputs {
    PostInputs {
        x: bf16s(t * c, 11, -2.0, 2.0),
        r: bf16s(t * n * c, 12, -2.0, 2.0),
        post: values(t * n, 13, 0.0, 2.0),
        comb: values(t * n * n, 14, 0.0, 1.0),
    }
}

#[test]
fn shapes_are_checked_against_the_tensor_infos() {
    let (t, n, c) = (8usize, 4usize, 16usize);
    let plan = host_plan(Op::POST);
    let i = post_inputs(t, n, c);
    let mut out = vec![Bf16(0); t * n * c];
    let shaped = || {
        Args::new().layer_output(TensorRef::new(&i.x, &[t, c])).post_mix(TensorRef::new(&i.post, &[t, n])).comb_mix(TensorRef::new(&i.comb, &[t, n, n]))
    };
    let err = |args: &Args<'_>, status: Status| {
        let e = plan.can_implement(args).unwrap_err();
        assert_eq!(e.status(), status, "{}", e);
        assert!(e.message().starts_with("mhc (Rust binding): "), "{}", e.message());
        e.message().to_string()
    };

    // The residual transposed to [T, C, n]: as many elements, refused when given with its shape.
    let m = err(
        &shaped().residual(TensorRef::new(&i.r, &[t, c, n])).out_residual(TensorMut::new(&mut out, &[t, n, c])),
        Status::BAD_PARAM_SHAPE,
    );
    assert_eq!(m, "mhc (Rust binding): args.residual: shape [8, 16, 4] given, the plan takes [8, 4, 16] (T = 8 from args.layer_output)");
    // A plain slice has only its element count to check: the same memory passes.
    plan.can_implement(&shaped().residual(&i.r).out_residual(&mut out)).unwrap();

    // Another rank with the same element count.
    let m = err(&shaped().residual(TensorRef::new(&i.r, &[t, n * c])).out_residual(&mut out), Status::BAD_PARAM_SHAPE);
    assert!(m.contains("args.residual: shape [8, 64] given, the plan takes [8, 4, 16]"), "{}", m);

    // A shape the slice does not hold.
    let m = err(&shaped().residual(TensorRef::new(&i.r[..10], &[t, n, c])).out_residual(&mut out), Status::BAD_PARAM_SHAPE);
    assert!(m.contains("args.residual: shape [8, 4, 16] (512 elements) given for 10 elements"), "{}", m);

    // T must agree across tensors: an output of another T.
    let m = err(
        &shaped().residual(&i.r).out_residual(TensorMut::new(&mut out[..2 * n * c], &[2, n, c])),
        Status::BAD_PARAM_SHAPE,
    );
    assert!(m.contains("args.out_residual: shape [2, 4, 16] given, the plan takes [8, 4, 16] (T = 8 from args.layer_output)"), "{}", m);
    let m = err(&shaped().residual(&i.r[..3 * n * c]).out_residual(&mut out), Status::BAD_PARAM_SHAPE);
    assert!(m.contains("args.residual: 192 elements given, the plan takes [8, 4, 16] = 512 elements (T = 8 from args.layer_output)"), "{}", m);

    // Element type, a required tensor missing, a field the op does not use.
    let post_bf16: Vec<Bf16> = i.post.iter().map(|v| Bf16::from_f32(*v)).collect();
    let m = err(
        &Args::new().layer_output(&i.x).residual(&i.r).post_mix(&post_bf16).comb_mix(&i.comb).out_residual(&mut out),
        Status::BAD_PARAM_VALUE,
    );
    assert!(m.contains("args.post_mix: BF16 given, the plan takes FP32"), "{}", m);
    let m = err(&Args::new().layer_output(&i.x).residual(&i.r).post_mix(&i.post).out_residual(&mut out), Status::BAD_PARAM_NULL_POINTER);
    assert!(m.contains("args.comb_mix is not set: MHC_OP_POST needs it (FP32 [T, 4, 4] with T in 1..8)"), "{}", m);
    let m = err(&shaped().residual(&i.r).embedding(&i.x).out_residual(&mut out), Status::BAD_PARAM_VALUE);
    assert!(m.contains("args.embedding is set, but MHC_OP_POST does not use it"), "{}", m);

    // Weights (no T): every dimension exact.
    let pre = host_plan(Op::PRE);
    let (mixes, k) = (n * (n + 2), n * c);
    let f = values(mixes * k, 15, -0.1, 0.1);
    let (scale, base) = (vec![1.0f32; 3], vec![0.0f32; mixes]);
    let mut pm = vec![0.0f32; t * n];
    let mut cm = vec![0.0f32; t * n * n];
    let mut li = vec![Bf16(0); t * c];
    let e = pre
        .can_implement(
            &Args::new()
                .residual(TensorRef::new(&i.r, &[t, n, c]))
                .fn_(TensorRef::new(&f, &[k, mixes]))
                .scale(&scale)
                .base(&base)
                .out_post_mix(&mut pm)
                .out_comb_mix(&mut cm)
                .out_layer_input(&mut li),
        )
        .unwrap_err();
    assert!(e.message().contains("args.fn: shape [64, 24] given, the plan takes [24, 64]"), "{}", e);
    let e = pre
        .can_implement(&Args::new().residual(&i.r).fn_(&f[1..]).scale(&scale).base(&base).out_post_mix(&mut pm).out_comb_mix(&mut cm).out_layer_input(&mut li))
        .unwrap_err();
    assert!(e.message().contains("args.fn: 1535 elements given, the plan takes [24, 64] = 1536 elements"), "{}", e);
}

#[test]
fn more_tokens_than_the_plan_are_refused() {
    let (n, c) = (4usize, 16usize);
    let plan = host_plan(Op::POST);
    let i = post_inputs(9, n, c);
    let mut out = vec![Bf16(0); 9 * n * c];
    let e = plan
        .run(
            &Stream::legacy_default(),
            Workspace::none(),
            &Args::new()
                .layer_output(TensorRef::new(&i.x, &[9, c]))
                .residual(TensorRef::new(&i.r, &[9, n, c]))
                .post_mix(TensorRef::new(&i.post, &[9, n]))
                .comb_mix(TensorRef::new(&i.comb, &[9, n, n]))
                .out_residual(TensorMut::new(&mut out, &[9, n, c])),
        )
        .unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_SHAPE);
    assert!(e.message().contains("args.layer_output: shape [9, 16] given, the plan takes [T, 16] with T in 1..8"), "{}", e);
    // As plain slices too: 9 rows is no T the plan runs.
    let e = plan
        .run(&Stream::legacy_default(), Workspace::none(), &Args::new().layer_output(&i.x).residual(&i.r).post_mix(&i.post).comb_mix(&i.comb).out_residual(&mut out))
        .unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_SHAPE);
    assert!(e.message().contains("args.layer_output: 144 elements given, the plan takes [T, 16] = T * 16 elements with T in 1..8"), "{}", e);
    // And T = 0.
    let e = plan.can_implement(&Args::new().layer_output(TensorRef::new(&i.x[..0], &[0, c])).residual(&i.r[..0]).post_mix(&i.post[..0]).comb_mix(&i.comb[..0]).out_residual(&mut out[..0])).unwrap_err();
    assert!(e.message().contains("args.layer_output: shape [0, 16] given, the plan takes [T, 16] with T in 1..8"), "{}", e);
}

const SENTINEL: u16 = 0x7fc1; // a bf16 NaN no run writes

#[test]
fn post_at_three_tokens_matches_the_first_rows_of_eight() {
    let (n, c) = (4usize, 16usize);
    let stream = Stream::legacy_default();
    let plan = host_plan(Op::POST);
    assert!(plan.precision_guarantee().flags.contains(Guarantee::BATCH_INVARIANT));
    let i = post_inputs(8, n, c);

    let mut out8 = vec![Bf16(SENTINEL); 8 * n * c];
    let args8 = Args::new().layer_output(&i.x).residual(&i.r).post_mix(&i.post).comb_mix(&i.comb).out_residual(&mut out8);
    assert_eq!(plan.run_tokens(&args8).unwrap(), 8);
    plan.run(&stream, Workspace::none(), &args8).unwrap();
    drop(args8);
    assert!(out8.iter().all(|v| v.0 != SENTINEL));

    // T = 3 with shapes: the first 3 rows of the same inputs, into the front of a larger buffer.
    let t = 3usize;
    let mut out3 = vec![Bf16(SENTINEL); 8 * n * c];
    let args3 = Args::new()
        .layer_output(TensorRef::new(&i.x[..t * c], &[t, c]))
        .residual(TensorRef::new(&i.r[..t * n * c], &[t, n, c]))
        .post_mix(TensorRef::new(&i.post[..t * n], &[t, n]))
        .comb_mix(TensorRef::new(&i.comb[..t * n * n], &[t, n, n]))
        .out_residual(TensorMut::new(&mut out3[..t * n * c], &[t, n, c]));
    assert_eq!(plan.run_tokens(&args3).unwrap(), 3);
    plan.run(&stream, Workspace::none(), &args3).unwrap();
    drop(args3);
    let rows = t * n * c;
    assert!(out3[..rows] == out8[..rows], "T = 3 rows differ from the first rows of T = 8");
    assert!(out3[rows..].iter().all(|v| v.0 == SENTINEL), "a T = 3 run wrote past its 3 rows (args.tokens not set)");

    // Plain slices of 3 rows: T from their lengths.
    let mut plain = vec![Bf16(SENTINEL); rows];
    plan.run(
        &stream,
        Workspace::none(),
        &Args::new().layer_output(&i.x[..t * c]).residual(&i.r[..rows]).post_mix(&i.post[..t * n]).comb_mix(&i.comb[..t * n * n]).out_residual(&mut plain),
    )
    .unwrap();
    assert!(plain[..] == out8[..rows]);
}

#[test]
fn batch_invariant_pre_at_three_tokens_matches_the_first_rows_of_eight() {
    let (n, c) = (4usize, 64usize);
    let (mixes, k) = (n * (n + 2), n * c);
    let stream = Stream::legacy_default();
    let desc = Desc::new(Op::PRE).unwrap().tokens(8).n(n as i32).hidden(c as i64);
    let plan = Plan::select(&stream, &desc, host().require(Guarantee::BATCH_INVARIANT)).unwrap();
    assert!(plan.precision_guarantee().flags.contains(Guarantee::BATCH_INVARIANT));
    let r = bf16s(8 * n * c, 21, -2.0, 2.0);
    let f = values(mixes * k, 22, -0.05, 0.05);
    let scale = values(3, 23, 0.5, 1.5);
    let base = values(mixes, 24, -0.5, 0.5);

    struct Out {
        post: Vec<f32>,
        comb: Vec<f32>,
        layer_input: Vec<Bf16>,
        gemm: Vec<f32>,
        sqrsum: Vec<f32>,
    }
    // Runs at T tokens, outputs into the front of 8-row buffers that start as NaN.
    let run = |t: usize| -> Out {
        let mut o = Out {
            post: vec![f32::NAN; 8 * n],
            comb: vec![f32::NAN; 8 * n * n],
            layer_input: vec![Bf16(SENTINEL); 8 * c],
            gemm: vec![f32::NAN; 8 * mixes],
            sqrsum: vec![f32::NAN; 8],
        };
        let args = Args::new()
            .residual(TensorRef::new(&r[..t * n * c], &[t, n, c]))
            .fn_(TensorRef::new(&f, &[mixes, k]))
            .scale(TensorRef::new(&scale, &[3]))
            .base(TensorRef::new(&base, &[mixes]))
            .out_post_mix(TensorMut::new(&mut o.post[..t * n], &[t, n]))
            .out_comb_mix(TensorMut::new(&mut o.comb[..t * n * n], &[t, n, n]))
            .out_layer_input(TensorMut::new(&mut o.layer_input[..t * c], &[t, c]))
            .out_gemm(TensorMut::new(&mut o.gemm[..t * mixes], &[t, mixes]))
            .out_sqrsum(TensorMut::new(&mut o.sqrsum[..t], &[t]));
        assert_eq!(plan.run_tokens(&args).unwrap(), t);
        plan.run(&stream, Workspace::none(), &args).unwrap();
        drop(args);
        o
    };
    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }
    let o8 = run(8);
    let o3 = run(3);
    assert!(o8.post.iter().chain(&o8.comb).chain(&o8.gemm).chain(&o8.sqrsum).all(|v| v.is_finite()));
    assert!(same_bits(&o3.post[..3 * n], &o8.post[..3 * n]), "post_mix");
    assert!(same_bits(&o3.comb[..3 * n * n], &o8.comb[..3 * n * n]), "comb_mix");
    assert!(o3.layer_input[..3 * c] == o8.layer_input[..3 * c], "layer_input");
    assert!(same_bits(&o3.gemm[..3 * mixes], &o8.gemm[..3 * mixes]), "gemm");
    assert!(same_bits(&o3.sqrsum[..3], &o8.sqrsum[..3]), "sqrsum");
    // Nothing past row 3 was written.
    assert!(o3.post[3 * n..].iter().chain(&o3.comb[3 * n * n..]).chain(&o3.gemm[3 * mixes..]).chain(&o3.sqrsum[3..]).all(|v| v.is_nan()));
    assert!(o3.layer_input[3 * c..].iter().all(|v| v.0 == SENTINEL));
}
