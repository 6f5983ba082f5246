//! The CNN's layers as candle operations with their own backward passes, so candle's autograd
//! composes them: a 2-D convolution (stride 1, zero padding, bias) whose forward and backward are
//! both unfold-then-GEMM ("im2col"), and a fused ReLU + 2×2 max-pool.
//!
//! candle's own CPU `conv2d` is im2col + GEMM forward, but its backward runs through
//! `conv_transpose2d` and a convolution whose kernel is the whole output gradient, both direct
//! loops that are many times slower; its max-pool backward takes five tensor operations. Here, for
//! one image with unfolded input `U` (`C·k·k × H'W'`, one column per output pixel) and kernel `K`
//! (`O × C·k·k`): forward `Y = K·U + b`; backward `∂K = Σ_images ∂Y·Uᵀ`, `∂b = Σ ∂Y` over images
//! and pixels, and `∂U = Kᵀ·∂Y`, folded back onto the input's pixels (only when the input needs a
//! gradient: the first layer's input, the data, does not).

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Shape, Storage, Tensor};

use crate::kernels::{Operand, Threads, matmul};

/// `input [B, C, H, W]` convolved with `kernel [O, C, k, k]` at stride 1 with `padding` zeros on
/// every side, plus `bias` (`O` values, any shape): `[B, O, H + 2p − k + 1, W + 2p − k + 1]`.
pub(crate) fn conv2d(
    input: &Tensor,
    kernel: &Tensor,
    bias: &Tensor,
    padding: usize,
) -> candle_core::Result<Tensor> {
    input.apply_op3(
        kernel,
        bias,
        Conv2d {
            padding,
            threads: Threads::from_environment(),
        },
    )
}

/// `max(0, ·)` of the 2×2 max-pool (stride 2) of `input [B, C, H, W]`: `[B, C, H/2, W/2]`; an odd
/// last row or column is dropped, as candle's and PyTorch's pools do. The gradient flows to the
/// first maximum of each window (in row-major order), when that maximum is positive.
pub(crate) fn relu_max_pool2(input: &Tensor) -> candle_core::Result<Tensor> {
    input.apply_op1(ReluMaxPool2)
}

/// The sizes of one convolution.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    batch: usize,
    channels: usize,
    height: usize,
    width: usize,
    outputs: usize,
    kernel: usize,
    padding: usize,
    out_height: usize,
    out_width: usize,
}

impl Geometry {
    fn new(input: &[usize], kernel: &[usize], padding: usize) -> candle_core::Result<Geometry> {
        let (&[batch, channels, height, width], &[outputs, kernel_channels, k, k_w]) =
            (input, kernel)
        else {
            candle_core::bail!("conv2d wants a [B, C, H, W] input and an [O, C, k, k] kernel")
        };
        if kernel_channels != channels || k != k_w || k == 0 {
            candle_core::bail!("conv2d kernel {kernel:?} does not fit input {input:?}")
        }
        if height + 2 * padding < k || width + 2 * padding < k {
            candle_core::bail!("conv2d input {input:?} is smaller than its kernel {kernel:?}")
        }
        Ok(Geometry {
            batch,
            channels,
            height,
            width,
            outputs,
            kernel: k,
            padding,
            out_height: height + 2 * padding - k + 1,
            out_width: width + 2 * padding - k + 1,
        })
    }

    /// A 3×3 convolution with padding 1 (the CNN's, whose sizes `Cnn::new` checks) of one
    /// `[C, H, W]` image into `outputs` channels.
    fn same_3x3(channels: usize, height: usize, width: usize, outputs: usize) -> Geometry {
        Geometry {
            batch: 1,
            channels,
            height,
            width,
            outputs,
            kernel: 3,
            padding: 1,
            out_height: height,
            out_width: width,
        }
    }

    /// Output pixels per image.
    fn pixels(&self) -> usize {
        self.out_height * self.out_width
    }

