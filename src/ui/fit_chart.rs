//! The few-shot fit chart: a held-out task's true curve, the support points (click to add or
//! remove one) and every run's prediction before and after adapting to them.

use leptos::html;
use leptos::prelude::*;
use web_sys::MouseEvent;

use super::charts::{self, PlotArea};
use super::controls::run_names;
use super::training::Training;
use crate::engine::rng::{rng, Stream};
use crate::engine::tasks::{RegressionFamily, SineTask, TaskFamily};
use crate::experiment::chart_text;
use crate::experiment::config::{Config, TaskKind};
use crate::experiment::protocol::FitRequest;
use crate::experiment::state::ViewState;
use crate::experiment::url::MAX_POINTS;

/// Task `index` of a fixed held-out stream and its first `k` support points.
pub fn held_out(task: TaskKind, index: u64, k: usize) -> (SineTask, Vec<(f64, f64)>) {
    let family = task.family();
    let mut g = rng(10_000 + index, Stream::Validation);
    let t = family.sample_task(&mut g);
    let points = family
        .sample_inputs(&mut g, k)
        .into_iter()
        .map(|x| (x, family.target(&t, x)))
        .collect();
    (t, points)
}

/// The fit chart's part of the experiment (all of it in the link), as signals.
#[derive(Clone, Copy)]
pub struct FitState {
    /// The task family and K of the first run (the held-out task and its support points
    /// follow them).
    pub task_and_k: Memo<(TaskKind, usize)>,
    /// Adaptation steps of the "after N steps" curve (1..=100).
    pub steps: RwSignal<usize>,
    /// Index of the held-out task.
    pub task_index: RwSignal<u64>,
    /// The held-out task, whose true curve the chart draws.
    pub task: Memo<SineTask>,
    /// The support points the runs adapt to.
    pub points: RwSignal<Vec<(f64, f64)>>,
    /// The points were placed by the user (so the link carries them).
    pub points_custom: RwSignal<bool>,
}

impl FitState {
    /// The state a link's `view` describes, for the runs' `task_and_k`. A new task family, K
    /// or task index then brings the held-out task's own support points, except that the
    /// link's own points survive the first time.
    pub fn new(view: &ViewState, task_and_k: Memo<(TaskKind, usize)>) -> Self {
        let task_index = RwSignal::new(view.task_index);
        let (kind, k) = task_and_k.get_untracked();
        let points = view
            .points
            .clone()
            .unwrap_or_else(|| held_out(kind, view.task_index, k).1);
        let state = Self {
            task_and_k,
            steps: RwSignal::new(view.fit_steps),
            task_index,
            task: Memo::new(move |_| held_out(task_and_k.get().0, task_index.get(), 0).0),
            points: RwSignal::new(points),
            points_custom: RwSignal::new(view.points.is_some()),
        };
        let mut keep_link_points = view.points.is_some();
        Effect::new(move |_| {
            let (kind, k) = task_and_k.get();
            let index = task_index.get();
            if std::mem::take(&mut keep_link_points) {
                return;
            }
            state.points_custom.set(false);
            state.points.set(held_out(kind, index, k).1);
        });
        state
    }

    /// What the worker needs to draw the runs' curves (tracked).
    pub fn request(&self) -> FitRequest {
        FitRequest {
            points: self.points.get(),
            steps: self.steps.get(),
        }
    }
}

