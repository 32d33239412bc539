//! The settings panel: one labelled control per setting of the selected run, each showing and
//! enforcing its accepted range (the limits of [`crate::experiment::config::limits`]).

use leptos::prelude::*;

use crate::engine::meta::Algo;
use crate::engine::mlp::Activation;
use crate::experiment::backend::Backend;
use crate::experiment::config::{limits, Config, TaskKind};
use crate::experiment::state::Family;

/// Switches a run to `algo`, keeping its task-level settings and taking the algorithm's own
/// defaults (e.g. Reptile's outer step size) from [`Config::new`].
pub fn with_algo(old: &Config, algo: Algo) -> Config {
    let mut c = Config::new(old.task, algo);
    c.seed = old.seed;
    c.iters = old.iters;
    c.k = old.k;
    c.k_query = old.k_query;
    c.hidden = old.hidden.clone();
    c.activation = old.activation;
    c.inner_lr = old.inner_lr;
    c.inner_batch = old.k;
    c.backend = old.backend;
    c.precision = old.precision;
    c
}

/// A human name for a backend choice.
pub fn backend_label(b: Backend) -> &'static str {
    match b {
        Backend::Auto => "Auto",
        Backend::Cpu => "CPU (candle)",
        Backend::WebGpu => "WebGPU",
    }
}

/// A human name for an algorithm.
pub fn algo_label(a: Algo) -> &'static str {
    match a {
        Algo::Maml => "MAML",
        Algo::Fomaml => "First-order MAML",
        Algo::Reptile => "Reptile",
        Algo::MetaSgd => "Meta-SGD",
        Algo::Pretrain => "Pre-training",
        Algo::Scratch => "From scratch",
    }
}

/// A numeric setting of a configuration `C`: name (for `data-testid="control-<name>"`),
/// label, range, step, and how to read and write it. `shared` settings apply to every run.
pub struct NumberSetting<C = Config> {
    /// Test id suffix.
    pub name: &'static str,
    /// Visible label.
    pub label: &'static str,
    /// Accepted range, inclusive (learning rates: exclusive of 0).
    pub range: (f64, f64),
    /// Whole numbers only.
    pub integer: bool,
    /// Input step.
    pub step: &'static str,
    /// Applies to every run.
    pub shared: bool,
    /// Reads the value.
    pub get: fn(&C) -> f64,
    /// Writes the value.
    pub set: fn(&mut C, f64),
}

/// Every numeric setting, in panel order.
pub fn number_settings() -> Vec<NumberSetting> {
    let r = |(a, b): (usize, usize)| (a as f64, b as f64);
    vec![
        NumberSetting {
            name: "k",
            label: "K (support points)",
            range: r(limits::K),
            integer: true,
            step: "1",
            shared: false,
            get: |c| c.k as f64,
            set: |c, v| {
                c.k = v as usize;
                c.inner_batch = c.k;
            },
        },
        NumberSetting {
            name: "k-query",
            label: "Query points",
            range: r(limits::K_QUERY),
            integer: true,
            step: "1",
            shared: false,
            get: |c| c.k_query as f64,
            set: |c, v| c.k_query = v as usize,
        },
        NumberSetting {
            name: "inner-steps",
            label: "Inner steps",
            range: r(limits::INNER_STEPS),
            integer: true,
            step: "1",
            shared: false,
            get: |c| c.inner_steps as f64,
            set: |c, v| c.inner_steps = v as usize,
        },
        NumberSetting {
            name: "inner-lr",
            label: "Inner learning rate α",
            range: limits::LR,
            integer: false,
            step: "any",
            shared: false,
            get: |c| c.inner_lr,
            set: |c, v| c.inner_lr = v,
        },
        NumberSetting {
            name: "meta-lr",
            label: "Meta learning rate",
            range: limits::LR,
            integer: false,
            step: "any",
            shared: false,
            get: |c| c.meta_lr,
            set: |c, v| c.meta_lr = v,
        },
        NumberSetting {
            name: "meta-batch",
            label: "Meta-batch (tasks)",
            range: r(limits::META_BATCH),
            integer: true,
            step: "1",
            shared: false,
            get: |c| c.meta_batch as f64,
            set: |c, v| c.meta_batch = v as usize,
        },
        NumberSetting {
            name: "iters",
            label: "Iterations",
            range: r(limits::ITERS),
            integer: true,
            step: "100",
            shared: true,
            get: |c| c.iters as f64,
            set: |c, v| c.iters = v as usize,
        },
        NumberSetting {
            name: "seed",
            label: "Seed",
            range: (0.0, 4_294_967_295.0),
            integer: true,
            step: "1",
            shared: true,
            get: |c| c.seed as f64,
            set: |c, v| c.seed = v as u64,
        },
    ]
}