    /// Length of one unfolded row: `C·k·k`.
    fn patch(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The output columns `x` whose input column `x + j − padding` lies inside the image.
    fn valid_columns(&self, j: usize) -> std::ops::Range<usize> {
        let start = self.padding.saturating_sub(j);
        let end = (self.width + self.padding)
            .saturating_sub(j)
            .min(self.out_width);
        start..end.max(start)
    }

    /// Unfolds one image (`C × H × W`) into `patch × pixels`: row `(c, i, j)` holds, for every
    /// output pixel, the input pixel its kernel tap (i, j) of channel c reads; padding reads 0.
    /// `padded` is scratch of `C × (H + 2p) × (W + 2p)` values whose border is zero (the image is
    /// copied into its interior), so every line of the unfolded matrix is one contiguous copy.
    fn unfold(&self, image: &[f32], padded: &mut [f32], out: &mut [f32]) {
        let (k, pixels) = (self.kernel, self.pixels());
        let (padded_width, padded_plane) = (self.padded_width(), self.padded_plane());
        self.pad(image, padded);
        for c in 0..self.channels {
            let plane = &padded[c * padded_plane..][..padded_plane];
            for i in 0..k {
                for j in 0..k {
                    let row = &mut out[((c * k + i) * k + j) * pixels..][..pixels];
                    for (y, line) in row.chunks_exact_mut(self.out_width).enumerate() {
                        line.copy_from_slice(
                            &plane[(y + i) * padded_width + j..][..self.out_width],
                        );
                    }
                }
            }
        }
    }

    fn padded_width(&self) -> usize {
        self.width + 2 * self.padding
    }

    fn padded_plane(&self) -> usize {
        (self.height + 2 * self.padding) * self.padded_width()
    }

    /// Scratch for [`Geometry::pad`]: `C × (H + 2p) × (W + 2p)` zeros, and `k − 1` spare ones past
    /// the last plane, as far as [`Geometry::unfold_wide`]'s last taps read.
    fn padded_scratch(&self) -> Vec<f32> {
        vec![0.0; self.channels * self.padded_plane() + self.kernel - 1]
    }

    /// Copies one image (`C × H × W`) into the interior of `padded` (from
    /// [`Geometry::padded_scratch`]), whose border stays zero.
    fn pad(&self, image: &[f32], padded: &mut [f32]) {
        let (p, padded_width) = (self.padding, self.padded_width());
        for (source, target) in image
            .chunks_exact(self.height * self.width)
            .zip(padded.chunks_exact_mut(self.padded_plane()))
        {
            for (line, padded_line) in source
                .chunks_exact(self.width)
                .zip(target[p * padded_width..].chunks_exact_mut(padded_width))
            {
                padded_line[p..p + self.width].copy_from_slice(line);
            }
        }
    }

    /// Output pixels per image of [`Geometry::unfold_wide`]: every output row is as wide as a
    /// padded row, the last `2p` of its values never read.
    fn wide_pixels(&self) -> usize {
        self.out_height * self.padded_width()
    }

    /// [`Geometry::unfold`] over the padded width, from an already [`pad`](Geometry::pad)ded
    /// image: each row of the unfolded matrix (`patch × wide_pixels`) is one contiguous slice of
    /// `padded`.
    fn unfold_wide(&self, padded: &[f32], out: &mut [f32]) {
        let (k, pixels) = (self.kernel, self.wide_pixels());
        for (tap, row) in out.chunks_exact_mut(pixels).enumerate() {
            let (c, i, j) = (tap / (k * k), tap / k % k, tap % k);
            let start = c * self.padded_plane() + i * self.padded_width() + j;
            row.copy_from_slice(&padded[start..][..pixels]);
        }
    }

    /// Adds an unfolded gradient (`patch × pixels`) back onto its input pixels (`C × H × W`).
    fn fold(&self, unfolded: &[f32], image: &mut [f32]) {
        let (k, pixels) = (self.kernel, self.pixels());
        for c in 0..self.channels {
            let plane = &mut image[c * self.height * self.width..][..self.height * self.width];
            for i in 0..k {
                for j in 0..k {
                    let row = &unfolded[((c * k + i) * k + j) * pixels..][..pixels];
                    let columns = self.valid_columns(j);
                    for y in 0..self.out_height {
                        let Some(r) = (y + i)
                            .checked_sub(self.padding)
                            .filter(|&r| r < self.height)
                        else {
                            continue;
                        };
                        let line = &row[y * self.out_width..][..self.out_width];
                        let shift = columns.start + j - self.padding;
                        let target = &mut plane[r * self.width + shift..][..columns.len()];
                        for (t, g) in target.iter_mut().zip(&line[columns.clone()]) {
                            *t += g;
                        }
                    }
                }
            }
        }
    }
}

/// The contiguous `f32` values of a CPU storage with `layout`.
fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout) -> candle_core::Result<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("conv2d wants contiguous tensors")
    };
    Ok(&storage.as_slice::<f32>()?[start..end])
}

