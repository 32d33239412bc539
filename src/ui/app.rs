//! The playground page: the experiment read from the link and written back to it, the worker
//! kept in step with it, and the views.

use leptos::prelude::*;

use super::bandit_view::BanditView;
use super::embed_builder::EmbedBuilder;
use super::export::ExportBar;
use super::fit_chart::FitState;
use super::lesson::{LessonList, LessonPanel};
use super::notices::Notices;
use super::share::{read_link, write_link, ShareBar};
use super::sine_view::SineView;
use super::status_bar::StatusBar;
use super::training::Training;
use crate::experiment::lessons::Lesson;
use crate::experiment::protocol::Command;
use crate::experiment::state::{Experiment, Family, ViewState};
use crate::experiment::url;
use crate::experiment::worker_pool::workers_for;
use crate::ui::worker_build::use_relaxed_simd;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    // The link is the experiment: read it once, validate it, and report what was wrong.
    let (initial, initial_problems) = read_link();
    let family = RwSignal::new(initial.family);
    let runs = RwSignal::new(initial.runs.clone());
    let bandit = RwSignal::new(initial.bandit.clone());
    let link_problems = RwSignal::new(initial_problems);
    let link_note = initial.view.link_note(env!("CARGO_PKG_VERSION"));
    let embed = initial.view.embed;
    let lesson = initial.view.lesson.as_deref().and_then(Lesson::find);
    // `text=0`: no explanations and no lesson text (an embed builder's choice)
    let text = initial.view.text;
    let page_class = match (embed, initial.view.controls) {
        (true, true) => "page embed with-controls",
        (true, false) => "page embed",
        _ => "page",
    };
    let lessons_open = window().location().hash().is_ok_and(|h| h == "#lessons");
    let autoplay = StoredValue::new(initial.view.autoplay);
    let hide = StoredValue::new(initial.view.hide.clone());
    let selected = RwSignal::new(0usize);
    let problem = RwSignal::new(None::<String>);
    let log_scale = RwSignal::new(initial.view.log_scale);
    let task_and_k = Memo::new(move |_| runs.with(|r| (r[0].task, r[0].k)));
    let fit = FitState::new(&initial.view, task_and_k);
    // Charts are redrawn at the new size when the window (or the embedding iframe) resizes.
    let resized = RwSignal::new(0u32);
    let _resize = window_event_listener(leptos::ev::resize, move |_| resized.update(|n| *n += 1));

    // What the training worker reports, for every component below; and the worker itself.
    let training = Training::new();
    provide_context(training);
    // one worker per run where the cores allow (`workers=` in the link pins the number)
    // after the first frame: the page and its charts come first, the workers' wasm (most of
    // the download, BENCHMARKS.md) after them
    let cores = window().navigator().hardware_concurrency() as usize;
    let workers = initial.view.workers.unwrap_or_else(|| workers_for(cores));
    let relaxed = use_relaxed_simd(initial.view.strict_simd);
    request_animation_frame(move || {
        request_animation_frame(move || training.start_workers(workers, relaxed));
    });
    let Training {
        error,
        ready,
        losses,
        validation,
        bandit_eval,
        ..
    } = training;

    let reset = move || {
        training.clear_run();
        if family.get_untracked() == Family::Bandit {
            bandit_eval.set(None);
            training.send(&Command::ConfigureBandit {
                config: bandit.get_untracked(),
            });
        } else {
            training.send(&Command::Configure {
                runs: runs.get_untracked(),
            });
            training.send(&Command::Fit(untrack(|| fit.request())));
        }
        // `autoplay=1`: the first experiment starts training at once
        if autoplay.get_value() {
            autoplay.set_value(false);
            training.send(&Command::Play);
        }
    };
    // The URL follows every change (no reload).
    let experiment = Memo::new(move |_| Experiment {
        family: family.get(),
        runs: runs.get(),
        bandit: bandit.get(),
        view: ViewState {
            fit_steps: fit.steps.get(),
            log_scale: log_scale.get(),
            task_index: fit.task_index.get(),
            points: fit.points_custom.get().then(|| fit.points.get()),
            embed,
            autoplay: false,
            hide: hide.get_value(),
            made_with: None,
            lesson: lesson.map(|l| l.id.to_string()),
            text,
            controls: false,
            workers: initial.view.workers,
            strict_simd: initial.view.strict_simd,
        },
    });
    let query = Memo::new(move |_| url::encode(&experiment.get()));
    Effect::new(move |_| write_link(&query.get()));
    let full_link = Memo::new(move |_| {
        let mut e = experiment.get();
        e.view.embed = false;
        e.view.hide.clear();
        format!("./?{}", url::encode(&e))
    });
    // `hide=`: the named controls (names are checked to be [A-Za-z0-9_-] by the decoder)
    let hide_css: String = initial
        .view
        .hide
        .iter()
        .map(|n| format!(":is(.control, label.inline):has([data-testid=\"control-{n}\"]) {{ display: none; }}\n"))
        .collect();
    let apply_preset = Callback::new(move |q: String| {
        let (e, problems) = url::decode(&q);
        link_problems.set(problems);
        family.set(e.family);
        fit.steps.set(e.view.fit_steps);
        log_scale.set(e.view.log_scale);
        fit.task_index.set(e.view.task_index);
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
    // New support points or steps: the worker recomputes the fit curves.
    Effect::new(move |_| {
        let request = fit.request();
        if ready.get_untracked() {
            training.send(&Command::Fit(request));
        }
    });

    let total_iters = Signal::derive(move || match family.get() {
        Family::Bandit => bandit.with(|b| b.iters),
        Family::Sine => runs.with(|r| r.iter().map(|c| c.iters).max().unwrap_or(1)),
    });
    let export_bar = {
        let reports =
            Signal::derive(move || bandit_eval.with(|b| b.as_ref().map(|b| b.reports.clone())));
        let on_export_params = Callback::new(move |_: ()| {
            training.send(&Command::ExportParams {
                link: url::encode(&experiment.get_untracked()),
            });
        });
        let on_import_params = Callback::new(move |bytes: Vec<u8>| {
            training.send(&Command::ImportParams { bytes });
        });
        view! { <ExportBar experiment=experiment train=losses validation=validation bandit=reports error=error
        on_export_params=on_export_params on_import_params=on_import_params /> }
    };

    view! {
        <div id="error-banner" class="banner error" data-testid="error-banner" role="alert"
            hidden=move || error.get().is_none()>
            {move || error.get().unwrap_or_default()}
        </div>
        <div class=page_class data-testid="page">
        <style>{hide_css}</style>
        <header>
            <h1>"Metaplay"</h1>
            <p class="tagline">"Watch MAML, Reptile and friends learn to learn — few-shot sine regression and multi-armed bandits, trained live in your browser."</p>
        </header>
        <StatusBar total_iters=total_iters on_reset=Callback::new(move |_| reset()) />
        {(!embed).then(|| view! { <ShareBar query=query on_preset=apply_preset /> })}
        {(!embed).then(|| view! { <div class="share embed-bar"><EmbedBuilder experiment=experiment /></div> })}
        {export_bar}
        {embed.then(|| view! {
            <a class="open-full" data-testid="open-full" target="_blank" rel="noopener" href=move || full_link.get()>"Open the full playground ↗"</a>
        })}
        <Notices link_note=link_note link_problems=link_problems problem=problem />
        {lesson.filter(|_| text).map(|l| view! { <LessonPanel lesson=l /> })}
        <Show when=move || family.get() == Family::Sine fallback=move || view! {
            <BanditView config=bandit evaluation=bandit_eval rewards=losses problem=problem error=error family=family resized=resized text=text compact=embed />
        }>
            <SineView runs=runs selected=selected fit=fit log_scale=log_scale problem=problem family=family resized=resized text=text compact=embed />
        </Show>
        {(!embed).then(|| view! { <LessonList open=lessons_open /> })}
        <footer>
            <p>"Finn et al. 2017 (MAML) · Nichol et al. 2018 (Reptile) · Li et al. 2017 (Meta-SGD) · Duan et al. 2016 (RL²) · Wang et al. 2016 (dependent arms) · Auer et al. 2002 (UCB1). Engine: Rust + candle, compiled to WebAssembly."</p>
        </footer>
        </div>
    }
}
