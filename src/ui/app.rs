//! The playground: runs, status, charts, and the wiring to the training worker.

use leptos::html;
use leptos::prelude::*;
use web_sys::{MouseEvent, Worker};

use super::bandit_view::BanditView;
use super::charts::{self, css_color, LossSeries, PlotArea};
use super::controls::{algo_label, with_algo, Controls};
use super::export::ExportBar;
use super::share::{read_link, write_link, ShareBar};
use super::training::Training;
use crate::engine::meta::Algo;
use crate::engine::rng::{rng, Stream};
use crate::engine::tasks::{RegressionFamily, SineTask, TaskFamily};
use crate::experiment::config::TaskKind;
use crate::experiment::protocol::{Command, FitRequest, MAX_RUNS};
use crate::experiment::state::{Experiment, Family, ViewState};
use crate::experiment::url;

/// A held-out task for the fit chart and its K support points (task `index` of a fixed stream).
fn held_out(task: TaskKind, index: u64, k: usize) -> (SineTask, Vec<(f64, f64)>) {
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

fn send(worker: StoredValue<Option<Worker>, LocalStorage>, command: &Command) {
    worker.with_value(|w| {
        if let (Some(w), Ok(v)) = (w, serde_wasm_bindgen::to_value(command)) {
            let _ = w.post_message(&v);
        }
    });
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    // The link is the experiment: read it once, validate it, and report what was wrong.
    let (initial, initial_problems) = read_link();
    let runs = RwSignal::new(initial.runs.clone());
    let family = RwSignal::new(initial.family);
    let bandit = RwSignal::new(initial.bandit.clone());
    let link_problems = RwSignal::new(initial_problems);
    let embed = initial.view.embed;
    let link_note = initial.view.link_note(env!("CARGO_PKG_VERSION"));
    let autoplay = StoredValue::new(initial.view.autoplay);
    let hide = StoredValue::new(initial.view.hide.clone());
    let points_custom = RwSignal::new(initial.view.points.is_some());
    let keep_link_points = StoredValue::new(initial.view.points.is_some());
    let selected = RwSignal::new(0usize);
    let problem = RwSignal::new(None::<String>);
    // What the training worker reports, and the worker itself.
    let training = Training::new();
    let Training {
        error,
        notice,
        backend_label,
        backend_notice,
        ready,
        playing,
        iters,
        losses,
        validation,
        rate,
        ms_per_iter,
        elapsed_ms,
        worker_memory,
        imported,
        fit,
        bandit_eval,
        ..
    } = training;
    let log_scale = RwSignal::new(initial.view.log_scale);
    let fit_steps = RwSignal::new(initial.view.fit_steps);
    let task_index = RwSignal::new(initial.view.task_index);
    let first_run = &initial.runs[0];
    let task = RwSignal::new(held_out(first_run.task, initial.view.task_index, first_run.k).0);
    let points =
        RwSignal::new(
            initial.view.points.clone().unwrap_or_else(|| {
                held_out(first_run.task, initial.view.task_index, first_run.k).1
            }),
        );
    let plot_area = StoredValue::new(None::<PlotArea>);
    let worker = StoredValue::new_local(None::<Worker>);
    let loss_canvas = NodeRef::<html::Canvas>::new();
    // Charts are redrawn at the new size when the window (or the embedding iframe) resizes.
    let resized = RwSignal::new(0u32);
    let _resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));
    let fit_canvas = NodeRef::<html::Canvas>::new();

    worker.set_value(training.start_worker());

    let fit_request = move || FitRequest {
        points: points.get(),
        steps: fit_steps.get(),
    };
    let reset = move || {
        training.clear_run();
        if family.get_untracked() == Family::Bandit {
            bandit_eval.set(None);
            send(
                worker,
                &Command::ConfigureBandit {
                    config: bandit.get_untracked(),
                },
            );
        } else {
            send(
                worker,
                &Command::Configure {
                    runs: runs.get_untracked(),
                },
            );
            send(worker, &Command::Fit(untrack(fit_request)));
        }
        // `autoplay=1`: the first experiment starts training at once
        if autoplay.get_value() {
            autoplay.set_value(false);
            send(worker, &Command::Play);
        }
    };
    // The URL follows every change (no reload).
    let experiment = move || Experiment {
        family: family.get(),
        runs: runs.get(),
        bandit: bandit.get(),
        view: ViewState {
            fit_steps: fit_steps.get(),
            log_scale: log_scale.get(),
            task_index: task_index.get(),
            points: points_custom.get().then(|| points.get()),
            embed,
            autoplay: false,
            hide: hide.get_value(),
            made_with: None,
        },
    };
    let experiment = Memo::new(move |_| experiment());
    let query = Memo::new(move |_| url::encode(&experiment.get()));
    // `hide=`: the named controls (names are checked to be [A-Za-z0-9_-] by the decoder)
    let hide_css: String = initial
        .view
        .hide
        .iter()
        .map(|n| format!(".control:has([data-testid=\"control-{n}\"]) {{ display: none; }}\n"))
        .collect();
    Effect::new(move |_| write_link(&query.get()));
    let full_link = Memo::new(move |_| {
        let mut e = experiment.get();
        e.view.embed = false;
        e.view.hide.clear();
        format!("./?{}", url::encode(&e))
    });
    let apply_preset = Callback::new(move |q: String| {
        let (e, problems) = url::decode(&q);
        link_problems.set(problems);
        family.set(e.family);
        fit_steps.set(e.view.fit_steps);
        log_scale.set(e.view.log_scale);
        task_index.set(e.view.task_index);
        bandit.set(e.bandit);
        runs.set(e.runs);
        selected.set(0);
    });
    // Any change of the runs (or of the bandit experiment, or of the task family) starts the
    // experiment over (once the worker listens).
    Effect::new(move |_| {
        runs.track();
        bandit.track();
        family.track();
        if ready.get() {
            reset();
        }
    });
    // A new task family or K gives new held-out support points.
    let task_and_k = Memo::new(move |_| runs.with(|r| (r[0].task, r[0].k)));
    Effect::new(move |_| {
        let (kind, k) = task_and_k.get();
        let (t, p) = held_out(kind, task_index.get(), k);
        task.set(t);
        if keep_link_points.get_value() {
            // the link's own support points survive the first run of this effect
            keep_link_points.set_value(false);
        } else {
            points_custom.set(false);
            points.set(p);
        }
    });
    Effect::new(move |_| {
        let request = fit_request();
        if ready.get_untracked() {
            send(worker, &Command::Fit(request));
        }
    });

    // Charts.
    Effect::new(move |_| {
        let Some(canvas) = loss_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.5);
        let colors: Vec<_> = (0..4).map(|i| charts::RUN_COLORS[i]).collect();
        let max_iter = runs.with(|r| r.iter().map(|c| c.iters).max().unwrap_or(1));
        let result = losses.with(|l| {
            validation.with(|v| {
                let series: Vec<LossSeries> = (0..runs.with(Vec::len))
                    .map(|i| LossSeries {
                        color: colors[i % 4],
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
    Effect::new(move |_| {
        let Some(canvas) = fit_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.55);
        let kind = runs.with(|r| r[0].task);
        let family = kind.family();
        let t = task.get();
        let truth: Vec<(f64, f64)> = (0..=200)
            .map(|i| -5.0 + i as f64 * 0.05)
            .map(|x| (x, family.target(&t, x)))
            .collect();
        let result = fit.with(|(grid, curves)| {
            points.with(|p| charts::draw_fit(canvas.clone(), scale, &truth, p, grid, curves))
        });
        match result {
            Ok(area) => plot_area.set_value(Some(area)),
            Err(e) => error.set(Some(format!("cannot draw the fit chart: {e}"))),
        }
    });

    // Click on the fit chart: remove the point under the cursor, or add one.
    let on_fit_click = move |ev: MouseEvent| {
        let (Some(canvas), Some(area)) = (fit_canvas.get(), plot_area.get_value()) else {
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
        match near {
            Some(i) => {
                points_custom.set(true);
                points.update(|p| {
                    p.remove(i);
                })
            }
            None if (-5.0..=5.0).contains(&x)
                && y.abs() <= charts::Y_MAX
                && points.with(Vec::len) < 100 =>
            {
                // stored to 0.001 so that the link carries exactly these points
                let round = |v: f64| (v * 1000.0).round() / 1000.0;
                points_custom.set(true);
                points.update(|p| p.push((round(x), round(y))))
            }
            None => {}
        }
    };

    let max_iter = move || iters.with(|i| i.iter().copied().max().unwrap_or(0));
    let total_iters = move || match family.get() {
        Family::Bandit => bandit.with(|b| b.iters),
        Family::Sine => runs.with(|r| r.iter().map(|c| c.iters).max().unwrap_or(1)),
    };
    let legend = move || {
        runs.get()
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                let n = runs.with(Vec::len);
                view! {
                    <li class="run" class:selected=move || selected.get() == i data-testid=format!("run-{i}")>
                        <button class="run-select" on:click=move |_| selected.set(i) aria-pressed=move || (selected.get() == i).to_string()>
                            <span class="swatch" style=format!("background:{}", css_color(i))></span>
                            {algo_label(c.algo)}
                            <small>{move || format!(" · {} it", iters.with(|it| it.get(i).copied().unwrap_or(0)))}</small>
                            <small data-testid=format!("validation-{i}") title="validation MSE after adaptation">
                                {move || validation.with(|v| v.get(i).and_then(|v| v.last()).map(|p| format!(" · val {:.3}", p.1)).unwrap_or_default())}
                            </small>
                        </button>
                        {(n > 1).then(|| view! {
                            <button class="run-remove" title="Remove this run" aria-label=format!("Remove run {}", i + 1)
                                on:click=move |_| {
                                    runs.update(|r| { r.remove(i); });
                                    selected.set(0);
                                }>"×"</button>
                        })}
                    </li>
                }
            })
            .collect_view()
    };
    let add_run = move |_: MouseEvent| {
        let used: Vec<Algo> = runs.with(|r| r.iter().map(|c| c.algo).collect());
        let next = [
            Algo::Maml,
            Algo::Pretrain,
            Algo::Fomaml,
            Algo::Reptile,
            Algo::MetaSgd,
            Algo::Scratch,
        ]
        .into_iter()
        .find(|a| !used.contains(a))
        .unwrap_or(Algo::Maml);
        let base = runs.with(|r| r[selected.get_untracked().min(r.len() - 1)].clone());
        runs.update(|r| r.push(with_algo(&base, next)));
        selected.set(runs.with(Vec::len) - 1);
    };

    view! {
        <div id="error-banner" class="banner error" data-testid="error-banner" role="alert"
            hidden=move || error.get().is_none()>
            {move || error.get().unwrap_or_default()}
        </div>
        <div class=if embed { "page embed" } else { "page" } data-testid="page">
        <style>{hide_css}</style>
        <header>
            <h1>"Metaplay"</h1>
            <p class="tagline">"Watch MAML, Reptile and friends learn to learn — few-shot sine regression and multi-armed bandits, trained live in your browser."</p>
        </header>
        <section class="toolbar" aria-label="Training">
            <button data-testid="train" class="primary" disabled=move || playing.get() || !ready.get()
                on:click=move |_| send(worker, &Command::Play)>
                {move || if max_iter() > 0 { "Resume" } else { "Train" }}
            </button>
            <button data-testid="pause" disabled=move || !playing.get() on:click=move |_| send(worker, &Command::Pause)>"Pause"</button>
            <button data-testid="step" disabled=move || playing.get() || !ready.get() on:click=move |_| send(worker, &Command::Step)>"Step"</button>
            <button data-testid="reset" disabled=move || !ready.get() on:click=move |_| reset()>"Reset"</button>
            <div class="status" data-testid="status" aria-live="polite">
                <span>"Iteration "<b data-testid="iteration">{max_iter}</b>" / "{total_iters}</span>
                <span>{move || format!("{:.0} it/s", rate.get())}</span>
                <span>{move || format!("{:.2} ms/it", ms_per_iter.get())}</span>
                <span>{move || format!("{:.1} s", elapsed_ms.get() / 1e3)}</span>
                <span data-testid="memory" title="wasm memory of the training worker">{move || format!("{:.1} MB", worker_memory.get() / 1e6)}</span>
                <span class="backend" data-testid="backend" title="where the runs train">{move || backend_label.get()}</span>
                <span>{move || if !ready.get() { "starting…" } else if playing.get() { "training" } else { "paused" }}</span>
            </div>
            <progress max=total_iters value=max_iter aria-label="Training progress"></progress>
        </section>
        {(!embed).then(|| view! { <ShareBar query=query on_preset=apply_preset /> })}
        {
            let reports = Signal::derive(move || bandit_eval.with(|b| b.as_ref().map(|b| b.reports.clone())));
            let on_export_params = Callback::new(move |_: ()| {
                send(worker, &Command::ExportParams { link: url::encode(&experiment.get_untracked()) });
            });
            let on_import_params = Callback::new(move |bytes: Vec<u8>| {
                send(worker, &Command::ImportParams { bytes });
            });
            view! { <ExportBar experiment=experiment train=losses validation=validation bandit=reports error=error
                on_export_params=on_export_params on_import_params=on_import_params /> }
        }
        {embed.then(|| view! {
            <a class="open-full" data-testid="open-full" target="_blank" rel="noopener" href=move || full_link.get()>"Open the full playground ↗"</a>
        })}
        {link_note.map(|note| view! {
            <p class="link-note" data-testid="link-note">{note}</p>
        })}
        {move || {
            let problems = link_problems.get();
            (!problems.is_empty()).then(|| view! {
                <div class="banner problem" data-testid="link-problems" role="status">
                    <b>"Parts of this link were not used:"</b>
                    <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    <button on:click=move |_| link_problems.set(Vec::new())>"Dismiss"</button>
                </div>
            })
        }}
        {move || notice.get().map(|n| view! { <div class="banner notice" data-testid="divergence" role="status">{n}</div> })}
        {move || backend_notice.get().map(|n| view! { <div class="banner notice" data-testid="backend-notice" role="status">{n}</div> })}
        {move || imported.get().map(|m| view! { <div class="banner notice" data-testid="import-status" role="status">{m}</div> })}
        {move || problem.get().map(|p| view! { <div class="banner problem" data-testid="input-problem" role="status">{p}</div> })}
        <Show when=move || family.get() == Family::Sine fallback=move || view! {
            <BanditView config=bandit evaluation=bandit_eval rewards=losses problem=problem error=error family=family resized=resized />
        }>
        <div class="layout">
            <aside>
                <ul class="runs" aria-label="Runs">{legend}</ul>
                <button data-testid="add-run" disabled=move || { runs.with(Vec::len) >= MAX_RUNS } on:click=add_run>"+ Add run"</button>
                <Controls runs=runs selected=selected problem=problem family=family />
            </aside>
            <section class="charts">
                <figure>
                    <figcaption>
                        "Meta-training loss (lines) and validation loss after adaptation (dots)"
                        <label class="inline"><input type="checkbox" data-testid="control-log-scale"
                            prop:checked=move || log_scale.get() on:change=move |ev| log_scale.set(event_target_checked(&ev)) />" log scale"</label>
                    </figcaption>
                    <canvas node_ref=loss_canvas data-testid="meta-loss-chart" width="720" height="360"
                        aria-label="Meta-loss chart"></canvas>
                </figure>
                <figure>
                    <figcaption>
                        "Few-shot fit on a held-out task: true curve (grey), support points, each run before adaptation (faint), after 1 step (thin) and after N steps (thick). Click to add a point, click a point to remove it."
                    </figcaption>
                    <canvas node_ref=fit_canvas data-testid="fit-chart" width="720" height="400" on:click=on_fit_click
                        aria-label="Few-shot fit chart; click to add or remove support points"></canvas>
                    <div class="fit-controls">
                        <label class="inline">"N steps "<input type="number" min="1" max="100" step="1" data-testid="control-fit-steps"
                            prop:value=move || fit_steps.get().to_string()
                            on:change=move |ev| {
                                match event_target_value(&ev).parse::<usize>() {
                                    Ok(n) if (1..=100).contains(&n) => fit_steps.set(n),
                                    _ => { problem.set(Some("N steps: accepted 1–100".into())); fit_steps.update(|_| {}); }
                                }
                            } /></label>
                        <button data-testid="new-task" on:click=move |_| task_index.update(|i| *i += 1)>"New task"</button>
                        <button data-testid="clear-points" on:click=move |_| { points_custom.set(true); points.set(Vec::new()) }>"Clear points"</button>
                        <span data-testid="point-count">{move || format!("{} points", points.with(Vec::len))}</span>
                    </div>
                </figure>
            </section>
        </div>
        </Show>
        <footer>
            <p>"Finn et al. 2017 (MAML) · Nichol et al. 2018 (Reptile) · Li et al. 2017 (Meta-SGD) · Duan et al. 2016 (RL²) · Wang et al. 2016 (dependent arms) · Auer et al. 2002 (UCB1). Engine: Rust + candle, compiled to WebAssembly."</p>
        </footer>
        </div>
    }
}
