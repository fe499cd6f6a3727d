//! Helpers shared by the integration tests (each test file uses what it needs).
#![allow(dead_code)]

use mhc::{Backend, Bf16, Preference};

pub fn host() -> Preference {
    Preference::default().backends(Backend::HOST)
}

/// Deterministic values in [lo, hi) (a 64-bit LCG), the same on every machine.
pub fn values(count: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..count)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

pub fn bf16s(count: usize, seed: u64, lo: f32, hi: f32) -> Vec<Bf16> {
    values(count, seed, lo, hi).into_iter().map(Bf16::from_f32).collect()
}
