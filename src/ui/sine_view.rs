//! The sine view: the runs and the settings of the selected one beside the meta-loss and fit
//! charts.

use leptos::prelude::*;

use super::controls::Controls;
use super::explain::{ExplainPanel, LearnerExplanations};
use super::fit_chart::{FitChart, FitState};
use super::gradient_check::GradientCheckPanel;
use super::loss_chart::LossChart;
use super::run_list::RunList;
use crate::experiment::config::Config;
use crate::experiment::explanations;
use crate::experiment::state::Family;

/// The sine view.
#[component]
pub fn SineView(
    /// Every run's configuration.
    runs: RwSignal<Vec<Config>>,
    /// The run the settings panel edits.
    selected: RwSignal<usize>,
    /// The fit chart's held-out task, support points and steps.
    fit: FitState,
    /// Meta-loss chart on a log scale.
    log_scale: RwSignal<bool>,
    /// Where to report a rejected value.
    problem: RwSignal<Option<String>>,
    /// Sine or bandit (the task menu can switch to bandit).
    family: RwSignal<Family>,
    /// Bumped when the window resizes.
    resized: RwSignal<u32>,
    /// Show the explanations.
    text: bool,
    /// One line each (embed mode).
    compact: bool,
) -> impl IntoView {
    let algos = Signal::derive(move || runs.with(|r| r.iter().map(|c| c.algo).collect()));
    view! {
        <div class="layout">
            <aside>
                <RunList runs=runs selected=selected />
                <Controls runs=runs selected=selected problem=problem family=family />
                <GradientCheckPanel runs=runs selected=selected />
            </aside>
            <section class="charts">
                <LossChart runs=runs log_scale=log_scale resized=resized />
                {(text && !compact).then(|| view! { <ExplainPanel explanation=&explanations::LOSS_CHART closed=true /> })}
                <FitChart state=fit runs=runs problem=problem resized=resized />
                {(text && !compact).then(|| view! { <ExplainPanel explanation=&explanations::FIT_CHART closed=true /> })}
                {text.then(|| view! { <LearnerExplanations algos=algos compact=compact /> })}
            </section>
        </div>
    }
}
