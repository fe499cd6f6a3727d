//! pre + post of one DeepSeek-V4 layer through the safe API, on the host backend; prints the SKUs.
use mhc::{Args, Backend, Bf16, Desc, Op, Plan, Preference, Stream, TensorMut, TensorRef, Workspace};

fn main() -> mhc::Result<()> {
    let (t, n, c) = (2usize, 4usize, 64usize);
    let (nn, k) = (n * (n + 2), n * c);
    let stream = Stream::legacy_default();
    let host = || Preference::default().backends(Backend::HOST);
    let pre = Plan::select(&stream, &Desc::new(Op::PRE)?.tokens(t as i64).n(n as i32).hidden(c as i64), host())?;
    let post = Plan::select(&stream, &Desc::new(Op::POST)?.tokens(t as i64).n(n as i32).hidden(c as i64), host())?;

    let r: Vec<Bf16> = (0..t * n * c).map(|i| Bf16::from_f32(((i % 17) as f32 - 8.0) / 8.0)).collect();
    let fn_: Vec<f32> = (0..nn * k).map(|i| ((i % 13) as f32 - 6.0) / 256.0).collect();
    let (scale, base) = ([0.5f32, 0.25, 0.125], vec![0.0f32; nn]);
    let (mut post_mix, mut comb_mix, mut x) = (vec![0f32; t * n], vec![0f32; t * n * n], vec![Bf16(0); t * c]);
    let a = Args::new()
        .residual(TensorRef::new(&r, &[t, n, c]))
        .fn_(&fn_)
        .scale(&scale[..])
        .base(&base)
        .out_post_mix(&mut post_mix)
        .out_comb_mix(&mut comb_mix)
        .out_layer_input(&mut x);
    pre.run(&stream, Workspace::none(), &a)?;
    drop(a);
    let mut r_next = vec![Bf16(0); t * n * c];
    let b = Args::new()
        .layer_output(TensorRef::new(&x, &[t, c]))
        .residual(&r)
        .post_mix(&post_mix)
        .comb_mix(&comb_mix)
        .out_residual(TensorMut::new(&mut r_next, &[t, n, c]));
    post.run(&stream, Workspace::none(), &b)?;
    drop(b);
    let sum: f32 = comb_mix[..n * n].iter().sum();
    println!("libmhc {}: pre {} post {}; comb rows sum to {:.3} (n = {})", mhc::version_string(), pre.sku(), post.sku(), sum, n);
    assert!((sum - n as f32).abs() < 1e-2 && r_next.iter().all(|v| v.to_f32().is_finite()));
    Ok(())
}
