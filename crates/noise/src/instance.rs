//! Instance-dependent noise (Xia et al., 2020): how likely a sample is to flip, and to which class,
//! depends on its features (docs/DEFINITIONS.md, `#instance`).

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use crate::error::NoiseError;
use crate::inject::NoisyLabels;
use crate::matrix::check_labels;
use crate::nested::draw_from_shares;

/// The parameters of instance-dependent noise ([`inject_instance`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InstanceNoiseParams {
    /// ρ, in [0, 1]: the mean of the normal distribution the per-sample flip rates are drawn
    /// from before truncation to [0, 1]; about the expected realised flip rate when ρ is at
    /// least 2σ away from 0 and 1.
    pub rate: f64,
    /// σ, finite and ≥ 0: the standard deviation of that normal distribution. The public code
    /// uses 0.1 ([`InstanceNoiseParams::PUBLIC_FLIP_RATE_STD`]); 0 gives every sample the flip
    /// rate ρ.
    pub flip_rate_std: f64,
}

impl InstanceNoiseParams {
    /// σ = 0.1, the value of Xia et al.'s public code.
    pub const PUBLIC_FLIP_RATE_STD: f64 = 0.1;

    /// Rate ρ with the public σ = 0.1.
    pub fn new(rate: f64) -> InstanceNoiseParams {
        InstanceNoiseParams {
            rate,
            flip_rate_std: InstanceNoiseParams::PUBLIC_FLIP_RATE_STD,
        }
    }
}

impl Default for InstanceNoiseParams {
    /// ρ = 0 with σ = 0.1. Note that ρ = 0 still flips about 8% of the labels (σ·√(2/π), the mean
    /// of a normal truncated at its centre), as the public code does.
    fn default() -> InstanceNoiseParams {
        InstanceNoiseParams::new(0.0)
    }
}

/// Corrupts `clean` (n labels in `0..n_classes`) with instance-dependent noise driven by
/// `features` (n × `n_features`, row-major, finite), drawing all randomness from `rng`, in this
/// order (docs/DEFINITIONS.md, `#instance`):
///
/// 1. A flip rate q_i per sample, from N(ρ, σ²) truncated to [0, 1], by rejection: standard
///    normal draws z until ρ + σ·z lies in [0, 1] (σ = 0 draws nothing and gives q_i = ρ).
/// 2. A projection W of K × `n_features` × K standard normal entries, drawn in row-major order
///    (`W[y]` is the `n_features` × K matrix of clean class y).
/// 3. Per sample, in order, one uniform u in [0, 1): the sample flips when u < q_i. Its scores
///    are `a = x_i·W[y_i]` (in f64), the clean class's score is set to −∞, and the destination is
///    where u / q_i falls in the cumulative softmax(a) over the other K − 1 classes.
///
/// So ỹ_i = y_i with probability 1 − q_i and ỹ_i = j ≠ y_i with probability q_i·softmax(a)_j,
/// the law of the public code; a flip never lands on the clean class, so the realised rate is
/// the mean of the q_i. Errors: [`NoiseError::RateOutOfRange`], [`NoiseError::FlipRateStd`],
/// [`NoiseError::TooFewClasses`], [`NoiseError::LabelOutOfRange`], [`NoiseError::FeatureShape`]
/// (also for `n_features = 0`), [`NoiseError::FeatureNotFinite`].
pub fn inject_instance<R: Rng + ?Sized>(
    clean: &[usize],
    n_classes: usize,
    features: &[f32],
    n_features: usize,
    params: &InstanceNoiseParams,
    rng: &mut R,
) -> Result<NoisyLabels, NoiseError> {
    let InstanceNoiseParams {
        rate,
        flip_rate_std: std,
    } = *params;
    if !(0.0..=1.0).contains(&rate) {
        return Err(NoiseError::RateOutOfRange { rate });
    }
    if !std.is_finite() || std < 0.0 {
        return Err(NoiseError::FlipRateStd { std });
    }
    if n_classes < 2 {
        return Err(NoiseError::TooFewClasses { n_classes });
    }
    check_labels(clean, n_classes)?;
    let n_samples = clean.len();
    if n_features == 0 || features.len() != n_samples * n_features {
        return Err(NoiseError::FeatureShape {
            len: features.len(),
            n_samples,
            n_features,
        });
    }
    if let Some((index, &value)) = features.iter().enumerate().find(|(_, x)| !x.is_finite()) {
        return Err(NoiseError::FeatureNotFinite {
            sample: index / n_features,
            feature: index % n_features,
            value,
        });
    }

    let flip_rates: Vec<f64> = (0..n_samples)
        .map(|_| truncated_normal(rate, std, rng))
        .collect();
    let k = n_classes;
    let projection: Vec<f64> = (0..k * n_features * k)
        .map(|_| StandardNormal.sample(rng))
        .collect();

    let mut labels = clean.to_vec();
    let mut scores = vec![0.0f64; k];
    for (sample, (label, &class)) in labels.iter_mut().zip(clean).enumerate() {
        let u: f64 = rng.random();
        let q = flip_rates[sample];
        if u >= q {
            continue;
        }
        let x = &features[sample * n_features..(sample + 1) * n_features];
        let w = &projection[class * n_features * k..(class + 1) * n_features * k];
        scores.fill(0.0);
        for (f, &value) in x.iter().enumerate() {
            let value = f64::from(value);
            for (score, &weight) in scores.iter_mut().zip(&w[f * k..(f + 1) * k]) {
                *score += value * weight;
            }
        }
        *label = draw_from_shares(&softmax_without(&scores, class), u / q);
    }
    Ok(NoisyLabels::measure(clean, labels, n_classes))
}

