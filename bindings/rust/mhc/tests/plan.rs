//! The safe layer against the built libmhc: the plan lifecycle, errors, the binding's own
//! checks, and outputs checked against known values, on the host backend. On a machine with a
//! CUDA device a CUDA plan is also selected and queried (this binding allocates no device
//! memory: GPU runs are covered by the library's own CUDA suites).
use mhc::{Args, Backend, Bf16, Desc, Dtype, Error, Guarantee, Op, Plan, Preference, Sku, Status, Stream, Workspace};

mod common;
use common::{bf16s, host, values};

#[test]
fn library_queries() {
    assert_eq!(mhc::version(), mhc::sys::MHC_VERSION);
    let v = mhc::sys::MHC_VERSION;
    assert_eq!(mhc::version_string(), format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100));
    assert!(mhc::cuda_device_count().expect("device count") >= 0);
    assert_eq!(Status::BAD_PARAM_SHAPE.name(), "MHC_STATUS_BAD_PARAM_SHAPE");
    assert_eq!(Sku::HOST_PRE.name(), Some("host_fp64_pre"));
    assert!(Sku::HOST_PRE.is_host());
    assert_eq!(Sku(0xdead_beef).name(), None);
}

#[test]
fn descriptor_defaults_come_from_the_library() {
    let d = Desc::new(Op::STATIC_LAYER).unwrap();
    let r = d.raw();
    assert_eq!(r.struct_size as usize, std::mem::size_of::<mhc::sys::mhc_desc_t>());
    assert_eq!((d.op(), r.n, r.sinkhorn_repeat, r.static_eps), (Op::STATIC_LAYER, 4, 20, 1e-5));
    assert_eq!(Dtype(r.act_dtype), Dtype::FP32, "family B defaults to Tier-1 fp32 activations");
    let a = Desc::new(Op::PRE).unwrap();
    assert_eq!((a.raw().rms_eps, a.raw().post_mult, Dtype(a.raw().act_dtype)), (1e-6, 2.0, Dtype::BF16));
    let b = Desc::new(Op::BOUNDARY).unwrap();
    assert_eq!((b.raw().norm_eps, b.raw().norm_scale, Dtype(b.raw().act_dtype)), (1e-6, 1.0, Dtype::BF16));
    let b = b.norm_eps(1e-5).norm_scale(0.5);
    assert_eq!((b.raw().norm_eps, b.raw().norm_scale), (1e-5, 0.5));
    let p = Preference::default();
    assert_eq!((p.raw().backends, p.raw().max_workspace_bytes, p.raw().forced_sku), (mhc::sys::MHC_BACKEND_ANY, u64::MAX, 0));
}

#[test]
fn plan_lifecycle_and_queries() {
    let stream = Stream::legacy_default();
    let desc = Desc::new(Op::STATIC_LAYER).unwrap().tokens(3).n(4).hidden(16);
    let plan = Plan::select(&stream, &desc, host()).expect("select a host plan");
    assert_eq!(plan.sku(), Sku::HOST_STATIC_LAYER);
    assert_eq!(plan.sku().name(), Some("host_fp64_static_layer"));
    assert_eq!(plan.workspace_size(), 0);
    let g = plan.precision_guarantee();
    assert_eq!((g.math_precision, g.accumulator), (Dtype::FP64, Dtype::FP64));
    let all = Guarantee::DETERMINISTIC | Guarantee::BIT_STABLE | Guarantee::BATCH_INVARIANT | Guarantee::NO_ATOMICS;
    assert!(g.flags.contains(all), "host plans make every guarantee: {:?}", g.flags);
    assert_eq!((plan.desc().raw().tokens, plan.desc().raw().hidden, plan.desc().op()), (3, 16, Op::STATIC_LAYER));

    // A required guarantee is honoured; a split count resolves to the one the plan runs.
    let pre = Desc::new(Op::PRE).unwrap().tokens(5).hidden(256);
    let bi = Plan::select(&stream, &pre, host().require(Guarantee::BATCH_INVARIANT)).unwrap();
    assert!(bi.precision_guarantee().flags.contains(Guarantee::BATCH_INVARIANT));
    assert!(bi.desc().raw().num_splits >= 1, "get_desc resolves num_splits");
    drop(bi);
    drop(plan); // Drop destroys; nothing to observe but that it returns
}