/// Calls `f` with the values of `tensor` (made contiguous first if need be).
fn with_values<R>(tensor: &Tensor, f: impl FnOnce(&[f32]) -> R) -> candle_core::Result<R> {
    let tensor = tensor.contiguous()?;
    let (storage, layout) = tensor.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        candle_core::bail!("conv2d runs on the CPU only")
    };
    Ok(f(contiguous_f32(cpu, layout)?))
}

struct Conv2d {
    padding: usize,
    threads: Threads,
}

impl CustomOp3 for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d-im2col"
    }

    fn cpu_fwd(
        &self,
        input: &CpuStorage,
        input_layout: &Layout,
        kernel: &CpuStorage,
        kernel_layout: &Layout,
        bias: &CpuStorage,
        bias_layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let g = Geometry::new(input_layout.dims(), kernel_layout.dims(), self.padding)?;
        let input = contiguous_f32(input, input_layout)?;
        let kernel = contiguous_f32(kernel, kernel_layout)?;
        let bias = contiguous_f32(bias, bias_layout)?;
        if bias.len() != g.outputs {
            candle_core::bail!("conv2d wants {} bias values, got {}", g.outputs, bias.len())
        }
        let (pixels, patch) = (g.pixels(), g.patch());
        let mut unfolded = vec![0.0; patch * pixels];
        let mut padded = g.padded_scratch();
        let mut out = vec![0.0; g.batch * g.outputs * pixels];
        for (image, out) in input
            .chunks_exact(g.image_len())
            .zip(out.chunks_exact_mut(g.outputs * pixels))
        {
            for (plane, &b) in out.chunks_exact_mut(pixels).zip(bias) {
                plane.fill(b);
            }
            g.unfold(image, &mut padded, &mut unfolded);
            matmul(
                out,
                Operand::new(kernel, g.outputs, patch),
                Operand::new(&unfolded, patch, pixels),
                true,
                self.threads,
            );
        }
        let shape = Shape::from((g.batch, g.outputs, g.out_height, g.out_width));
        Ok((CpuStorage::F32(out), shape))
    }

    fn bwd(
        &self,
        input: &Tensor,
        kernel: &Tensor,
        bias: &Tensor,
        _output: &Tensor,
        grad_output: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = Geometry::new(input.dims(), kernel.dims(), self.padding)?;
        let (pixels, patch) = (g.pixels(), g.patch());
        let input_needs_gradient = input.track_op();
        let kernel_values = with_values(kernel, <[f32]>::to_vec)?;
        let (grad_kernel, grad_bias, grad_input) = with_values(input, |input| {
            with_values(grad_output, |grad_output| {
                let mut unfolded = vec![0.0; patch * pixels];
                let mut padded = g.padded_scratch();
                let mut grad_kernel = vec![0.0; g.outputs * patch];
                let mut grad_bias = vec![0.0f32; g.outputs];
                let mut grad_input = vec![0.0; if input_needs_gradient { input.len() } else { 0 }];
                for (index, (image, grad)) in input
                    .chunks_exact(g.image_len())
                    .zip(grad_output.chunks_exact(g.outputs * pixels))
                    .enumerate()
                {
                    for (sum, plane) in grad_bias.iter_mut().zip(grad.chunks_exact(pixels)) {
                        *sum += plane.iter().sum::<f32>();
                    }
                    g.unfold(image, &mut padded, &mut unfolded);
                    matmul(
                        &mut grad_kernel,
                        Operand::new(grad, g.outputs, pixels),
                        Operand::new(&unfolded, patch, pixels).t(),
                        index > 0,
                        self.threads,
                    );
                    if input_needs_gradient {
                        // The unfolded buffer is free again: reuse it for ∂U.
                        matmul(
                            &mut unfolded,
                            Operand::new(&kernel_values, g.outputs, patch).t(),
                            Operand::new(grad, g.outputs, pixels),
                            false,
                            self.threads,
                        );
                        g.fold(
                            &unfolded,
                            &mut grad_input[index * g.image_len()..][..g.image_len()],
                        );
                    }
                }
                (grad_kernel, grad_bias, grad_input)
            })
        })??;
        let device = input.device();
        let grad_input = if input_needs_gradient {
            Some(Tensor::from_vec(grad_input, input.shape(), device)?)
        } else {
            None
        };
        Ok((
            grad_input,
            Some(Tensor::from_vec(grad_kernel, kernel.shape(), device)?),
            Some(Tensor::from_vec(grad_bias, bias.shape(), device)?),
        ))
    }
}

