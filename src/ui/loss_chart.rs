//! The meta-loss chart: every run's meta-training loss and its validation loss after
//! adaptation, against the iteration.

use leptos::html;
use leptos::prelude::*;

use super::charts::{self, LossSeries};
use super::training::Training;
use crate::experiment::config::Config;

/// The meta-loss figure with its log-scale switch. The curves come from the worker
/// ([`Training::losses`], [`Training::validation`]).
#[component]
pub fn LossChart(
    /// Every run's configuration (one curve each; the x axis spans the most iterations).
    runs: RwSignal<Vec<Config>>,
    /// Log scale on the y axis.
    log_scale: RwSignal<bool>,
    /// Bumped when the window resizes.
    resized: RwSignal<u32>,
) -> impl IntoView {
    let Training {
        losses,
        validation,
        error,
        ..
    } = expect_context();
    let canvas_ref = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.5);
        let max_iter = runs.with(|r| r.iter().map(|c| c.iters).max().unwrap_or(1));
        let result = losses.with(|l| {
            validation.with(|v| {
                let series: Vec<LossSeries> = (0..runs.with(Vec::len))
                    .map(|i| LossSeries {
                        color: charts::RUN_COLORS[i % charts::RUN_COLORS.len()],
                        train: l.get(i).map(Vec::as_slice).unwrap_or(&[]),
                        validation: v.get(i).map(Vec::as_slice).unwrap_or(&[]),
                    })
                    .collect();
                charts::draw_loss(
                    canvas.clone(),
                    scale,
                    &series,
                    log_scale.get(),
                    max_iter,
                    "MSE",
                )
            })
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the meta-loss chart: {e}")));
        }
    });
    view! {
        <figure>
            <figcaption>
                "Meta-training loss (lines) and validation loss after adaptation (dots)"
                <label class="inline"><input type="checkbox" data-testid="control-log-scale"
                    prop:checked=move || log_scale.get() on:change=move |ev| log_scale.set(event_target_checked(&ev)) />" log scale"</label>
                {move || runs.with(|r| Config::data_budget_note(r)).map(|note| view! {
                    <small class="note" data-testid="data-budget-note">{note}</small>
                })}
            </figcaption>
            <canvas node_ref=canvas_ref data-testid="meta-loss-chart" width="720" height="360"
                aria-label="Meta-loss chart"></canvas>
        </figure>
    }
}