#[test]
fn errors_carry_status_category_and_message() {
    let stream = Stream::legacy_default();
    let bad = Desc::new(Op::PRE).unwrap().tokens(4).n(9).hidden(64);
    let e = Plan::select(&stream, &bad, host()).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_SHAPE);
    assert_eq!(e.category(), Status::BAD_PARAM);
    assert!(matches!(e, Error::BadParam { .. }));
    assert!(e.message().contains("desc->n"), "library message: {}", e.message());
    assert!(e.to_string().starts_with("MHC_STATUS_BAD_PARAM_SHAPE (2003): "), "{}", e);

    let e = Desc::new(Op(99)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_UNKNOWN_ENUM);

    // A forced SKU of another op.
    let d = Desc::new(Op::POST).unwrap().tokens(2).hidden(8);
    let e = Plan::select(&stream, &d, host().force(Sku::HOST_PRE)).unwrap_err();
    assert!(matches!(e, Error::NotSupported { .. }), "{}", e);

    // Codes from a newer library: plain values, sorted by category, never undefined behaviour.
    let newer_detail = Error::new(Status(2999), "m".into());
    assert!(matches!(newer_detail, Error::BadParam { .. }));
    assert_eq!(Status(2999).name(), "MHC_STATUS_BAD_PARAM (unknown detail)");
    let newer_category = Error::new(Status(7001), "m".into());
    assert!(matches!(newer_category, Error::Other { .. }));
    assert_eq!(newer_category.category(), Status(7000));
    assert_eq!(Status(7001).name(), "unknown mhc_status_t");

    if mhc::cuda_device_count().unwrap() == 0 {
        let d = Desc::new(Op::STATIC_LAYER).unwrap().tokens(2).hidden(8);
        let e = Plan::select(&stream, &d, Preference::default().backends(Backend::CUDA)).unwrap_err();
        assert_eq!(e.status(), Status::NOT_SUPPORTED_NO_DEVICE, "{}", e);
    }
}

#[test]
fn tensors_are_checked_before_the_call() {
    let stream = Stream::legacy_default();
    let (b, n, c) = (2usize, 4usize, 8usize);
    let plan = Plan::select(&stream, &Desc::new(Op::STATIC_LAYER).unwrap().tokens(b as i64).hidden(c as i64), host()).unwrap();
    let x = vec![0.5f32; b * n * c];
    let w = vec![Bf16::from_f32(1.0); c];
    let (hp, hq, hr) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n * n]);
    let mut out = vec![0.0f32; b * n * c];

    // A required tensor missing: named with the shape it takes.
    let e = plan.can_implement(&Args::new().residual(&x).norm_weight(&w).h_pre(&hp).h_post(&hq).out_residual(&mut out)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_NULL_POINTER, "{}", e);
    assert!(e.message().contains("args.h_res is not set: MHC_OP_STATIC_LAYER needs it (FP32 [4, 4])"), "{}", e.message());

    // A plain slice whose length is no whole number of rows, an element type the op does not take.
    let short = &x[..b * n * c - 1];
    let e = plan.can_implement(&Args::new().residual(short).norm_weight(&w).h_pre(&hp).h_post(&hq).h_res(&hr).out_residual(&mut out)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_SHAPE);
    assert!(
        e.message().contains("args.residual: 63 elements given, the plan takes [T, 4, 8] = T * 32 elements with T in 1..2"),
        "{}",
        e.message()
    );
    let wf = vec![1.0f32; c];
    let e = plan.run(&stream, Workspace::none(), &Args::new().residual(&x).norm_weight(&wf).h_pre(&hp).h_post(&hq).h_res(&hr).out_residual(&mut out)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_VALUE);
    assert!(e.message().contains("args.norm_weight"), "{}", e.message());

    // All good.
    plan.can_implement(&Args::new().residual(&x).norm_weight(&w).h_pre(&hp).h_post(&hq).h_res(&hr).out_residual(&mut out)).unwrap();
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// docs/numerics.md, family B, in f64.
fn static_layer_oracle(x: &[f32], w: &[Bf16], h_pre: &[f32], h_post: &[f32], h_res: &[f32], b: usize, n: usize, c: usize) -> Vec<f64> {
    let eps = 1e-5f64;
    let mut m = vec![0f64; n * n];
    for i in 0..n {
        let rmax = (0..n).map(|j| h_res[i * n + j] as f64).fold(f64::NEG_INFINITY, f64::max);
        for j in 0..n {
            m[i * n + j] = (h_res[i * n + j] as f64 - rmax).exp();
        }
    }
    for _ in 0..20 {
        for i in 0..n {
            let s: f64 = (0..n).map(|j| m[i * n + j]).sum();
            if s > eps {
                (0..n).for_each(|j| m[i * n + j] /= s);
            }
        }
        for j in 0..n {
            let s: f64 = (0..n).map(|i| m[i * n + j]).sum();
            if s > eps {
                (0..n).for_each(|i| m[i * n + j] /= s);
            }
        }
    }
    let mut out = vec![0f64; b * n * c];
    for bb in 0..b {
        let y: Vec<f64> = (0..c).map(|xx| (0..n).map(|i| sigmoid(h_pre[i] as f64) * x[(bb * n + i) * c + xx] as f64).sum()).collect();
        let ms = y.iter().map(|v| v * v).sum::<f64>() / c as f64;
        let rms = 1.0 / (ms + eps).sqrt();
        for i in 0..n {
            for xx in 0..c {
                let mix: f64 = (0..n).map(|j| m[i * n + j] * x[(bb * n + j) * c + xx] as f64).sum();
                out[(bb * n + i) * c + xx] = mix + 2.0 * sigmoid(h_post[i] as f64) * y[xx] * rms * w[xx].to_f32() as f64;
            }
        }
    }
    out
}