/// Sizes of a 2×2 pool of `[B, C, H, W]`.
fn pool_geometry(dims: &[usize]) -> candle_core::Result<(usize, usize, usize, usize, usize)> {
    let &[batch, channels, height, width] = dims else {
        candle_core::bail!("max-pool wants a [B, C, H, W] input, got {dims:?}")
    };
    Ok((batch * channels, height, width, height / 2, width / 2))
}

/// Appends `max(0, ·)` of the 2×2 max-pool of one `height × width` plane whose rows start
/// `stride` values apart to `out`, row by row; `column_max` is scratch of `2·(width/2)` values.
fn relu_max_pool_plane(
    plane: &[f32],
    height: usize,
    width: usize,
    stride: usize,
    column_max: &mut [f32],
    out: &mut Vec<f32>,
) {
    let out_width = width / 2;
    for y in 0..height / 2 {
        let top = &plane[2 * y * stride..][..2 * out_width];
        let bottom = &plane[(2 * y + 1) * stride..][..2 * out_width];
        // The maximum of each column pair first (contiguous, so vectorised), then of
        // neighbouring columns.
        for ((m, &t), &b) in column_max.iter_mut().zip(top).zip(bottom) {
            *m = t.max(b);
        }
        out.extend(column_max.chunks_exact(2).map(|m| m[0].max(m[1]).max(0.0)));
    }
}

/// Reused buffers of [`conv_relu_pool`] for one layer.
#[derive(Debug, Default)]
pub(crate) struct ConvScratch {
    padded: Vec<f32>,
    unfolded: Vec<f32>,
    conv: Vec<f32>,
    column_max: Vec<f32>,
}

/// One image (`[C, H, W]` = `shape`) through a 3×3 convolution with padding 1 (`kernel
/// [O, C, 3, 3]`, `bias [O]`), then ReLU and the 2×2 max-pool, appended to `out`
/// (`O × H/2 × W/2`). Forward only, on plain buffers, with the kernels of [`conv2d`] and
/// [`relu_max_pool2`], so it gives their numbers without building tensors: the CNN's evaluation.
/// `scratch` must serve this layer only (its zero border depends on the shape).
pub(crate) fn conv_relu_pool(
    image: &[f32],
    shape: [usize; 3],
    kernel: &[f32],
    bias: &[f32],
    threads: Threads,
    scratch: &mut ConvScratch,
    out: &mut Vec<f32>,
) {
    let [channels, height, width] = shape;
    let outputs = bias.len();
    let g = Geometry::same_3x3(channels, height, width, outputs);
    // The convolution is computed over the padded width (see `Geometry::unfold_wide`), so each
    // unfolded row is one copy instead of H short ones.
    let (pixels, patch) = (g.wide_pixels(), g.patch());
    if scratch.padded.is_empty() {
        scratch.padded = g.padded_scratch();
        scratch.unfolded = vec![0.0; patch * pixels];
        scratch.column_max = vec![0.0; 2 * (width / 2)];
    }
    g.pad(image, &mut scratch.padded);
    g.unfold_wide(&scratch.padded, &mut scratch.unfolded);
    scratch.conv.clear();
    for &b in bias {
        scratch.conv.extend(std::iter::repeat_n(b, pixels));
    }
    matmul(
        &mut scratch.conv,
        Operand::new(kernel, outputs, patch),
        Operand::new(&scratch.unfolded, patch, pixels),
        true,
        threads,
    );
    for plane in scratch.conv.chunks_exact(pixels) {
        relu_max_pool_plane(
            plane,
            height,
            width,
            g.padded_width(),
            &mut scratch.column_max,
            out,
        );
    }
}

struct ReluMaxPool2;

