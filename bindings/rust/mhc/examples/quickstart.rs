//! The static hyper-connection layer (MHC_OP_STATIC_LAYER) on the host backend: select a plan
//! once for up to 8 tokens, read which tensors it takes, run it on 2 tokens with shaped
//! tensors, read what it promises.
use mhc::{Args, Backend, Bf16, Desc, Op, Plan, Preference, Stream, TensorMut, TensorRef, Workspace};

fn main() -> mhc::Result<()> {
    let (max_b, n, c) = (8usize, 4usize, 64usize);
    let desc = Desc::new(Op::STATIC_LAYER)?.tokens(max_b as i64).n(n as i32).hidden(c as i64);
    let stream = Stream::legacy_default();
    let plan = Plan::select(&stream, &desc, Preference::default().backends(Backend::HOST))?;
    println!("{} takes:", plan.desc().op());
    for t in plan.tensors() {
        println!("  {:<13} {:<6} {} {:?} T at {:?}", t.name(), t.role, t.dtype, t.shape, t.token_dim);
    }

    // This run has B = 2 tokens: x [B, n, C] fp32, rmsnorm weight [C] bf16, h_pre [n],
    // h_post [n], h_res [n, n] fp32. B comes from the tensors' shapes.
    let b = 2usize;
    let x: Vec<f32> = (0..b * n * c).map(|i| ((i % 7) as f32 - 3.0) * 0.25).collect();
    let w = vec![Bf16::from_f32(1.0); c];
    let h_pre = vec![0.0f32; n];
    let h_post = vec![0.0f32; n];
    let h_res: Vec<f32> = (0..n * n).map(|i| if i % (n + 1) == 0 { 2.0 } else { 0.0 }).collect();
    let mut out = vec![0.0f32; b * n * c];

    let args = Args::new()
        .residual(TensorRef::new(&x, &[b, n, c]))
        .norm_weight(TensorRef::new(&w, &[c]))
        .h_pre(&h_pre) // a plain slice: only its element count is checked
        .h_post(&h_post)
        .h_res(TensorRef::new(&h_res, &[n, n]))
        .out_residual(TensorMut::new(&mut out, &[b, n, c]));
    plan.can_implement(&args)?;
    println!("run on B = {}", plan.run_tokens(&args)?);
    plan.run(&stream, Workspace::none(), &args)?;
    drop(args);

    let g = plan.precision_guarantee();
    println!("sku {} workspace {} bytes", plan.sku(), plan.workspace_size());
    println!("math {} accumulator {} flags {:#x}", g.math_precision, g.accumulator, g.flags.0);
    println!("out[0, 0, 0..4] = {:?}", &out[..4]);

    // Errors carry the status and a message: the binding's for a tensor of the wrong shape
    // (here x transposed to [B, C, n], as many elements) ...
    let transposed = Args::new()
        .residual(TensorRef::new(&x, &[b, c, n]))
        .norm_weight(&w)
        .h_pre(&h_pre)
        .h_post(&h_post)
        .h_res(&h_res)
        .out_residual(TensorMut::new(&mut out, &[b, n, c]));
    match plan.can_implement(&transposed) {
        Err(e) => println!("transposed x refused: {}", e),
        Ok(()) => panic!("a transposed x must be refused"),
    }
    drop(transposed);

    // ... and the library's for a descriptor it rejects.
    let bad = Desc::new(Op::STATIC_LAYER)?.tokens(max_b as i64).n(33).hidden(c as i64);
    match Plan::select(&stream, &bad, Preference::default()) {
        Err(e) => println!("n = 33 refused: {}", e),
        Ok(_) => panic!("n = 33 must be refused"),
    }
    Ok(())
}