#[test]
fn static_layer_matches_the_formula() {
    let stream = Stream::legacy_default();
    let (b, n, c) = (3usize, 4usize, 40usize);
    let plan = Plan::select(&stream, &Desc::new(Op::STATIC_LAYER).unwrap().tokens(b as i64).n(n as i32).hidden(c as i64), host()).unwrap();
    let x = values(b * n * c, 1, -2.0, 2.0);
    let w: Vec<Bf16> = bf16s(c, 2, 0.5, 1.5);
    let h_pre = values(n, 3, -1.0, 1.0);
    let h_post = values(n, 4, -1.0, 1.0);
    let h_res = values(n * n, 5, -2.0, 2.0);
    let mut out = vec![f32::NAN; b * n * c];
    let args = Args::new().residual(&x).norm_weight(&w).h_pre(&h_pre).h_post(&h_post).h_res(&h_res).out_residual(&mut out);
    plan.run(&stream, Workspace::none(), &args).expect("run");
    drop(args);
    let want = static_layer_oracle(&x, &w, &h_pre, &h_post, &h_res, b, n, c);
    for (i, (got, want)) in out.iter().zip(&want).enumerate() {
        // The host backend evaluates in fp64 and rounds once to fp32.
        let tol = 1e-6 * want.abs().max(1.0);
        assert!(((*got as f64) - want).abs() <= tol, "out[{}] = {}, formula {}", i, got, want);
    }

    // Known outputs by hand: h = 0 everywhere gives s_pre = 0.5, s_post = 1 and M = 1/n (all
    // ones, rows then normalized). With every stream holding the same row v of +-1 and w = 1:
    // y = 0.5*n*v = 2v, mean(y^2) = 4, so out = v + 2v / sqrt(4 + eps).
    let v: Vec<f32> = (0..c).map(|i| if i % 2 == 0 { 1.0 } else { -1.0 }).collect();
    let x2: Vec<f32> = (0..b * n).flat_map(|_| v.iter().cloned()).collect();
    let ones = vec![Bf16::from_f32(1.0); c];
    let zeros_n = vec![0.0f32; n];
    let zeros_nn = vec![0.0f32; n * n];
    let mut out2 = vec![0.0f32; b * n * c];
    plan.run(&stream, Workspace::none(), &Args::new().residual(&x2).norm_weight(&ones).h_pre(&zeros_n).h_post(&zeros_n).h_res(&zeros_nn).out_residual(&mut out2))
        .unwrap();
    let y = 0.5 * n as f64; // sum_i sigmoid(0) * 1
    let yn = y / (y * y + 1e-5).sqrt();
    for (i, got) in out2.iter().enumerate() {
        let s = v[i % c] as f64;
        let want = s + s * yn;
        assert!(((*got as f64) - want).abs() <= 1e-6, "out2[{}] = {}, expected {}", i, got, want);
    }
}

