//! Tests of the defining properties that span several modules: every matrix source through both
//! injectors, nesting across rates, estimation, and the pinned labels of each model.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use sha2::{Digest, Sha256};

use crate::{
    ClassMap, InstanceNoiseParams, NoiseMode, NoiseModel, NoiseSpec, NoisyLabels, TransitionMatrix,
    inject, inject_instance, inject_matrix, inject_nested,
};

const MODES: [NoiseMode; 2] = [NoiseMode::Exact, NoiseMode::Bernoulli];

/// `per_class` samples of each of `n_classes` classes, interleaved.
fn balanced_labels(n_classes: usize, per_class: usize) -> Vec<usize> {
    (0..n_classes * per_class).map(|i| i % n_classes).collect()
}

/// Either injector, so every property is checked on both.
#[derive(Debug, Clone, Copy)]
enum Injector {
    Plain,
    Nested,
}

impl Injector {
    fn run(
        self,
        clean: &[usize],
        matrix: &TransitionMatrix,
        mode: NoiseMode,
        seed: u64,
    ) -> NoisyLabels {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        match self {
            Injector::Plain => inject_matrix(clean, matrix, mode, &mut rng),
            Injector::Nested => inject_nested(clean, matrix, mode, &mut rng),
        }
        .unwrap()
    }
}

const INJECTORS: [Injector; 2] = [Injector::Plain, Injector::Nested];

/// An uneven 4-class matrix: every kind of row (several destinations, one, none).
fn user_matrix() -> TransitionMatrix {
    TransitionMatrix::from_rows(vec![
        vec![0.6, 0.3, 0.1, 0.0],
        vec![0.05, 0.75, 0.05, 0.15],
        vec![0.0, 0.0, 1.0, 0.0],
        vec![0.0, 0.5, 0.0, 0.5],
    ])
    .unwrap()
}

/// Checks the realised counts of `noisy` against `matrix`: exact mode flips
/// `round((1 − T[c][c])·n_c)` samples of class c and gives each destination the floor or the
/// ceiling of its share; Bernoulli mode stays within five binomial standard deviations of
/// `n_c·T[c][j]` in every cell.
fn assert_realises(
    matrix: &TransitionMatrix,
    clean: &[usize],
    noisy: &NoisyLabels,
    mode: NoiseMode,
) {
    let k = matrix.n_classes();
    for class in 0..k {
        let n_c = clean.iter().filter(|&&c| c == class).count();
        let row = &noisy.transitions[class];
        assert_eq!(row.iter().sum::<usize>(), n_c);
        let t = matrix.row(class);
        match mode {
            NoiseMode::Exact => {
                let mass = 1.0 - t[class];
                let n_flip = (mass * n_c as f64).round() as usize;
                assert_eq!(n_c - row[class], n_flip, "class {class}: {row:?}");
                for j in (0..k).filter(|&j| j != class) {
                    let share = n_flip as f64 * t[j] / mass.max(f64::MIN_POSITIVE);
                    assert!(
                        (row[j] as f64 - share).abs() < 1.0 + 1e-9,
                        "class {class} → {j}: {} vs {share}",
                        row[j]
                    );
                }
            }
            NoiseMode::Bernoulli => {
                for (j, &count) in row.iter().enumerate() {
                    let expected = n_c as f64 * t[j];
                    let sd = (n_c as f64 * t[j] * (1.0 - t[j])).sqrt();
                    assert!(
                        (count as f64 - expected).abs() <= 5.0 * sd + 1e-9,
                        "class {class} → {j}: {count} vs {expected} ± {sd}"
                    );
                }
            }
        }
    }
}

