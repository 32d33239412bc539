//! The settings panels, generated from the settings schema ([`crate::experiment::schema`]):
//! one labelled control per setting, its widget, bounds and accepted-range text taken from the
//! setting's domain, and every typed value checked by the same code as links and the CLI
//! ([`crate::experiment::schema::edit`]).

use leptos::prelude::*;

use crate::engine::meta::Algo;
use crate::experiment::backend::Backend;
use crate::experiment::config::Config;
use crate::experiment::schema::edit::{edit_runs, widget, Widget};
use crate::experiment::schema::{sine, Scope, Setting, SINE};
use crate::experiment::state::Family;

/// A human name for an algorithm (the schema's label).
pub fn algo_label(a: Algo) -> &'static str {
    sine::ALGOS
        .iter()
        .find(|c| c.0 == a.name())
        .map_or("?", |c| c.1)
}

/// Each run's name with its line pattern ("MAML (solid)"), as the charts' text alternatives
/// and data tables name them.
pub fn run_names(runs: &[Config]) -> Vec<String> {
    runs.iter()
        .enumerate()
        .map(|(i, c)| {
            let pattern = crate::experiment::palette::RUN_PATTERN_NAMES
                [i % crate::experiment::palette::RUN_PATTERN_NAMES.len()];
            format!("{} ({pattern})", algo_label(c.algo))
        })
        .collect()
}

/// A human name for a backend choice (the schema's label).
pub fn backend_label(b: Backend) -> &'static str {
    sine::BACKENDS
        .iter()
        .find(|c| c.0 == b.name())
        .map_or("?", |c| c.1)
}

/// Switches a run to `algo` ([`Config::with_algo`]).
pub fn with_algo(old: &Config, algo: Algo) -> Config {
    old.with_algo(algo)
}

/// One labelled control for setting `s`: `value` reads its text, `visible` says whether it
/// applies, `extra` is one more option of a select (the task menu's "Bandit"), and `change`
/// gets the text the user chose.
pub fn setting_control<C: 'static>(
    s: &'static Setting<C>,
    hint: String,
    value: impl Fn() -> String + Send + Sync + Clone + 'static,
    visible: impl Fn() -> bool + Send + Sync + 'static,
    extra: Option<(&'static str, &'static str)>,
    change: impl Fn(String) + Send + Sync + Clone + 'static,
) -> impl IntoView {
    let id = format!("control-{}", s.control);
    let input = match widget(&s.domain) {
        Widget::Number { min, max, step } => {
            let (value, change) = (value.clone(), change.clone());
            view! {
                <input type="number" data-testid=id min=min max=max step=step
                    prop:value=value
                    on:change=move |ev| change(event_target_value(&ev)) />
            }
            .into_any()
        }
        Widget::Text => {
            let (value, change) = (value.clone(), change.clone());
            view! {
                <input type="text" data-testid=id inputmode="numeric" prop:value=value
                    on:change=move |ev| change(event_target_value(&ev)) />
            }
            .into_any()
        }
        Widget::Select(mut options) => {
            options.extend(extra);
            let options = options
                .into_iter()
                .map(|(name, label)| {
                    let value = value.clone();
                    view! { <option value=name prop:selected=move || value() == name>{label}</option> }
                })
                .collect_view();
            view! {
                <select data-testid=id title=s.help on:change=move |ev| change(event_target_value(&ev))>
                    {options}
                </select>
            }
            .into_any()
        }
    };
    view! {
        <label class="control" style:display=move || if visible() { "" } else { "none" }>
            <span>{s.label}<small>{hint}</small></span>
            {input}
        </label>
    }
}

/// The hint beside a control: the accepted range of numbers and widths, and whether every run
/// shares it.
pub fn hint<C>(s: &Setting<C>, runs_share: bool) -> String {
    let range = match widget(&s.domain) {
        Widget::Select(_) => String::new(),
        _ => s.accepted(),
    };
    match (runs_share && s.scope == Scope::Experiment, range.is_empty()) {
        (true, true) => "shared by all runs".into(),
        (true, false) => format!("{range} · shared by all runs"),
        (false, _) => range,
    }
}

/// The settings panel for run `selected` of `runs`; problems go to `problem`.
#[component]
pub fn Controls(
    /// Every run's configuration.
    runs: RwSignal<Vec<Config>>,
    /// The run the panel edits.
    selected: RwSignal<usize>,
    /// Where to report a rejected value.
    problem: RwSignal<Option<String>>,
    /// Sine or bandit: choosing "Bandit" in the task menu switches the page.
    family: RwSignal<Family>,
) -> impl IntoView {
    let current = move || {
        runs.with(|r| {
            r.get(selected.get())
                .or_else(|| r.first())
                .cloned()
                .unwrap_or_else(|| Config::new(crate::experiment::TaskKind::Sine, Algo::Maml))
        })
    };
    let controls = SINE
        .iter()
        .map(|s| {
            let change = move |text: String| {
                if s.link == "task" && text == "bandit" {
                    return family.set(Family::Bandit);
                }
                let edited =
                    runs.with_untracked(|r| edit_runs(s, r, selected.get_untracked(), &text));
                match edited {
                    Ok(next) => {
                        problem.set(None);
                        runs.set(next);
                    }
                    Err(msg) => {
                        problem.set(Some(msg));
                        runs.update(|_| {}); // redraw the control with the valid value
                    }
                }
            };
            let extra = (s.link == "task").then_some(("bandit", "Bandit"));
            setting_control(
                s,
                hint(s, true),
                move || s.text(&current()),
                move || (s.applies)(&current()),
                extra,
                change,
            )
        })
        .collect_view();
    view! {
        <fieldset class="controls">
            <legend>"Settings of the selected run"</legend>
            {controls}
        </fieldset>
    }
}
