//! Single-core SGEMM rate of the `gemm` crate, the kernels behind the trainer's matrix products.
//!
//! Multiplies two row-major `n × n` `f32` matrices (`n` = 1024 unless given as the first
//! argument) on one thread, `reps` times (5 unless given as the second argument), and prints the
//! best rate as one line, `sgemm_gflops <value>`, counting `2·n³` floating-point operations per
//! product. `scripts/bench/run.sh` compares it with `torch.mm` on one thread.
//!
//! ```text
//! cargo run --release -p trainer --example sgemm [-- N [REPS]]
//! ```
#![allow(unsafe_code)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut next = |default: usize, name: &str| match args.next() {
        None => Some(default),
        Some(text) => match text.parse::<usize>() {
            Ok(value) if value >= 1 => Some(value),
            _ => {
                eprintln!("error: {name} must be a whole number of at least 1, got {text:?}");
                None
            }
        },
    };
    let (Some(n), Some(reps)) = (next(1024, "N"), next(5, "REPS")) else {
        eprintln!("usage: sgemm [N [REPS]]");
        return ExitCode::from(2);
    };

    // Deterministic, non-trivial inputs in [-1, 1).
    let fill = |offset: usize| -> Vec<f32> {
        (0..n * n)
            .map(|i| ((i * 7 + offset) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    };
    let lhs = fill(0);
    let rhs = fill(1);
    let mut dst = vec![0.0f32; n * n];
    let stride = isize::try_from(n).expect("a matrix that fits in memory has an isize stride");

    let mut best = f64::INFINITY;
    // One untimed warm-up product, then `reps` timed ones.
    for rep in 0..=reps {
        let started = Instant::now();
        // SAFETY: `dst`, `lhs` and `rhs` each hold exactly `n · n` elements, laid out row-major
        // (column stride 1, row stride `n`), so every element the kernel reads or writes lies
        // inside its buffer. `dst` is borrowed mutably and does not alias the inputs, and with
        // `read_dst == false` its previous contents are not read (alpha is ignored).
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                dst.as_mut_ptr(),
                1,
                stride,
                false,
                lhs.as_ptr(),
                1,
                stride,
                rhs.as_ptr(),
                1,
                stride,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        black_box(&mut dst);
        let seconds = started.elapsed().as_secs_f64();
        if rep > 0 {
            best = best.min(seconds);
        }
    }
    // A wrong stride or argument order would time the wrong product: check a few entries.
    for (row, col) in [(0, 0), (n / 2, n / 3), (n - 1, n - 1)] {
        let expected: f64 = (0..n)
            .map(|i| f64::from(lhs[row * n + i]) * f64::from(rhs[i * n + col]))
            .sum();
        let got = f64::from(dst[row * n + col]);
        if (got - expected).abs() > 1e-3 * (1.0 + expected.abs()) {
            eprintln!("error: entry ({row}, {col}) is {got}, expected {expected}");
            return ExitCode::FAILURE;
        }
    }
    let flops = 2.0 * (n as f64).powi(3);
    println!("sgemm_gflops {:.2}", flops / best / 1e9);
    ExitCode::SUCCESS
}
