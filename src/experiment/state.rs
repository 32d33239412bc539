//! The whole state a link reproduces: the task family, every run's configuration (or the
//! bandit experiment), and what the page shows (view state, embed options).

use crate::engine::meta::Algo;
use crate::experiment::{BanditConfig, Config, TaskKind};

/// Which task family the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Few-shot sine regression, up to four runs side by side.
    Sine,
    /// Bernoulli bandits: the meta-learned agent against the classical policies.
    Bandit,
}

/// What the page shows besides the experiment itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ViewState {
    /// Adaptation steps of the fit chart's "after N steps" curve (1..=100).
    pub fit_steps: usize,
    /// Meta-loss chart on a log scale.
    pub log_scale: bool,
    /// Index of the held-out task on the fit chart.
    pub task_index: u64,
    /// Support points placed by the user (`None`: the held-out task's own K points).
    pub points: Option<Vec<(f64, f64)>>,
    /// Compact layout for an `<iframe>`.
    pub embed: bool,
    /// Start training on load.
    pub autoplay: bool,
    /// Controls to hide (their `control-<name>` names).
    pub hide: Vec<String>,
    /// The app version that wrote the link (`app=`), when the link says.
    pub made_with: Option<String>,
    /// The guided lesson whose steps the page shows (`lesson=`, an id of
    /// [`crate::experiment::lessons::LESSONS`]).
    pub lesson: Option<String>,
    /// The explanations beside the widgets and the lesson's text (`text=0` hides them).
    pub text: bool,
    /// Embed mode with the settings panel (`controls=1`; its controls but those of `hide`).
    pub controls: bool,
    /// Training workers (`workers=`, 1..=4); `None`: one per run as the machine's cores allow
    /// ([`crate::experiment::worker_pool::workers_for`]).
    pub workers: Option<usize>,
    /// `simd=strict`: train in the worker without relaxed SIMD even where the browser has it,
    /// so that the curves are the same bit for bit in every browser (the relaxed worker's fused
    /// multiply-adds round differently). Default: the relaxed worker where it validates.
    pub strict_simd: bool,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            fit_steps: 10,
            log_scale: true,
            task_index: 0,
            points: None,
            embed: false,
            autoplay: false,
            hide: Vec::new(),
            made_with: None,
            lesson: None,
            text: true,
            controls: false,
            workers: None,
            strict_simd: false,
        }
    }
}

impl ViewState {
    /// The notice of a page opened from a link that says which version made it (`app=`),
    /// against `this` version of the app; `None` when the link does not say (a query typed by
    /// hand, e.g. `?task=bandit`, is not a reproduction of anything).
    pub fn link_note(&self, this: &str) -> Option<String> {
        let made = match self.made_with.as_deref()? {
            v if v == this => format!("made with this version, Metaplay {v}"),
            v => format!("made with Metaplay {v}; this is Metaplay {this}, so results may differ"),
        };
        Some(format!(
            "Reproduced from a link ({made}; link format v{})",
            crate::experiment::url::VERSION
        ))
    }
}

/// An experiment as a link carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct Experiment {
    /// Sine or bandit.
    pub family: Family,
    /// The sine runs (1..=4), used when `family` is sine.
    pub runs: Vec<Config>,
    /// The bandit experiment, used when `family` is bandit.
    pub bandit: BanditConfig,
    /// View state.
    pub view: ViewState,
}

impl Default for Experiment {
    /// The MAML paper's comparison (MAML against pre-training, 10,000 iterations), and the
    /// dependent-arm bandit with MAML for the bandit view.
    fn default() -> Self {
        Self {
            family: Family::Sine,
            runs: vec![
                Config::new(TaskKind::Sine, Algo::Maml),
                Config::new(TaskKind::Sine, Algo::Pretrain),
            ],
            bandit: BanditConfig::default(),
            view: ViewState::default(),
        }
    }
}