#[test]
fn presets_send_only_to_their_destinations() {
    let clean = balanced_labels(10, 500);
    for map in [ClassMap::mnist(), ClassMap::cifar10()] {
        let matrix = map.matrix(0.4).unwrap();
        for injector in INJECTORS {
            for mode in MODES {
                let noisy = injector.run(&clean, &matrix, mode, 21);
                for (&c, &n) in clean.iter().zip(&noisy.labels) {
                    assert!(
                        n == c || Some(n) == map.destination(c),
                        "{injector:?} {mode:?}: {c} became {n}"
                    );
                }
                for class in 0..10 {
                    let kept = noisy.transitions[class][class];
                    match (map.destination(class), mode) {
                        (None, _) => assert_eq!(kept, 500, "class {class}"),
                        (Some(_), NoiseMode::Exact) => assert_eq!(kept, 300, "class {class}"),
                        // Binomial(500, 0.4): sd ≈ 11.
                        (Some(_), NoiseMode::Bernoulli) => {
                            assert!((kept as i64 - 300).abs() < 55, "class {class}: {kept}")
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn user_and_scaled_matrices_are_realised_in_both_modes() {
    // Unequal class sizes: 900, 1100, 1300, 1500.
    let clean: Vec<usize> = (0..4)
        .flat_map(|c| std::iter::repeat_n(c, 900 + 200 * c))
        .collect();
    let full = user_matrix();
    for matrix in [
        full.clone(),
        full.scaled(0.5).unwrap(),
        full.scaled(0.13).unwrap(),
    ] {
        for injector in INJECTORS {
            for mode in MODES {
                for seed in 0..3 {
                    let noisy = injector.run(&clean, &matrix, mode, seed);
                    assert_realises(&matrix, &clean, &noisy, mode);
                }
            }
        }
    }
}

#[test]
fn builtin_models_are_realised_by_the_nested_injector() {
    let clean = balanced_labels(10, 400);
    for model in NoiseModel::ALL {
        for rate in [0.1, 0.35] {
            let matrix = model.matrix(rate, 10).unwrap();
            for mode in MODES {
                let noisy = Injector::Nested.run(&clean, &matrix, mode, 8);
                assert_realises(&matrix, &clean, &noisy, mode);
            }
        }
    }
}

#[test]
fn estimate_of_injected_labels_returns_the_realised_counts() {
    // Squares mod 7 are 0, 1, 2 and 4: class 3 has no samples, so its row is the identity.
    let clean: Vec<usize> = (0..3000).map(|i| (i * i) % 7 % 5).collect();
    let noisy = inject(
        &clean,
        5,
        &NoiseSpec {
            model: NoiseModel::Symmetric,
            rate: 0.3,
            mode: NoiseMode::Bernoulli,
        },
        &mut ChaCha8Rng::seed_from_u64(4),
    )
    .unwrap();
    let estimated = TransitionMatrix::estimate(&clean, &noisy.labels, 5).unwrap();
    assert_eq!(estimated, noisy.realised_matrix().unwrap());
    for class in 0..5 {
        let n_c: usize = noisy.transitions[class].iter().sum();
        if n_c == 0 {
            assert_eq!(class, 3);
            assert_eq!(estimated.row(3), &[0.0, 0.0, 0.0, 1.0, 0.0]);
            continue;
        }
        for j in 0..5 {
            assert_eq!(
                estimated.row(class)[j],
                noisy.transitions[class][j] as f64 / n_c as f64
            );
        }
    }
    let counts: Vec<usize> = (0..5)
        .map(|c| clean.iter().filter(|&&l| l == c).count())
        .collect();
    assert!((estimated.flip_rate_for(&counts).unwrap() - noisy.realised_rate()).abs() < 1e-12);
}

#[test]
fn nested_draws_flip_subsets_across_rates_in_both_modes() {
    let clean = balanced_labels(10, 300);
    let user = TransitionMatrix::from_rows(
        (0..10)
            .map(|i| {
                (0..10)
                    .map(|j| match (j + 10 - i) % 10 {
                        0 => 0.0,
                        1 => 0.5,
                        2 => 0.3,
                        3 => 0.2,
                        _ => 0.0,
                    })
                    .collect()
            })
            .collect(),
    )
    .unwrap();
    type MatrixAt = Box<dyn Fn(f64) -> TransitionMatrix>;
    let sources: Vec<(&str, MatrixAt)> = vec![
        (
            "symmetric",
            Box::new(|r| NoiseModel::Symmetric.matrix(r, 10).unwrap()),
        ),
        (
            "uniform",
            Box::new(|r| NoiseModel::Uniform.matrix(r, 10).unwrap()),
        ),
        (
            "pair-flip",
            Box::new(|r| NoiseModel::PairFlip.matrix(r, 10).unwrap()),
        ),
        (
            "asymmetric-cifar10",
            Box::new(|r| NoiseModel::AsymmetricCifar10.matrix(r, 10).unwrap()),
        ),
        ("user matrix", Box::new(move |r| user.scaled(r).unwrap())),
    ];
    for (name, matrix_at) in &sources {
        for mode in MODES {
            for seed in 0..3 {
                let draws: Vec<NoisyLabels> = [0.1, 0.2, 0.4]
                    .iter()
                    .map(|&rate| Injector::Nested.run(&clean, &matrix_at(rate), mode, seed))
                    .collect();
                for pair in draws.windows(2) {
                    let (lower, higher) = (&pair[0], &pair[1]);
                    assert!(lower.n_flipped() <= higher.n_flipped());
                    for i in 0..clean.len() {
                        if lower.flipped[i] {
                            assert!(higher.flipped[i], "{name} {mode:?} seed {seed}: sample {i}");
                            assert_eq!(lower.labels[i], higher.labels[i], "{name} {mode:?}");
                        }
                    }
                }
            }
        }
    }
}

/// The first 16 hex digits of the SHA-256 of the labels, each as a little-endian u32.
fn label_hash(labels: &[usize]) -> String {
    let bytes: Vec<u8> = labels
        .iter()
        .flat_map(|&l| (l as u32).to_le_bytes())
        .collect();
    Sha256::digest(&bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<String>()[..16]
        .to_string()
}

#[test]
fn pinned_labels_per_model_and_seed() {
    // One generator seed, the same labels on every machine: a change to any of these hashes
    // changes the noisy labels of every experiment using that model (and the golden CI files).
    let clean = balanced_labels(10, 200);
    let mut got = Vec::new();
    for model in NoiseModel::ALL {
        for mode in MODES {
            let spec = NoiseSpec {
                model,
                rate: 0.3,
                mode,
            };
            let noisy = inject(&clean, 10, &spec, &mut ChaCha8Rng::seed_from_u64(2024)).unwrap();
            got.push((
                format!("{model} {}", mode.name()),
                label_hash(&noisy.labels),
            ));
            let matrix = model.matrix(0.3, 10).unwrap();
            let nested = Injector::Nested.run(&clean, &matrix, mode, 2024);
            got.push((
                format!("{model} {} nested", mode.name()),
                label_hash(&nested.labels),
            ));
        }
    }
    let user_clean: Vec<usize> = clean.iter().map(|&c| c % 4).collect();
    for mode in MODES {
        let noisy = Injector::Plain.run(&user_clean, &user_matrix(), mode, 2024);
        got.push((
            format!("user matrix {}", mode.name()),
            label_hash(&noisy.labels),
        ));
    }
    let mut feature_rng = ChaCha8Rng::seed_from_u64(1);
    let features: Vec<f32> = (0..clean.len() * 6)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut feature_rng);
            z as f32
        })
        .collect();
    let noisy = inject_instance(
        &clean,
        10,
        &features,
        6,
        &InstanceNoiseParams::new(0.3),
        &mut ChaCha8Rng::seed_from_u64(2024),
    )
    .unwrap();
    got.push(("instance".to_string(), label_hash(&noisy.labels)));

    let expected: &[(&str, &str)] = &[
        ("none exact", "153831c314677a1f"),
        ("none exact nested", "153831c314677a1f"),
        ("none bernoulli", "153831c314677a1f"),
        ("none bernoulli nested", "153831c314677a1f"),
        ("symmetric exact", "fd5701e7d2b15520"),
        ("symmetric exact nested", "a4eed99575dca29b"),
        ("symmetric bernoulli", "1dc33a5ac4df6c5d"),
        ("symmetric bernoulli nested", "205e46da2405053a"),
        ("uniform exact", "2ca40e3d969bed2b"),
        ("uniform exact nested", "b7ddbdfefde882eb"),
        ("uniform bernoulli", "ec4bc1c6ca42f2b1"),
        ("uniform bernoulli nested", "d74a2f91cd510551"),
        ("pair-flip exact", "9f61bb679a99cf8e"),
        ("pair-flip exact nested", "9f61bb679a99cf8e"),
        ("pair-flip bernoulli", "984af2696d02f924"),
        ("pair-flip bernoulli nested", "f7c1b293ab38dd59"),
        ("asymmetric-mnist exact", "777572dbe8251503"),
        ("asymmetric-mnist exact nested", "d78bb54e7aa5c973"),
        ("asymmetric-mnist bernoulli", "6de9549fd9a275d0"),
        ("asymmetric-mnist bernoulli nested", "4aec84a58a09d242"),
        ("asymmetric-cifar10 exact", "8a66e669bd7680e6"),
        ("asymmetric-cifar10 exact nested", "71b4c61f51bf35a4"),
        ("asymmetric-cifar10 bernoulli", "bca04b7cec1ce173"),
        ("asymmetric-cifar10 bernoulli nested", "b3afd2c3c16fb3f9"),
        ("user matrix exact", "fa43490640c06561"),
        ("user matrix bernoulli", "7e76a5620e4d3b8d"),
        ("instance", "358ffa01b7ca4726"),
    ];
    let got_ref: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(got_ref, expected, "\n{got_ref:#?}");
}