#[test]
fn expand_then_post_is_exact() {
    // A6 copies the embedding into n streams; A4 with comb a permutation and post = 0.5 on a
    // layer output of 2.0 gives out[k] = R[perm(k)] + 1, all exact in bf16.
    let stream = Stream::legacy_default();
    let (t, n, c) = (3usize, 4usize, 24usize);
    let expand = Plan::select(&stream, &Desc::new(Op::EXPAND).unwrap().tokens(t as i64).n(n as i32).hidden(c as i64), host()).unwrap();
    let post = Plan::select(&stream, &Desc::new(Op::POST).unwrap().tokens(t as i64).n(n as i32).hidden(c as i64), host()).unwrap();
    assert_eq!((expand.sku(), post.sku()), (Sku::HOST_EXPAND, Sku::HOST_POST));
    let e: Vec<Bf16> = (0..t * c).map(|i| Bf16::from_f32((i % 13) as f32 * 0.25 - 1.5)).collect();
    let mut r = vec![Bf16(0xffff); t * n * c];
    expand.run(&stream, Workspace::none(), &Args::new().embedding(&e).out_residual(&mut r)).unwrap();
    for tt in 0..t {
        for i in 0..n {
            assert_eq!(&r[(tt * n + i) * c..(tt * n + i + 1) * c], &e[tt * c..(tt + 1) * c]);
        }
    }
    // Make the streams differ: stream i of token t holds e + i.
    for tt in 0..t {
        for i in 0..n {
            for xx in 0..c {
                let k = (tt * n + i) * c + xx;
                r[k] = Bf16::from_f32(r[k].to_f32() + i as f32);
            }
        }
    }
    let x = vec![Bf16::from_f32(2.0); t * c];
    let post_mix = vec![0.5f32; t * n];
    let perm = [2usize, 0, 3, 1]; // out stream k reads stream perm[k]
    let mut comb = vec![0.0f32; t * n * n];
    for tt in 0..t {
        for k in 0..n {
            comb[(tt * n + perm[k]) * n + k] = 1.0; // out[k] = sum_j comb[j][k] R[j]
        }
    }
    let mut out = vec![Bf16(0xffff); t * n * c];
    post.run(&stream, Workspace::none(), &Args::new().layer_output(&x).residual(&r).post_mix(&post_mix).comb_mix(&comb).out_residual(&mut out))
        .unwrap();
    for tt in 0..t {
        for k in 0..n {
            for xx in 0..c {
                let want = Bf16::from_f32(r[(tt * n + perm[k]) * c + xx].to_f32() + 1.0);
                assert_eq!(out[(tt * n + k) * c + xx], want, "t={} k={} x={}", tt, k, xx);
            }
        }
    }
}

#[test]
fn plans_are_send_and_sync() {
    // One plan run from several threads at once (Sync), then dropped on another thread (Send).
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Plan>();
    let stream = Stream::legacy_default();
    let (b, n, c) = (4usize, 4usize, 32usize);
    let plan = Plan::select(&stream, &Desc::new(Op::STATIC_LAYER).unwrap().tokens(b as i64).hidden(c as i64), host()).unwrap();
    let x = values(b * n * c, 7, -1.0, 1.0);
    let w = vec![Bf16::from_f32(1.25); c];
    let (hp, hq, hr) = (values(n, 8, -1.0, 1.0), values(n, 9, -1.0, 1.0), values(n * n, 10, -1.0, 1.0));
    let run = |plan: &Plan| {
        let mut out = vec![0.0f32; b * n * c];
        plan.run(&Stream::legacy_default(), Workspace::none(), &Args::new().residual(&x).norm_weight(&w).h_pre(&hp).h_post(&hq).h_res(&hr).out_residual(&mut out))
            .unwrap();
        out
    };
    let first = run(&plan);
    let results: Vec<Vec<f32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| run(&plan))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        assert!(r.iter().zip(&first).all(|(a, b)| a.to_bits() == b.to_bits()), "host plans are deterministic");
    }
    std::thread::spawn(move || drop(plan)).join().unwrap();
}

#[test]
fn cuda_plan_when_a_device_is_present() {
    let devices = mhc::cuda_device_count().unwrap();
    if devices == 0 {
        println!("skipped: no CUDA device (the host-backend tests above ran)");
        return;
    }
    // A CUDA plan: selected and queried; host slices are refused by its memory-space check.
    let stream = Stream::legacy_default();
    let (b, n, c) = (2usize, 4usize, 64usize);
    let plan = Plan::select(&stream, &Desc::new(Op::STATIC_LAYER).unwrap().tokens(b as i64).hidden(c as i64), Preference::default()).unwrap();
    assert!(!plan.sku().is_host(), "backend ANY with {} device(s) picks a CUDA SKU, got {}", devices, plan.sku());
    assert_eq!(plan.precision_guarantee().accumulator, Dtype::FP32);
    let x = vec![0.5f32; b * n * c];
    let w = vec![Bf16::from_f32(1.0); c];
    let (hp, hq, hr) = (vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n * n]);
    let mut out = vec![0.0f32; b * n * c];
    let e = plan.can_implement(&Args::new().residual(&x).norm_weight(&w).h_pre(&hp).h_post(&hq).h_res(&hr).out_residual(&mut out)).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_MEMORY_SPACE, "{}", e);
    println!("CUDA plan {} selected and checked; runs with device memory are tested by the C++ CUDA suites", plan.sku());
}