impl CustomOp1 for ReluMaxPool2 {
    fn name(&self) -> &'static str {
        "relu-max-pool2"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (planes, height, width, out_height, out_width) = pool_geometry(layout.dims())?;
        let input = contiguous_f32(storage, layout)?;
        let mut out = Vec::with_capacity(planes * out_height * out_width);
        let mut column_max = vec![0.0f32; 2 * out_width];
        for plane in input.chunks_exact(height * width) {
            relu_max_pool_plane(plane, height, width, width, &mut column_max, &mut out);
        }
        let dims = layout.dims();
        Ok((
            CpuStorage::F32(out),
            Shape::from((dims[0], dims[1], out_height, out_width)),
        ))
    }

    fn bwd(
        &self,
        input: &Tensor,
        _output: &Tensor,
        grad_output: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        let (_, height, width, out_height, out_width) = pool_geometry(input.dims())?;
        if out_height == 0 || out_width == 0 {
            return Ok(Some(input.zeros_like()?));
        }
        let grad_input = with_values(input, |input| {
            with_values(grad_output, |grad_output| {
                let mut grad_input = vec![0.0f32; input.len()];
                for ((plane, grad_plane), grads) in input
                    .chunks_exact(height * width)
                    .zip(grad_input.chunks_exact_mut(height * width))
                    .zip(grad_output.chunks_exact(out_height * out_width))
                {
                    for (y, grads) in grads.chunks_exact(out_width).enumerate() {
                        let top = &plane[2 * y * width..][..2 * out_width];
                        let bottom = &plane[(2 * y + 1) * width..][..2 * out_width];
                        let (upper, lower) = grad_plane[2 * y * width..].split_at_mut(width);
                        let (grad_top, grad_bottom) =
                            (&mut upper[..2 * out_width], &mut lower[..2 * out_width]);
                        for (((t, b), (gt, gb)), &g) in top
                            .chunks_exact(2)
                            .zip(bottom.chunks_exact(2))
                            .zip(
                                grad_top
                                    .chunks_exact_mut(2)
                                    .zip(grad_bottom.chunks_exact_mut(2)),
                            )
                            .zip(grads)
                        {
                            // The gradient goes to the first maximum of the window in row-major
                            // order, if it is positive. Written as bit masks, without branches
                            // on the data: where the maximum is positive, a value equals it
                            // exactly when their bits do.
                            let max = t[0].max(t[1]).max(b[0].max(b[1]));
                            let g = if max > 0.0 { g.to_bits() } else { 0 };
                            let is_max = |v: f32| u32::from(v.to_bits() == max.to_bits());
                            let (e0, e1, e2) = (is_max(t[0]), is_max(t[1]), is_max(b[0]));
                            let first = e0;
                            let second = e1 & !e0 & 1;
                            let third = e2 & !(e0 | e1) & 1;
                            let fourth = !(e0 | e1 | e2) & 1;
                            let select = |chosen: u32| f32::from_bits(g & chosen.wrapping_neg());
                            gt[0] = select(first);
                            gt[1] = select(second);
                            gb[0] = select(third);
                            gb[1] = select(fourth);
                        }
                    }
                }
                grad_input
            })
        })??;
        Ok(Some(Tensor::from_vec(
            grad_input,
            input.shape(),
            input.device(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device, Var};

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1().unwrap()
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1e-3f32, |m, x| m.max(x.abs()));
        let error = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
            / scale;
        assert!(error < 1e-5, "{what}: relative error {error}");
    }

    /// A variable of `shape` with distinct, scrambled values in [−1, 1].
    fn scrambled(shape: &[usize], salt: usize) -> Var {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|i| ((i * 7919 + salt * 104_729) % 1009) as f32 / 504.5 - 1.0)
            .collect();
        Var::from_tensor(&Tensor::from_vec(values, shape, &Device::Cpu).unwrap()).unwrap()
    }

    /// `Σ out·w` with weights that differ between outputs, so every output's gradient differs.
    fn weighted_sum(out: &Tensor) -> Tensor {
        let weights: Vec<f32> = (0..out.elem_count())
            .map(|i| (i % 7) as f32 - 3.0)
            .collect();
        let weights = Tensor::from_vec(weights, out.shape(), &Device::Cpu).unwrap();
        (out * weights).unwrap().sum_all().unwrap()
    }

    /// Output and the input, kernel and bias gradients agree with candle's own `conv2d` plus a
    /// broadcast bias and their autograd, for paddings 0 and 1 and non-square images.
    #[test]
    fn convolution_matches_candle_forward_and_backward() {
        for (padding, shape) in [(1, [3, 2, 7, 5]), (0, [2, 3, 6, 6]), (1, [1, 1, 4, 4])] {
            let input = scrambled(&shape, 1);
            let kernel = scrambled(&[4, shape[1], 3, 3], 2);
            let bias = scrambled(&[1, 4, 1, 1], 3);
            let ours = conv2d(
                input.as_tensor(),
                kernel.as_tensor(),
                bias.as_tensor(),
                padding,
            )
            .unwrap();
            let reference = input
                .as_tensor()
                .conv2d(kernel.as_tensor(), padding, 1, 1, 1)
                .unwrap()
                .broadcast_add(bias.as_tensor())
                .unwrap();
            assert_eq!(ours.dims(), reference.dims());
            assert_close(&values(&ours), &values(&reference), "output");
            let grads = weighted_sum(&ours).backward().unwrap();
            let expected = weighted_sum(&reference).backward().unwrap();
            for (var, what) in [(&kernel, "kernel"), (&input, "input"), (&bias, "bias")] {
                let (got, want) = (grads.get(var).unwrap(), expected.get(var).unwrap());
                assert_eq!(got.dims(), want.dims(), "{what} gradient");
                assert_close(&values(got), &values(want), what);
            }
        }
    }

    #[test]
    fn an_input_that_needs_no_gradient_gets_none() {
        let input = Tensor::ones((1, 1, 4, 4), DType::F32, &Device::Cpu).unwrap();
        let kernel = Var::ones((2, 1, 3, 3), DType::F32, &Device::Cpu).unwrap();
        let bias = Var::zeros(2, DType::F32, &Device::Cpu).unwrap();
        let out = conv2d(&input, kernel.as_tensor(), bias.as_tensor(), 1).unwrap();
        let grads = out.sum_all().unwrap().backward().unwrap();
        assert!(grads.get(&input).is_none());
        // Each kernel tap's gradient counts the output pixels whose tap falls inside the image:
        // (4 − |di|)(4 − |dj|) for offsets di, dj in {−1, 0, 1}, so (3 + 4 + 3)² = 100 in all, for
        // each of the two output channels; each bias sees all 16 output pixels.
        let total: f32 = values(grads.get(&kernel).unwrap()).iter().sum::<f32>() / 2.0;
        assert_eq!(total, 100.0);
        assert_eq!(values(grads.get(&bias).unwrap()), vec![16.0, 16.0]);
    }

    /// Forward, the fused op is candle's ReLU then max-pool, odd sizes included. Backward, each
    /// window's gradient reaches its maximum in full when that is positive: the derivative of the
    /// max. (candle 0.11's own max-pool backward scales it by the share of maxima in the window,
    /// so a single maximum gets a quarter of its gradient, and misplaces it for odd sizes; that is
    /// why the CNN does not use it.)
    #[test]
    fn relu_max_pool_matches_the_definition() {
        for shape in [[2, 3, 6, 4], [1, 2, 5, 7]] {
            let input = scrambled(&shape, 4);
            let ours = relu_max_pool2(input.as_tensor()).unwrap();
            let reference = input.as_tensor().relu().unwrap().max_pool2d(2).unwrap();
            assert_eq!(ours.dims(), reference.dims());
            assert_eq!(values(&ours), values(&reference));
            let grads = weighted_sum(&ours).backward().unwrap();
            // ∂(Σ w·out)/∂input by hand: the window's maximum gets its output's weight.
            let x = values(input.as_tensor());
            let [_, _, h, w] = shape;
            let mut expected = vec![0.0f32; x.len()];
            let mut out_index = 0;
            for plane in 0..shape[0] * shape[1] {
                for y in 0..h / 2 {
                    for col in 0..w / 2 {
                        let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .map(|(dy, dx)| plane * h * w + (2 * y + dy) * w + 2 * col + dx);
                        let at = window
                            .into_iter()
                            .fold(window[0], |a, b| if x[b] > x[a] { b } else { a });
                        if x[at] > 0.0 {
                            expected[at] = (out_index % 7) as f32 - 3.0;
                        }
                        out_index += 1;
                    }
                }
            }
            assert_eq!(values(grads.get(&input).unwrap()), expected);
            if h % 2 == 0 && w % 2 == 0 {
                let candle = weighted_sum(&reference).backward().unwrap();
                let quartered: Vec<f32> = expected.iter().map(|g| g / 4.0).collect();
                assert_eq!(values(candle.get(&input).unwrap()), quartered);
            }
        }
    }

    #[test]
    fn a_tied_window_sends_its_gradient_to_the_first_maximum() {
        let input = Var::from_tensor(
            &Tensor::new(&[[[[1.0f32, 3.0], [3.0, -1.0]]]], &Device::Cpu).unwrap(),
        )
        .unwrap();
        let out = relu_max_pool2(input.as_tensor()).unwrap();
        assert_eq!(values(&out), vec![3.0]);
        let grads = out.sum_all().unwrap().backward().unwrap();
        assert_eq!(values(grads.get(&input).unwrap()), vec![0.0, 1.0, 0.0, 0.0]);
    }
}
