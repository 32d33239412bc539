//! The training bar: Train / Pause / Step / Reset, the status line and the progress bar.

use leptos::prelude::*;

use super::training::Training;
use crate::experiment::chart_text;
use crate::experiment::protocol::Command;

/// The training bar. Commands go to the worker through the [`Training`] context; the status
/// shows what it reports.
#[component]
pub fn StatusBar(
    /// Meta-iterations the experiment is set to (the progress bar's end).
    total_iters: Signal<usize>,
    /// Starts the experiment over ("Reset").
    on_reset: Callback<()>,
) -> impl IntoView {
    let training: Training = expect_context();
    let Training {
        ready,
        playing,
        iters,
        rate,
        ms_per_iter,
        elapsed_ms,
        worker_memory,
        backend_label,
        busy_workers,
        relaxed_simd,
        ..
    } = training;
    let max_iter = move || iters.with(|i| i.iter().copied().max().unwrap_or(0));
    // What a screen reader hears: the state, and progress in tenths of the run, so that the
    // polite live region speaks a dozen times per training, not twenty times a second.
    let announced = Memo::new(move |_| {
        let total = total_iters.get().max(1);
        let done = max_iter();
        let tenth = (10 * done / total).min(10);
        let state = if !ready.get() {
            "Starting the training worker"
        } else if playing.get() {
            "Training"
        } else if done >= total {
            "Training finished"
        } else if done > 0 {
            "Paused"
        } else {
            "Ready to train"
        };
        (state, tenth)
    });
    let announcement = move || {
        let (state, tenth) = announced.get();
        let total = total_iters.get_untracked();
        format!(
            "{state}: iteration {} of {}.",
            chart_text::thousands(total * tenth / 10),
            chart_text::thousands(total)
        )
    };
    view! {
        <section class="toolbar" aria-label="Training">
            <button data-testid="train" class="primary" disabled=move || playing.get() || !ready.get()
                on:click=move |_| training.send(&Command::Play)>
                {move || if max_iter() > 0 { "Resume" } else { "Train" }}
            </button>
            <button data-testid="pause" disabled=move || !playing.get() on:click=move |_| training.send(&Command::Pause)>"Pause"</button>
            <button data-testid="step" disabled=move || playing.get() || !ready.get() on:click=move |_| training.send(&Command::Step)>"Step"</button>
            <button data-testid="reset" disabled=move || !ready.get() on:click=move |_| on_reset.run(())>"Reset"</button>
            <p class="sr-only" role="status" aria-live="polite" data-testid="status-announcement">{announcement}</p>
            <div class="status" data-testid="status">
                <span>"Iteration "<b data-testid="iteration">{max_iter}</b>" / "{total_iters}</span>
                <span>{move || format!("{:.0} it/s", rate.get())}</span>
                <span>{move || format!("{:.2} ms/it", ms_per_iter.get())}</span>
                <span>{move || format!("{:.1} s", elapsed_ms.get() / 1e3)}</span>
                <span data-testid="workers" title="the runs train in parallel, one worker each where the cores allow" hidden=move || busy_workers.get() < 2>
                    {move || format!("{} workers", busy_workers.get())}</span>
                <span data-testid="memory" title="wasm memory of the training workers">{move || format!("{:.1} MB", worker_memory.get() / 1e6)}</span>
                <span class="backend" data-testid="backend" title="where the runs train">{move || backend_label.get()}</span>
                <span data-testid="simd" hidden=move || !backend_label.get().starts_with("CPU")
                    title="the CPU kernels' WebAssembly SIMD: relaxed (fused multiply-adds, faster; rounding may differ from a browser without relaxed SIMD) or strict (simd=strict in a link: the same bits in every browser)">
                    {move || if relaxed_simd.get() { "relaxed SIMD" } else { "strict SIMD" }}</span>
                <span>{move || if !ready.get() { "starting…" } else if playing.get() { "training" } else { "paused" }}</span>
            </div>
            <progress max=total_iters value=max_iter aria-label="Training progress"></progress>
        </section>
    }
}
