//! Row-major `f32` matrix products on plain buffers, through the `gemm` crate (the kernels candle's
//! own CPU matmul calls), for the layers whose gradients are derived by hand.
//!
//! `gemm` splits a product between threads by blocks of the output only, so every output element
//! is summed in the same order whatever the thread count: results are bit-identical for 1 and N
//! threads.

use gemm::Parallelism;

/// Threads one product may use, from candle's setting (`RAYON_NUM_THREADS`, else every core), so
/// hand-derived layers and candle's ops share the machine the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Threads(usize);

impl Threads {
    /// candle's thread count, read once (it reads the environment on every call).
    pub(crate) fn from_environment() -> Threads {
        Threads(candle_core::utils::get_num_threads().max(1))
    }

    fn parallelism(self) -> Parallelism {
        if self.0 <= 1 {
            Parallelism::None
        } else {
            Parallelism::Rayon(self.0)
        }
    }
}

/// A row-major matrix operand, optionally read transposed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operand<'a> {
    data: &'a [f32],
    /// Rows and columns as stored.
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a> Operand<'a> {
    /// `data` as a `rows × cols` row-major matrix.
    pub(crate) fn new(data: &'a [f32], rows: usize, cols: usize) -> Operand<'a> {
        assert_eq!(data.len(), rows * cols, "operand of {rows} × {cols}");
        Operand {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    /// The same matrix read as its transpose.
    pub(crate) fn t(self) -> Operand<'a> {
        Operand {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as read.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Row and column strides as read.
    fn strides(&self) -> (isize, isize) {
        let (row, col) = (self.cols as isize, 1);
        if self.transposed {
            (col, row)
        } else {
            (row, col)
        }
    }
}

/// `out = a·b` (or `out += a·b` when `accumulate`), `out` row-major `m × n`.
///
/// # Panics
/// When the shapes do not fit together; every caller passes shapes it has built itself.
pub(crate) fn matmul(
    out: &mut [f32],
    a: Operand<'_>,
    b: Operand<'_>,
    accumulate: bool,
    threads: Threads,
) {
    let (m, k) = a.shape();
    let (k_b, n) = b.shape();
    assert_eq!(k, k_b, "inner dimensions differ");
    assert_eq!(out.len(), m * n, "output of {m} × {n}");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            out.fill(0.0);
        }
        return;
    }
    let (a_rs, a_cs) = a.strides();
    let (b_rs, b_cs) = b.strides();
    // SAFETY: the asserts above and in `Operand::new` make every index `gemm` forms from these
    // shapes and strides fall inside its buffer: `a` is read at i·a_rs + p·a_cs for i < m, p < k,
    // which is below rows·cols = a.data.len() for both orientations, likewise `b`, and `out` is
    // written at i·n + j for i < m, j < n. `out` is a unique borrow, so it aliases neither input.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a_cs,
            a_rs,
            b.data.as_ptr(),
            b_cs,
            b_rs,
            1.0,
            1.0,
            false,
            false,
            false,
            threads.parallelism(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product written out, in f64.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|p| f64::from(a[i * k + p]) * f64::from(b[p * n + j]))
                    .sum::<f64>() as f32;
            }
        }
        out
    }

    fn transpose(x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        for i in 0..rows {
            for j in 0..cols {
                out[j * rows + i] = x[i * cols + j];
            }
        }
        out
    }

    #[test]
    fn products_in_every_orientation_match_the_definition() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        let at = transpose(&a, m, k);
        let bt = transpose(&b, k, n);
        let threads = Threads(1);
        for (lhs, rhs) in [
            (Operand::new(&a, m, k), Operand::new(&b, k, n)),
            (Operand::new(&at, k, m).t(), Operand::new(&b, k, n)),
            (Operand::new(&a, m, k), Operand::new(&bt, n, k).t()),
            (Operand::new(&at, k, m).t(), Operand::new(&bt, n, k).t()),
        ] {
            let mut out = vec![f32::NAN; m * n];
            matmul(&mut out, lhs, rhs, false, threads);
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - y).abs() < 1e-5, "{x} vs {y}");
            }
            // Accumulating adds the product once more.
            matmul(&mut out, lhs, rhs, true, threads);
            for (x, y) in out.iter().zip(&expected) {
                assert!((x - 2.0 * y).abs() < 1e-5, "{x} vs {}", 2.0 * y);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (m, k, n) = (300, 200, 170);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.013).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.007).cos()).collect();
        let run = |threads| {
            let mut out = vec![0.0; m * n];
            matmul(
                &mut out,
                Operand::new(&a, m, k),
                Operand::new(&b, k, n),
                false,
                Threads(threads),
            );
            out
        };
        let one = run(1);
        let pool = rayon_pool(2);
        let two = pool.install(|| run(2));
        assert!(
            one.iter()
                .zip(&two)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
    }

    fn rayon_pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }
}