/// A draw from N(mean, std²) truncated to [0, 1], by rejection (at least half of the draws are
/// accepted, since `mean` is in [0, 1]).
fn truncated_normal<R: Rng + ?Sized>(mean: f64, std: f64, rng: &mut R) -> f64 {
    if std == 0.0 {
        return mean;
    }
    loop {
        let z: f64 = StandardNormal.sample(rng);
        let q = mean + std * z;
        if (0.0..=1.0).contains(&q) {
            return q;
        }
    }
}

/// softmax(scores) with `excluded`'s score set to −∞ (its share 0); the maximum is subtracted
/// first so no exponential overflows.
fn softmax_without(scores: &[f64], excluded: usize) -> Vec<f64> {
    let max = scores
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != excluded)
        .map(|(_, &a)| a)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut shares: Vec<f64> = scores
        .iter()
        .enumerate()
        .map(|(j, &a)| if j == excluded { 0.0 } else { (a - max).exp() })
        .collect();
    let total: f64 = shares.iter().sum();
    for share in &mut shares {
        *share /= total;
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn gaussian_data(n: usize, k: usize, d: usize, seed: u64) -> (Vec<usize>, Vec<f32>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let labels = (0..n).map(|i| i % k).collect();
        let features = (0..n * d)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                z as f32
            })
            .collect();
        (labels, features)
    }

    #[test]
    fn mean_flip_rate_is_close_to_rate_and_flips_never_stay() {
        let (clean, features) = gaussian_data(5000, 10, 20, 3);
        for rate in [0.2, 0.4] {
            let noisy = inject_instance(
                &clean,
                10,
                &features,
                20,
                &InstanceNoiseParams::new(rate),
                &mut ChaCha8Rng::seed_from_u64(9),
            )
            .unwrap();
            // Truncation shifts the mean of q by under 0.006 at ρ = 0.2; the binomial spread of
            // 5000 draws is about 0.007.
            assert!(
                (noisy.realised_rate() - rate).abs() < 0.02,
                "rate {rate}: realised {}",
                noisy.realised_rate()
            );
            for (&c, (&n, &f)) in clean.iter().zip(noisy.labels.iter().zip(&noisy.flipped)) {
                assert_eq!(f, c != n);
                assert!(n < 10);
            }
        }
    }

    #[test]
    fn destinations_depend_on_the_features() {
        // Class-conditional noise would spread a class's flips evenly in expectation; here the
        // projection favours some destinations, so one class's flips are far from uniform.
        let (clean, features) = gaussian_data(5000, 5, 8, 4);
        let noisy = inject_instance(
            &clean,
            5,
            &features,
            8,
            &InstanceNoiseParams::new(0.4),
            &mut ChaCha8Rng::seed_from_u64(2),
        )
        .unwrap();
        let row = &noisy.transitions[0];
        let flips: usize = row[1..].iter().sum();
        let (least, most) = (
            row[1..].iter().min().unwrap(),
            row[1..].iter().max().unwrap(),
        );
        assert!(flips > 300, "{row:?}");
        assert!(most - least > flips / 10, "{row:?}");
    }

    #[test]
    fn zero_spread_and_zero_rate_change_nothing() {
        let (clean, features) = gaussian_data(200, 3, 4, 5);
        let params = InstanceNoiseParams {
            rate: 0.0,
            flip_rate_std: 0.0,
        };
        let noisy = inject_instance(
            &clean,
            3,
            &features,
            4,
            &params,
            &mut ChaCha8Rng::seed_from_u64(0),
        )
        .unwrap();
        assert_eq!(noisy.labels, clean);
    }

    #[test]
    fn invalid_input_is_an_error() {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let params = InstanceNoiseParams::new(0.3);
        assert_eq!(
            inject_instance(&[0, 1], 2, &[0.0; 5], 2, &params, &mut rng),
            Err(NoiseError::FeatureShape {
                len: 5,
                n_samples: 2,
                n_features: 2
            })
        );
        let nan = inject_instance(&[0, 1], 2, &[0.0, 1.0, f32::NAN, 0.0], 2, &params, &mut rng);
        assert!(matches!(
            nan,
            Err(NoiseError::FeatureNotFinite {
                sample: 1,
                feature: 0,
                ..
            })
        ));
        let bad_std = InstanceNoiseParams {
            rate: 0.3,
            flip_rate_std: -1.0,
        };
        assert_eq!(
            inject_instance(&[0, 1], 2, &[0.0; 2], 1, &bad_std, &mut rng),
            Err(NoiseError::FlipRateStd { std: -1.0 })
        );
        assert_eq!(
            inject_instance(&[0, 3], 2, &[0.0; 2], 1, &params, &mut rng),
            Err(NoiseError::LabelOutOfRange {
                index: 1,
                label: 3,
                n_classes: 2
            })
        );
    }
}
