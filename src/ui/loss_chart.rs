//! The meta-loss chart: every run's meta-training loss and its validation loss after
//! adaptation, against the iteration.

use leptos::html;
use leptos::prelude::*;

use super::charts::{self, LossSeries};
use super::controls::run_names;
use super::training::Training;
use crate::experiment::chart_text;
use crate::experiment::config::Config;

/// Rows of the data table at most (the latest).
const MAX_TABLE_ROWS: usize = 200;

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
        playing,
        ..
    } = expect_context();
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let throttle = charts::MotionThrottle::new();
    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        losses.track();
        if throttle.skip(playing.get()) {
            return;
        }
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.5);
        let max_iter = runs.with(|r| r.iter().map(|c| c.iters).max().unwrap_or(1));
        let result = losses.with(|l| {
            validation.with(|v| {
                let series: Vec<LossSeries> = (0..runs.with(Vec::len))
                    .map(|i| LossSeries {
                        color: charts::RUN_COLORS[i % charts::RUN_COLORS.len()],
                        dash: charts::run_dash(i),
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
        match result {
            Ok(()) => charts::mark_first_chart(),
            Err(e) => error.set(Some(format!("cannot draw the meta-loss chart: {e}"))),
        }
    });
    let show_table = RwSignal::new(false);
    let names = move || runs.with(|r| run_names(r));
    let summary = move || {
        let names = names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        losses.with(|l| validation.with(|v| chart_text::loss_summary(&names, l, v)))
    };
    let table = move || {
        show_table.get().then(|| {
            let header = names()
                .into_iter()
                .map(|n| view! { <th scope="col">{n}</th> })
                .collect_view();
            let rows = validation.with(|v| chart_text::loss_rows(v));
            let skip = rows.len().saturating_sub(MAX_TABLE_ROWS);
            let rows = rows
                .into_iter()
                .skip(skip)
                .map(|(it, values)| {
                    let cells = values
                        .into_iter()
                        .map(|v| view! { <td>{v.map(chart_text::short).unwrap_or_default()}</td> })
                        .collect_view();
                    view! { <tr><th scope="row">{it}</th>{cells}</tr> }
                })
                .collect_view();
            view! {
                <table class="policies data-table" data-testid="loss-table" tabindex="0">
                    <caption>"Validation loss after adaptation, by iteration"</caption>
                    <thead><tr><th scope="col">"Iteration"</th>{header}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
    };
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
                role="img" aria-label="Meta-loss chart" aria-describedby="loss-summary"></canvas>
            <p class="chart-summary" id="loss-summary" data-testid="loss-summary">{summary}</p>
            <button class="small" data-testid="loss-table-toggle" aria-expanded=move || show_table.get().to_string()
                on:click=move |_| show_table.update(|s| *s = !*s)>
                {move || if show_table.get() { "Hide the data" } else { "Show the data as a table" }}
            </button>
            {table}
        </figure>
    }
}
