//! The static hyper-connection layer (MHC_OP_STATIC_LAYER, seed 002's HyperConnectionPlan) on
//! the host backend: select a plan once, check the tensors, run it, read what it promises.
use mhc::{Args, Backend, Bf16, Desc, Op, Plan, Preference, Stream, Workspace};

fn main() -> mhc::Result<()> {
    let (b, n, c) = (2usize, 4usize, 64usize);
    let desc = Desc::new(Op::STATIC_LAYER)?.tokens(b as i64).n(n as i32).hidden(c as i64);
    let stream = Stream::legacy_default();
    let plan = Plan::select(&stream, &desc, Preference::default().backends(Backend::HOST))?;

    // x [B, n, C] fp32, rmsnorm weight [C] bf16, h_pre [n], h_post [n], h_res [n, n] fp32.
    let x: Vec<f32> = (0..b * n * c).map(|i| ((i % 7) as f32 - 3.0) * 0.25).collect();
    let w = vec![Bf16::from_f32(1.0); c];
    let h_pre = vec![0.0f32; n];
    let h_post = vec![0.0f32; n];
    let h_res: Vec<f32> = (0..n * n).map(|i| if i % (n + 1) == 0 { 2.0 } else { 0.0 }).collect();
    let mut out = vec![0.0f32; b * n * c];

    let args = Args::new()
        .residual(&x)
        .norm_weight(&w)
        .h_pre(&h_pre)
        .h_post(&h_post)
        .h_res(&h_res)
        .out_residual(&mut out);
    plan.can_implement(&args)?;
    plan.run(&stream, Workspace::none(), &args)?;
    drop(args);

    let g = plan.precision_guarantee();
    println!("sku {} workspace {} bytes", plan.sku(), plan.workspace_size());
    println!("math {} accumulator {} flags {:#x}", g.math_precision, g.accumulator, g.flags.0);
    println!("out[0, 0, 0..4] = {:?}", &out[..4]);

    // Errors carry the status and the library's message.
    let bad = Desc::new(Op::STATIC_LAYER)?.tokens(b as i64).n(33).hidden(c as i64);
    match Plan::select(&stream, &bad, Preference::default()) {
        Err(e) => println!("n = 33 refused: {}", e),
        Ok(_) => panic!("n = 33 must be refused"),
    }
    Ok(())
}
