//! The list of runs beside the charts: select one to edit it, remove one, add one.

use leptos::prelude::*;

use super::charts::css_color;
use super::controls::{algo_label, with_algo};
use super::training::Training;
use crate::engine::meta::Algo;
use crate::experiment::config::Config;
use crate::experiment::protocol::MAX_RUNS;

/// The order in which "+ Add run" offers algorithms not yet in the experiment.
const NEXT_ALGOS: [Algo; 9] = [
    Algo::Maml,
    Algo::Pretrain,
    Algo::Cnp,
    Algo::Fomaml,
    Algo::Reptile,
    Algo::MetaSgd,
    Algo::MetaSgdMomentum,
    Algo::Hypernet,
    Algo::Scratch,
];

/// The algorithm a new run gets: the first of [`NEXT_ALGOS`] no run uses yet (MAML when all
/// are taken).
pub fn next_algo(used: &[Algo]) -> Algo {
    NEXT_ALGOS
        .into_iter()
        .find(|a| !used.contains(a))
        .unwrap_or(Algo::Maml)
}

/// One row per run (keyed by position and algorithm: editing other settings keeps the rows),
/// each with its colour, iterations and latest validation MSE, and "+ Add run" below.
#[component]
pub fn RunList(
    /// Every run's configuration.
    runs: RwSignal<Vec<Config>>,
    /// The run the settings panel edits.
    selected: RwSignal<usize>,
) -> impl IntoView {
    let add_run = move |_| {
        let next = next_algo(&runs.with(|r| r.iter().map(|c| c.algo).collect::<Vec<_>>()));
        let base = runs.with(|r| r[selected.get_untracked().min(r.len() - 1)].clone());
        runs.update(|r| r.push(with_algo(&base, next)));
        selected.set(runs.with(Vec::len) - 1);
    };
    view! {
        <ul class="runs" aria-label="Runs">
            <For
                each=move || runs.with(|r| r.iter().map(|c| c.algo).enumerate().collect::<Vec<_>>())
                key=|&(i, algo)| (i, algo.name())
                children=move |(i, algo)| view! { <RunRow index=i algo=algo runs=runs selected=selected /> }
            />
        </ul>
        <button data-testid="add-run" disabled=move || { runs.with(Vec::len) >= MAX_RUNS } on:click=add_run>"+ Add run"</button>
    }
}

/// Run `index`'s row: select button (colour, algorithm, iterations, validation MSE) and, when
/// there are several runs, a remove button.
#[component]
fn RunRow(
    /// Position in the runs.
    index: usize,
    /// The run's algorithm.
    algo: Algo,
    /// Every run's configuration.
    runs: RwSignal<Vec<Config>>,
    /// The run the settings panel edits.
    selected: RwSignal<usize>,
) -> impl IntoView {
    let Training {
        iters, validation, ..
    } = expect_context();
    let i = index;
    view! {
        <li class="run" class:selected=move || selected.get() == i data-testid=format!("run-{i}")>
            <button class="run-select" on:click=move |_| selected.set(i) aria-pressed=move || (selected.get() == i).to_string()>
                <svg class="line-swatch" width="28" height="10" viewBox="0 0 28 10" aria-hidden="true">
                    <line x1="1" y1="5" x2="27" y2="5" stroke=css_color(i) stroke-width="3"
                        stroke-dasharray=crate::experiment::palette::dasharray(i) />
                </svg>
                {algo_label(algo)}
                <small>{move || format!(" · {} it", iters.with(|it| it.get(i).copied().unwrap_or(0)))}</small>
                <small data-testid=format!("validation-{i}") title="validation MSE after adaptation">
                    {move || validation.with(|v| v.get(i).and_then(|v| v.last()).map(|p| format!(" · val {:.3}", p.1)).unwrap_or_default())}
                </small>
            </button>
            {move || (runs.with(Vec::len) > 1).then(|| view! {
                <button class="run-remove" title="Remove this run" aria-label=format!("Remove run {}", i + 1)
                    on:click=move |_| {
                        runs.update(|r| { r.remove(i); });
                        selected.set(0);
                    }>"×"</button>
            })}
        </li>
    }
}