#[test]
fn backward_ops_and_grad_accumulate() {
    // A6' (expand backward): dE[t,:] = sum_i dR[t,i,:], exact for quarter steps. The gradient
    // fields sit after args.tokens; grad_accumulate adds to the output instead of overwriting it.
    use mhc::{Field, GradAccumulate, TensorMut, TensorRef};
    let stream = Stream::legacy_default();
    let (t, n, c) = (3usize, 4usize, 16usize);
    let desc = |op: Op| Desc::new(op).unwrap().tokens(t as i64).n(n as i32).hidden(c as i64);
    let expand = Plan::select(&stream, &desc(Op::EXPAND_BACKWARD), host()).unwrap();
    assert_eq!(expand.sku(), Sku::HOST_EXPAND_BACKWARD);
    assert_eq!(Op::EXPAND_BACKWARD.name(), Some("MHC_OP_EXPAND_BACKWARD"));
    let gv: Vec<f32> = (0..t * n * c).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let g: Vec<Bf16> = gv.iter().map(|&v| Bf16::from_f32(v)).collect();
    let mut sum = vec![0.0f32; t * c];
    for (i, v) in gv.iter().enumerate() {
        sum[i / (n * c) * c + i % c] += v;
    }
    let mut de = vec![Bf16::from_f32(f32::NAN); t * c]; // overwritten, never read
    let run = |de: &mut [Bf16], bits: GradAccumulate| {
        let args = Args::new()
            .grad_residual(TensorRef::new(&g, &[t, n, c]))
            .out_grad_embedding(TensorMut::new(de, &[t, c]))
            .grad_accumulate(bits);
        expand.run(&stream, Workspace::none(), &args)
    };
    run(&mut de, GradAccumulate::NONE).unwrap();
    run(&mut de, GradAccumulate::of(Field::OutGradEmbedding).unwrap()).unwrap();
    for (k, v) in de.iter().enumerate() {
        assert_eq!(v.to_f32(), 2.0 * sum[k], "dE[{}]: overwrite, then accumulate", k);
    }
    // A bit of an output A6' does not write: the library refuses it.
    let e = run(&mut de, GradAccumulate::FN).unwrap_err();
    assert_eq!(e.status(), Status::BAD_PARAM_VALUE, "{}", e);

    // A4' (post backward): dX[t,:] = sum_k post[t,k] dout[t,k,:].
    let post = Plan::select(&stream, &desc(Op::POST_BACKWARD), host()).unwrap();
    assert_eq!(post.sku(), Sku::HOST_POST_BACKWARD);
    let x: Vec<Bf16> = values(t * c, 51, -2.0, 2.0).into_iter().map(Bf16::from_f32).collect();
    let r: Vec<Bf16> = values(t * n * c, 52, -2.0, 2.0).into_iter().map(Bf16::from_f32).collect();
    let (pm, cm) = (values(t * n, 53, 0.0, 2.0), values(t * n * n, 54, 0.0, 1.0));
    let (mut dx, mut dr) = (vec![Bf16(0); t * c], vec![Bf16(0); t * n * c]);
    let (mut dp, mut dc) = (vec![0.0f32; t * n], vec![0.0f32; t * n * n]);
    let args = Args::new()
        .layer_output(TensorRef::new(&x, &[t, c]))
        .residual(&r)
        .post_mix(&pm)
        .comb_mix(&cm)
        .grad_residual(&g)
        .out_grad_layer_output(&mut dx)
        .out_grad_residual(&mut dr)
        .out_grad_post_mix(&mut dp)
        .out_grad_comb_mix(&mut dc);
    post.run(&stream, Workspace::none(), &args).unwrap();
    drop(args);
    for tt in 0..t {
        for col in 0..c {
            let want: f64 = (0..n).map(|k| pm[tt * n + k] as f64 * g[(tt * n + k) * c + col].to_f32() as f64).sum();
            let got = dx[tt * c + col].to_f32() as f64;
            assert!((got - want).abs() <= want.abs() / 128.0 + 1e-6, "dX[{},{}] = {}, want {}", tt, col, got, want);
        }
    }
}