/// The fit chart's figure: the canvas, the N-steps input, "New task", "Clear points" and the
/// point count. The runs' curves come from the worker ([`Training::fit`]).
#[component]
pub fn FitChart(
    /// The held-out task, the support points and the steps.
    state: FitState,
    /// Every run's configuration (for the note on steps beyond the trained ones).
    runs: RwSignal<Vec<Config>>,
    /// Where to report a rejected N.
    problem: RwSignal<Option<String>>,
    /// Bumped when the window resizes.
    resized: RwSignal<u32>,
) -> impl IntoView {
    let Training { fit, error, .. } = expect_context();
    let FitState {
        task_and_k,
        steps,
        task_index,
        task,
        points,
        points_custom,
    } = state;
    let canvas_ref = NodeRef::<html::Canvas>::new();
    let plot_area = StoredValue::new(None::<PlotArea>);
    let input_range = move || task_and_k.with(|(kind, _)| kind.family().input_range());

    Effect::new(move |_| {
        let Some(canvas) = canvas_ref.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.55);
        let family = task_and_k.get().0.family();
        let (lo, hi) = family.input_range();
        let t = task.get();
        let truth: Vec<(f64, f64)> = (0..=200)
            .map(|i| lo + (hi - lo) * i as f64 / 200.0)
            .map(|x| (x, family.target(&t, x)))
            .collect();
        let result = fit.with(|(grid, curves)| {
            points.with(|p| {
                charts::draw_fit(canvas.clone(), scale, (lo, hi), &truth, p, grid, curves)
            })
        });
        match result {
            Ok(area) => {
                plot_area.set_value(Some(area));
                charts::mark_first_chart();
            }
            Err(e) => error.set(Some(format!("cannot draw the fit chart: {e}"))),
        }
    });

    // Click: remove the point under the cursor, or add one.
    let on_click = move |ev: MouseEvent| {
        let (Some(canvas), Some(area)) = (canvas_ref.get(), plot_area.get_value()) else {
            return;
        };
        let rect = canvas.get_bounding_client_rect();
        if rect.width() <= 0.0 {
            return;
        }
        let scale = canvas.width() as f64 / rect.width();
        let px = (ev.client_x() as f64 - rect.left()) * scale;
        let py = (ev.client_y() as f64 - rect.top()) * scale;
        let (x, y) = area.to_data(px, py);
        let near = points.with(|p| {
            p.iter().position(|&(qx, qy)| {
                let (a, b) = area.to_pixel(qx, qy);
                (a - px).hypot(b - py) <= 10.0 * scale.max(1.0)
            })
        });
        let (lo, hi) = input_range();
        match near {
            Some(i) => {
                points_custom.set(true);
                points.update(|p| {
                    p.remove(i);
                })
            }
            None if (lo..=hi).contains(&x)
                && y.abs() <= charts::Y_MAX
                && points.with(Vec::len) < MAX_POINTS =>
            {
                // stored to 0.001 so that the link carries exactly these points
                let round = |v: f64| (v * 1000.0).round() / 1000.0;
                points_custom.set(true);
                points.update(|p| p.push((round(x), round(y))))
            }
            None => {}
        }
    };

    let show_table = RwSignal::new(false);
    // a support point typed in (keyboard users, exact values)
    let typed_x = NodeRef::<html::Input>::new();
    let typed_y = NodeRef::<html::Input>::new();
    let add_typed = move || {
        let (lo, hi) = input_range();
        let parse = |input: NodeRef<html::Input>| {
            let text = input.get_untracked().map(|i| i.value()).unwrap_or_default();
            text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
        };
        match (parse(typed_x), parse(typed_y)) {
            (Some(x), Some(y)) if (lo..=hi).contains(&x) && y.abs() <= charts::Y_MAX => {
                if points.with_untracked(Vec::len) >= MAX_POINTS {
                    problem.set(Some(format!("support points: at most {MAX_POINTS}")));
                    return;
                }
                let round = |v: f64| (v * 1000.0).round() / 1000.0;
                points_custom.set(true);
                points.update(|p| p.push((round(x), round(y))));
                problem.set(None);
            }
            _ => problem.set(Some(format!(
                "new point: x accepted from {lo} to {hi}, y from {} to {}",
                -charts::Y_MAX,
                charts::Y_MAX
            ))),
        }
    };
    // the true curve on the worker's grid, for the text alternative and the table
    let truth_on = move |grid: &[f64]| -> Vec<f64> {
        let family = task_and_k.get().0.family();
        let t = task.get();
        grid.iter().map(|&x| family.target(&t, x)).collect()
    };
    let names = move || runs.with(|r| run_names(r));
    let summary = move || {
        let names = names();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        fit.with(|(grid, curves)| {
            let truth = truth_on(grid);
            let errors: Vec<Option<f64>> = (0..names.len())
                .map(|i| {
                    curves
                        .get(i)
                        .and_then(|c| chart_text::curve_mse(&c.many, &truth))
                })
                .collect();
            chart_text::fit_summary(&names, points.with(Vec::len), steps.get(), &errors)
        })
    };
    let table = move || {
        show_table.get().then(|| {
            let header = names()
                .into_iter()
                .map(|n| view! { <th scope="col">{n}</th> })
                .collect_view();
            let rows = fit.with(|(grid, curves)| {
                let truth = truth_on(grid);
                let every = (grid.len() / 20).max(1);
                (0..grid.len())
                    .step_by(every)
                    .map(|j| {
                        let cells = curves
                            .iter()
                            .map(|c| view! { <td>{c.many.get(j).map(|&v| chart_text::short(v)).unwrap_or_default()}</td> })
                            .collect_view();
                        view! { <tr><th scope="row">{chart_text::short(grid[j])}</th><td>{chart_text::short(truth[j])}</td>{cells}</tr> }
                    })
                    .collect_view()
            });
            let pts = points.with(|p| {
                p.iter()
                    .map(|&(x, y)| format!("({}, {})", chart_text::short(x), chart_text::short(y)))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            view! {
                <table class="policies data-table" data-testid="fit-table" tabindex="0">
                    <caption>{format!("Predictions after {} steps; support points: {}", steps.get(), if pts.is_empty() { "none".to_string() } else { pts })}</caption>
                    <thead><tr><th scope="col">"x"</th><th scope="col">"true y"</th>{header}</tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })
    };
    view! {
        <figure>
            <figcaption>
                "Few-shot fit on a held-out task: true curve (grey), support points, each run before adaptation (faint), after 1 step (thin) and after N steps (thick). A model-based learner (neural process, GRU writing the model) takes no steps: faint is its guess from no points, thick its reading of the points, shaded its ±2σ. Click to add a point, click a point to remove it."
            </figcaption>
            <canvas node_ref=canvas_ref data-testid="fit-chart" width="720" height="400" on:click=on_click
                role="img" aria-label="Few-shot fit chart; click to add or remove support points" aria-describedby="fit-summary"></canvas>
            <p class="chart-summary" id="fit-summary" data-testid="fit-summary">{summary}</p>
            <div class="fit-controls">
                <label class="inline">"N steps "<input type="number" min="1" max="100" step="1" data-testid="control-fit-steps"
                    prop:value=move || steps.get().to_string()
                    on:change=move |ev| {
                        match event_target_value(&ev).parse::<usize>() {
                            Ok(n) if (1..=100).contains(&n) => steps.set(n),
                            _ => { problem.set(Some("N steps: accepted 1–100".into())); steps.update(|_| {}); }
                        }
                    } /></label>
                <button data-testid="new-task" on:click=move |_| task_index.update(|i| *i += 1)>"New task"</button>
                <button data-testid="clear-points" on:click=move |_| { points_custom.set(true); points.set(Vec::new()) }>"Clear points"</button>
                <span data-testid="point-count">{move || format!("{} points", points.with(Vec::len))}</span>
                <span class="add-point">
                    <label class="inline">"x "<input type="number" step="0.1" data-testid="point-x" aria-label="x of a new support point"
                        node_ref=typed_x on:keydown=move |ev| if ev.key() == "Enter" { add_typed() } /></label>
                    <label class="inline">"y "<input type="number" step="0.1" data-testid="point-y" aria-label="y of a new support point"
                        node_ref=typed_y on:keydown=move |ev| if ev.key() == "Enter" { add_typed() } /></label>
                    <button data-testid="add-point" on:click=move |_| add_typed()>"Add point"</button>
                </span>
                <button class="small" data-testid="fit-table-toggle" aria-expanded=move || show_table.get().to_string()
                    on:click=move |_| show_table.update(|s| *s = !*s)>
                    {move || if show_table.get() { "Hide the data" } else { "Show the data as a table" }}
                </button>
            </div>
            {table}
            {move || runs.with(|r| Config::extra_steps_note(r, steps.get())).map(|note| view! {
                <small class="note" data-testid="extra-steps-note">{note}</small>
            })}
        </figure>
    }
}