/// The accepted range as shown beside a control.
pub fn range_text<C>(s: &NumberSetting<C>) -> String {
    if s.range.0 == 0.0 && !s.integer {
        format!("> 0 and ≤ {}", s.range.1)
    } else {
        format!("{}–{}", s.range.0, s.range.1)
    }
}

/// Checks a typed value against the setting's range; the error names the field and the range.
pub fn check<C>(s: &NumberSetting<C>, text: &str) -> Result<f64, String> {
    let v: f64 = text.trim().parse().map_err(|_| {
        format!(
            "{}: '{text}' is not a number (accepted: {})",
            s.label,
            range_text(s)
        )
    })?;
    let lower_ok = if s.range.0 == 0.0 && !s.integer {
        v > 0.0
    } else {
        v >= s.range.0
    };
    if !v.is_finite() || !lower_ok || v > s.range.1 || (s.integer && v.fract() != 0.0) {
        return Err(format!(
            "{}: {text} is outside the accepted range {}",
            s.label,
            range_text(s)
        ));
    }
    Ok(v)
}

/// Hidden sizes as `40,40`.
pub fn hidden_text(hidden: &[usize]) -> String {
    hidden
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Parses `40,40`-style hidden sizes.
pub fn parse_hidden(text: &str) -> Result<Vec<usize>, String> {
    let (lo, hi) = limits::HIDDEN_WIDTH;
    let (nlo, nhi) = limits::HIDDEN_LAYERS;
    let widths: Vec<usize> = text
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<usize>()
                .ok()
                .filter(|w| (lo..=hi).contains(w))
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            format!("Hidden layers: '{text}' must be widths {lo}–{hi}, comma separated")
        })?;
    if !(nlo..=nhi).contains(&widths.len()) {
        return Err(format!(
            "Hidden layers: {} layers given, accepted {nlo}–{nhi}",
            widths.len()
        ));
    }
    Ok(widths)
}

