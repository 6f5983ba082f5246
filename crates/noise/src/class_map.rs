//! Asymmetric (class-map) noise: chosen classes flip to one fixed destination each, the others
//! stay clean (docs/DEFINITIONS.md, `#asymmetric`).

use crate::error::NoiseError;
use crate::matrix::TransitionMatrix;

/// A validated map from clean classes to the one class each may be flipped to; classes not in
/// the map are never flipped (docs/DEFINITIONS.md, `#asymmetric`).
///
/// Invariants: every class is in `0..n_classes` (n_classes ≥ 2), no pair maps a class to itself,
/// each clean class has at most one destination. A destination may itself be mapped (5 ↔ 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassMap {
    n_classes: usize,
    /// `destination[c]` is where class c flips to, if anywhere.
    destination: Vec<Option<usize>>,
    /// The pairs in the order given.
    pairs: Vec<(usize, usize)>,
}

impl ClassMap {
    /// The number of classes both presets are defined for (MNIST and CIFAR-10 have 10).
    pub const PRESET_N_CLASSES: usize = 10;

    /// The MNIST map of Patrini et al. (2017): 2 → 7, 3 → 8, 5 ↔ 6, 7 → 1, as (clean, noisy).
    pub const MNIST_PAIRS: [(usize, usize); 5] = [(2, 7), (3, 8), (5, 6), (6, 5), (7, 1)];

    /// The CIFAR-10 map of Patrini et al. (2017), as (clean, noisy): truck → automobile (9 → 1),
    /// bird → airplane (2 → 0), cat ↔ dog (3 ↔ 5), deer → horse (4 → 7).
    pub const CIFAR10_PAIRS: [(usize, usize); 5] = [(9, 1), (2, 0), (3, 5), (5, 3), (4, 7)];

    /// Validates `pairs` of (clean, noisy) classes for data with `n_classes` classes.
    ///
    /// Errors, for the first offending pair in order: `n_classes < 2`
    /// ([`NoiseError::TooFewClasses`]); a class ≥ `n_classes`
    /// ([`NoiseError::ClassPairOutOfRange`]); a pair c → c ([`NoiseError::ClassPairToSelf`]);
    /// a second destination for a clean class ([`NoiseError::ClassPairConflict`]). Repeating
    /// an identical pair is accepted and has no effect.
    pub fn new(pairs: &[(usize, usize)], n_classes: usize) -> Result<ClassMap, NoiseError> {
        if n_classes < 2 {
            return Err(NoiseError::TooFewClasses { n_classes });
        }
        let mut destination = vec![None; n_classes];
        let mut kept = Vec::with_capacity(pairs.len());
        for &(clean, noisy) in pairs {
            if clean >= n_classes || noisy >= n_classes {
                return Err(NoiseError::ClassPairOutOfRange {
                    clean,
                    noisy,
                    n_classes,
                });
            }
            if clean == noisy {
                return Err(NoiseError::ClassPairToSelf { class: clean });
            }
            match destination[clean] {
                Some(first) if first == noisy => {}
                Some(first) => {
                    return Err(NoiseError::ClassPairConflict {
                        clean,
                        first,
                        second: noisy,
                    });
                }
                None => {
                    destination[clean] = Some(noisy);
                    kept.push((clean, noisy));
                }
            }
        }
        Ok(ClassMap {
            n_classes,
            destination,
            pairs: kept,
        })
    }

    /// The MNIST preset ([`ClassMap::MNIST_PAIRS`]) over 10 classes.
    pub fn mnist() -> ClassMap {
        ClassMap::new(&ClassMap::MNIST_PAIRS, ClassMap::PRESET_N_CLASSES)
            .expect("the MNIST preset is a valid class map")
    }

    /// The CIFAR-10 preset ([`ClassMap::CIFAR10_PAIRS`]) over 10 classes.
    pub fn cifar10() -> ClassMap {
        ClassMap::new(&ClassMap::CIFAR10_PAIRS, ClassMap::PRESET_N_CLASSES)
            .expect("the CIFAR-10 preset is a valid class map")
    }

    /// K, the number of classes the map was validated for.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Where class `clean` flips to, or `None` when it is not mapped (or out of range).
    pub fn destination(&self, clean: usize) -> Option<usize> {
        self.destination.get(clean).copied().flatten()
    }

    /// The distinct (clean, noisy) pairs, in the order given.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// The transition matrix at rate ρ in [0, 1]: a mapped class c → d has `T[c][c] = 1 − ρ`,
    /// `T[c][d] = ρ`; an unmapped class has the identity row. Its off-diagonal mass is ρ on
    /// mapped classes and 0 elsewhere.
    pub fn matrix(&self, rate: f64) -> Result<TransitionMatrix, NoiseError> {
        if !(0.0..=1.0).contains(&rate) {
            return Err(NoiseError::RateOutOfRange { rate });
        }
        TransitionMatrix::from_rows(self.rows(rate))
    }

    /// The rows of [`ClassMap::matrix`], unchecked (`rate` already in [0, 1]).
    pub(crate) fn rows(&self, rate: f64) -> Vec<Vec<f64>> {
        (0..self.n_classes)
            .map(|clean| {
                let mut row = vec![0.0; self.n_classes];
                match self.destination[clean] {
                    Some(noisy) => {
                        row[clean] = 1.0 - rate;
                        row[noisy] = rate;
                    }
                    None => row[clean] = 1.0,
                }
                row
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_map_the_published_pairs() {
        let mnist = ClassMap::mnist();
        let destinations: Vec<Option<usize>> = (0..10).map(|c| mnist.destination(c)).collect();
        assert_eq!(
            destinations,
            [
                None,
                None,
                Some(7),
                Some(8),
                None,
                Some(6),
                Some(5),
                Some(1),
                None,
                None
            ]
        );
        let cifar = ClassMap::cifar10();
        let destinations: Vec<Option<usize>> = (0..10).map(|c| cifar.destination(c)).collect();
        assert_eq!(
            destinations,
            [
                None,
                None,
                Some(0),
                Some(5),
                Some(7),
                Some(3),
                None,
                None,
                None,
                Some(1)
            ]
        );
        let matrix = cifar.matrix(0.3).unwrap();
        assert_eq!(matrix.row(9)[1], 0.3);
        assert_eq!(matrix.row(9)[9], 0.7);
        assert_eq!(matrix.off_diagonal_mass(0), 0.0);
    }

    #[test]
    fn invalid_pairs_are_named() {
        type Case = (&'static [(usize, usize)], NoiseError, &'static str);
        let cases: [Case; 3] = [
            (
                &[(0, 1), (2, 5)],
                NoiseError::ClassPairOutOfRange {
                    clean: 2,
                    noisy: 5,
                    n_classes: 4,
                },
                "class pair 2→5 names a class outside the 4 classes (0 to 3)",
            ),
            (
                &[(3, 3)],
                NoiseError::ClassPairToSelf { class: 3 },
                "class pair 3→3 maps a class to itself; a flip must change the class",
            ),
            (
                &[(1, 2), (1, 2), (1, 0)],
                NoiseError::ClassPairConflict {
                    clean: 1,
                    first: 2,
                    second: 0,
                },
                "class 1 has two destinations, 1→2 and 1→0; each class may be mapped at most once",
            ),
        ];
        for (pairs, error, message) in cases {
            let got = ClassMap::new(pairs, 4).unwrap_err();
            assert_eq!(got.to_string(), message);
            assert_eq!(got, error);
        }
        assert_eq!(
            ClassMap::new(&[(1, 2), (1, 2)], 4).unwrap().pairs(),
            &[(1, 2)]
        );
    }
}
