//! Exports of what the page shows: every curve as a tidy CSV (one row per point) and as JSON
//! with the configuration, the link and the app version, so a file says where it came from.

use serde_json::{json, Value};

use crate::engine::bandit::PolicyReport;
use crate::experiment::state::{Experiment, Family};
use crate::experiment::url;

/// The curves of a run of the page.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Curves<'a> {
    /// Per run, `(iteration, meta-loss)` (bandits: the agent's expected reward per pull).
    pub train: &'a [Vec<(usize, f64)>],
    /// Per run, `(iteration, validation MSE after adaptation)` (sine only).
    pub validation: &'a [Vec<(usize, f64)>],
    /// The latest bandit evaluation, every policy.
    pub bandit: Option<&'a [PolicyReport]>,
}

fn labels(e: &Experiment) -> Vec<String> {
    match e.family {
        Family::Sine => e.runs.iter().map(|c| c.algo.name().to_string()).collect(),
        Family::Bandit => vec![format!("agent-{}", e.bandit.algo.name())],
    }
}

/// Tidy CSV: `series,run,label,x,y,stderr`, series `meta_loss` (or `meta_reward`),
/// `validation_mse`, `regret`; numbers in Rust's shortest round-trip form.
pub fn to_csv(e: &Experiment, c: &Curves<'_>) -> String {
    let mut out = String::from("series,run,label,x,y,stderr\n");
    let names = labels(e);
    let train_series = match e.family {
        Family::Sine => "meta_loss",
        Family::Bandit => "meta_reward",
    };
    for (series, data) in [(train_series, c.train), ("validation_mse", c.validation)] {
        for (run, points) in data.iter().enumerate() {
            let label = names.get(run).map(String::as_str).unwrap_or("");
            for (x, y) in points {
                out.push_str(&format!("{series},{run},{label},{x},{y},\n"));
            }
        }
    }
    if let Some(reports) = c.bandit {
        for (i, r) in reports.iter().enumerate() {
            for ((x, y), se) in r
                .curve_pulls
                .iter()
                .zip(&r.regret_mean)
                .zip(&r.regret_stderr)
            {
                out.push_str(&format!("regret,{i},{},{x},{y},{se}\n", r.policy));
            }
        }
    }
    out
}

/// JSON with the app version, the link, the configuration(s) and every curve.
pub fn to_json(e: &Experiment, c: &Curves<'_>) -> Value {
    let config = match e.family {
        Family::Sine => json!({ "family": "sine", "runs": e.runs }),
        Family::Bandit => json!({ "family": "bandit", "bandit": e.bandit }),
    };
    json!({
        "app": "metaplay",
        "version": env!("CARGO_PKG_VERSION"),
        "link_format": url::VERSION,
        "link": format!("?{}", url::encode(e)),
        "config": config,
        "labels": labels(e),
        "meta_training": c.train,
        "validation": c.validation,
        "bandit_evaluation": c.bandit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_carry_every_point_and_the_config() {
        let e = Experiment::default();
        let train = vec![vec![(10, 1.5), (20, 1.25)], vec![(10, 2.0)]];
        let validation = vec![vec![(100, 0.5)], vec![]];
        let c = Curves {
            train: &train,
            validation: &validation,
            bandit: None,
        };
        let csv = to_csv(&e, &c);
        assert_eq!(
            csv,
            "series,run,label,x,y,stderr\nmeta_loss,0,maml,10,1.5,\nmeta_loss,0,maml,20,1.25,\n\
             meta_loss,1,pretrain,10,2,\nvalidation_mse,0,maml,100,0.5,\n"
        );
        let j = to_json(&e, &c);
        assert_eq!(j["config"]["runs"][1]["algo"], "pretrain");
        assert_eq!(j["meta_training"][0][1][1], 1.25);
        assert!(j["link"].as_str().unwrap().starts_with("?v=1&task=sine"));
    }
}