/// One labelled number input for `s`, showing its accepted range: `value` reads it, `apply`
/// takes a value that passed [`check`], `reject` gets the message for one that did not.
pub fn number_control<C: 'static>(
    s: NumberSetting<C>,
    value: impl Fn() -> f64 + Send + Sync + 'static,
    apply: impl Fn(f64) + Send + Sync + 'static,
    reject: impl Fn(String) + Send + Sync + 'static,
) -> impl IntoView {
    let id = format!("control-{}", s.name);
    let hint = range_text(&s);
    let (min, max) = (s.range.0.to_string(), s.range.1.to_string());
    let (step, label) = (s.step, s.label);
    view! {
        <label class="control">
            <span>{label}<small>{hint}</small></span>
            <input type="number" data-testid=id min=min max=max step=step
                prop:value=move || value().to_string()
                on:change=move |ev| match check(&s, &event_target_value(&ev)) {
                    Ok(v) => apply(v),
                    Err(msg) => reject(msg),
                } />
        </label>
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
                .cloned()
                .unwrap_or_else(|| r[0].clone())
        })
    };
    let edit = move |shared: bool, f: &dyn Fn(&mut Config)| {
        let sel = selected.get_untracked();
        let mut next = runs.get_untracked();
        for (i, c) in next.iter_mut().enumerate() {
            if shared || i == sel {
                f(c);
            }
        }
        match next.iter().try_for_each(|c| c.validate()) {
            Ok(()) => {
                problem.set(None);
                runs.set(next);
            }
            Err(e) => problem.set(Some(e.to_string())),
        }
    };
    let numbers = number_settings()
        .into_iter()
        .map(|s| {
            let (get, set, shared) = (s.get, s.set, s.shared);
            number_control(
                s,
                move || get(&current()),
                move |v| edit(shared, &|c| set(c, v)),
                move |msg| {
                    problem.set(Some(msg));
                    runs.update(|_| {}); // redraw the input with the valid value
                },
            )
        })
        .collect_view();
    view! {
        <fieldset class="controls">
            <legend>"Settings of the selected run"</legend>
            <label class="control">
                <span>"Task"<small>"shared by all runs"</small></span>
                <select data-testid="control-task" on:change=move |ev| {
                    let value = event_target_value(&ev);
                    if value == "bandit" {
                        return family.set(Family::Bandit);
                    }
                    let task = TaskKind::parse(&value).unwrap_or(TaskKind::Sine);
                    runs.update(|rs| for c in rs.iter_mut() {
                        let (seed, backend) = (c.seed, c.backend);
                        *c = Config::new(task, c.algo);
                        c.seed = seed;
                        c.backend = backend;
                    });
                }>
                    <option value="sine" prop:selected=move || current().task == TaskKind::Sine>"Sine · MAML"</option>
                    <option value="sine-reptile" prop:selected=move || current().task == TaskKind::SineReptile>"Sine · Reptile"</option>
                    <option value="bandit">"Bandit"</option>
                </select>
            </label>
            <label class="control">
                <span>"Algorithm"</span>
                <select data-testid="control-algo" on:change=move |ev| {
                    if let Some(a) = Algo::parse(&event_target_value(&ev)) {
                        let sel = selected.get_untracked();
                        runs.update(|rs| { let c = with_algo(&rs[sel], a); rs[sel] = c; });
                    }
                }>
                    {Algo::ALL.iter().map(|&a| view! {
                        <option value=a.name() prop:selected=move || current().algo == a>{algo_label(a)}</option>
                    }).collect_view()}
                </select>
            </label>
            {numbers}
            <label class="control">
                <span>"Hidden layers"<small>"1–4 widths of 1–256"</small></span>
                <input type="text" data-testid="control-hidden" inputmode="numeric"
                    prop:value=move || hidden_text(&current().hidden)
                    on:change=move |ev| {
                        match parse_hidden(&event_target_value(&ev)) {
                            Ok(h) => edit(false, &|c| c.hidden = h.clone()),
                            Err(msg) => { problem.set(Some(msg)); runs.update(|_| {}); }
                        }
                    } />
            </label>
            <label class="control">
                <span>"Activation"</span>
                <select data-testid="control-activation" on:change=move |ev| {
                    if let Some(a) = Activation::parse(&event_target_value(&ev)) { edit(false, &|c| c.activation = a) }
                }>
                    <option value="relu" prop:selected=move || current().activation == Activation::Relu>"ReLU"</option>
                    <option value="tanh" prop:selected=move || current().activation == Activation::Tanh>"tanh"</option>
                </select>
            </label>
            <label class="control">
                <span>"Backend"<small>"shared by all runs"</small></span>
                <select data-testid="control-backend" title="Auto: WebGPU on a hardware adapter when, timed here, it is clearly faster than the CPU" on:change=move |ev| {
                    if let Some(b) = Backend::parse(&event_target_value(&ev)) { edit(true, &|c| c.backend = b) }
                }>
                    {Backend::ALL.iter().map(|&b| view! {
                        <option value=b.name() prop:selected=move || current().backend == b>{backend_label(b)}</option>
                    }).collect_view()}
                </select>
            </label>
        </fieldset>
    }
}
