//! The penultimate-layer projection of Müller et al. 2019 ("When does label smoothing help?",
//! §2; docs/DEFINITIONS.md#penultimate-layer-projection): activations of samples from three classes, projected onto the plane through those classes'
//! templates (their rows of the last layer's weight).

/// One test sample's position in the template plane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectedPoint {
    /// The sample's row in the test split.
    pub test_index: usize,
    /// Its clean class.
    pub class: usize,
    /// Coordinate along the first axis of the plane.
    pub x: f64,
    /// Coordinate along the second axis.
    pub y: f64,
}

/// Test samples projected per class, at most: enough to show each class's cluster, few enough to
/// keep the table and the scatter plot small.
pub const PROJECTION_MAX_PER_CLASS: usize = 200;

/// Coordinates of each row of `activations` (`n × width`, row-major) in the plane through the
/// three `templates` (each `width` long). The origin is the templates' centroid; the first axis
/// points from template 0 to template 1, the second is the Gram–Schmidt orthonormal complement of
/// template 2 − template 0. Degenerate templates (coincident or collinear) give a zero axis, hence
/// coordinate 0, rather than NaN. Computed in `f64`.
pub fn template_plane_coordinates(
    activations: &[f32],
    width: usize,
    templates: [&[f32]; 3],
) -> Vec<[f64; 2]> {
    let widen = |v: &[f32]| -> Vec<f64> { v.iter().map(|&x| f64::from(x)).collect() };
    let [t0, t1, t2] = templates.map(widen);
    let dot = |a: &[f64], b: &[f64]| -> f64 { a.iter().zip(b).map(|(x, y)| x * y).sum() };
    let normalised = |v: Vec<f64>| -> Vec<f64> {
        let norm = dot(&v, &v).sqrt();
        if norm > 1e-12 {
            v.iter().map(|x| x / norm).collect()
        } else {
            vec![0.0; v.len()]
        }
    };
    let origin: Vec<f64> = (0..width).map(|i| (t0[i] + t1[i] + t2[i]) / 3.0).collect();
    let axis_1 = normalised((0..width).map(|i| t1[i] - t0[i]).collect());
    let v: Vec<f64> = (0..width).map(|i| t2[i] - t0[i]).collect();
    let along = dot(&v, &axis_1);
    let axis_2 = normalised((0..width).map(|i| v[i] - along * axis_1[i]).collect());
    activations
        .chunks_exact(width)
        .map(|row| {
            let centred: Vec<f64> = (0..width).map(|i| f64::from(row[i]) - origin[i]).collect();
            [dot(&centred, &axis_1), dot(&centred, &axis_2)]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_onto_a_hand_built_plane() {
        // Templates (0,0,0), (2,0,0), (0,2,1): centroid (2/3, 2/3, 1/3); axis 1 = (1,0,0);
        // t2 − t0 = (0,2,1) is already orthogonal to it, so axis 2 = (0,2,1)/√5.
        // Row (1,1,5): centred (1/3, 1/3, 14/3) → x = 1/3, y = (2/3 + 14/3)/√5 = 16/(3√5).
        let coordinates = template_plane_coordinates(
            &[1.0, 1.0, 5.0, 2.0, 0.0, 0.0],
            3,
            [&[0.0, 0.0, 0.0], &[2.0, 0.0, 0.0], &[0.0, 2.0, 1.0]],
        );
        assert_eq!(coordinates.len(), 2);
        assert!((coordinates[0][0] - 1.0 / 3.0).abs() < 1e-12);
        assert!((coordinates[0][1] - 16.0 / (3.0 * 5f64.sqrt())).abs() < 1e-12);
        // Template 1 itself, centred (4/3, −2/3, −1/3), sits at (4/3, −(4/3 + 1/3)/√5).
        assert!((coordinates[1][0] - 4.0 / 3.0).abs() < 1e-12);
        assert!((coordinates[1][1] + 5.0 / (3.0 * 5f64.sqrt())).abs() < 1e-12);
    }

    #[test]
    fn collinear_templates_give_zero_rather_than_nan() {
        let coordinates =
            template_plane_coordinates(&[1.0, 1.0], 2, [&[0.0, 0.0], &[1.0, 0.0], &[2.0, 0.0]]);
        assert_eq!(coordinates[0][1], 0.0);
        assert!((coordinates[0][0]).abs() < 1e-12);
    }
}
