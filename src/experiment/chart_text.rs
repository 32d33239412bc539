//! Text alternatives of the charts: a sentence that says what a chart shows now (for screen
//! readers and for anyone who cannot tell the colours apart), and the data behind it as table
//! rows.

/// `0.4123` → `0.41`, `2.4e-5` → `2.4e-5`: three significant digits at most, short.
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return "not finite".into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-3..1e4).contains(&a) {
        return format!("{x:.1e}");
    }
    let digits = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    };
    format!("{x:.digits$}")
}

/// `5000` → `5,000`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The meta-loss chart in one sentence: each run's latest validation loss (its latest
/// training loss before the first validation), e.g. "MAML's validation loss is 0.41 after
/// 5,000 iterations, Pre-training's 2.4."
pub fn loss_summary(
    names: &[&str],
    train: &[Vec<(usize, f64)>],
    validation: &[Vec<(usize, f64)>],
) -> String {
    let mut parts = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let last_val = validation.get(i).and_then(|v| v.last());
        let last_train = train.get(i).and_then(|v| v.last());
        let part = match (last_val, last_train) {
            (Some(&(it, v)), _) => format!(
                "{name}'s validation loss is {} after {} iterations",
                short(v),
                thousands(it)
            ),
            (None, Some(&(it, v))) => format!(
                "{name}'s training loss is {} after {} iterations",
                short(v),
                thousands(it)
            ),
            (None, None) => format!("{name} has not trained yet"),
        };
        parts.push(part);
    }
    if parts.is_empty() {
        return "No runs.".into();
    }
    format!("Meta-loss chart: {}.", parts.join("; "))
}

/// Rows `(iteration, one value per run)` of the validation losses, all runs aligned on the
/// iterations any of them logged (`None` where a run has no value there).
pub fn loss_rows(validation: &[Vec<(usize, f64)>]) -> Vec<(usize, Vec<Option<f64>>)> {
    let mut iters: Vec<usize> = validation.iter().flatten().map(|p| p.0).collect();
    iters.sort_unstable();
    iters.dedup();
    iters
        .into_iter()
        .map(|it| {
            let values = validation
                .iter()
                .map(|v| v.iter().find(|p| p.0 == it).map(|p| p.1))
                .collect();
            (it, values)
        })
        .collect()
}

/// Mean squared distance between a curve and the truth on the same grid.
pub fn curve_mse(curve: &[f64], truth: &[f64]) -> Option<f64> {
    if curve.is_empty() || curve.len() != truth.len() {
        return None;
    }
    let n = curve.len() as f64;
    Some(
        curve
            .iter()
            .zip(truth)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / n,
    )
}

/// The fit chart in one sentence: the points, and how far each run's N-step curve is from the
/// true one, e.g. "Fit chart: 10 support points; after 10 steps, MAML's curve is 0.12 (mean
/// squared) from the true curve, Pre-training's 2.1."
pub fn fit_summary(names: &[&str], points: usize, steps: usize, errors: &[Option<f64>]) -> String {
    let parts: Vec<String> = names
        .iter()
        .zip(errors)
        .map(|(name, e)| match e {
            Some(e) => format!("{name}'s curve is {} from the true curve", short(*e)),
            None => format!("{name} has no curve yet"),
        })
        .collect();
    format!(
        "Fit chart: {points} support points; after {steps} steps (model-based learners: after reading the points), mean squared distance: {}.",
        parts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short() {
        assert_eq!(short(0.41234), "0.412");
        assert_eq!(short(2.4), "2.40");
        assert_eq!(short(12.34), "12.3");
        assert_eq!(short(2.4e-5), "2.4e-5");
        assert_eq!(short(f64::NAN), "not finite");
        assert_eq!(thousands(5000), "5,000");
        assert_eq!(thousands(123), "123");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn the_loss_summary_names_each_run_with_its_latest_value() {
        let train = vec![vec![(1, 3.0), (5000, 0.5)], vec![(5000, 2.4)]];
        let val = vec![vec![(2500, 0.8), (5000, 0.41)], vec![]];
        let s = loss_summary(&["MAML", "Pre-training"], &train, &val);
        assert_eq!(
            s,
            "Meta-loss chart: MAML's validation loss is 0.410 after 5,000 iterations; Pre-training's training loss is 2.40 after 5,000 iterations."
        );
        assert!(loss_summary(&["MAML"], &[], &[]).contains("not trained yet"));
    }

    #[test]
    fn loss_rows_align_the_runs_on_their_iterations() {
        let rows = loss_rows(&[vec![(10, 1.0), (20, 0.5)], vec![(20, 2.0)]]);
        assert_eq!(
            rows,
            vec![
                (10, vec![Some(1.0), None]),
                (20, vec![Some(0.5), Some(2.0)])
            ]
        );
    }

    #[test]
    fn the_fit_summary_reports_each_curve_against_the_truth() {
        let e = curve_mse(&[1.0, 2.0], &[1.0, 0.0]);
        assert_eq!(e, Some(2.0));
        assert_eq!(curve_mse(&[], &[]), None);
        let s = fit_summary(&["MAML", "CNP"], 10, 5, &[e, None]);
        assert!(s.contains("10 support points; after 5 steps"), "{s}");
        assert!(s.contains("MAML's curve is 2.00"), "{s}");
        assert!(s.contains("CNP has no curve yet"), "{s}");
    }
}
