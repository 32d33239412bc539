//! The bandit view: settings of the bandit experiment, the agent's meta-training curve,
//! cumulative regret of every policy, and one bandit's arm usage.

use leptos::html;
use leptos::prelude::*;

use super::bandit_charts::{self, policy_css};
use super::charts::{self, LossSeries};
use super::controls::{algo_label, backend_label, number_control, NumberSetting};
use crate::engine::meta::Algo;
use crate::engine::tasks::BanditSetting;
use crate::experiment::backend::Backend;
use crate::experiment::bandit_config::limits;
use crate::experiment::protocol::BanditEvaluation;
use crate::experiment::state::Family;
use crate::experiment::BanditConfig;

/// Meta-learners offered for the agent.
const AGENT_ALGOS: [Algo; 5] = [
    Algo::Maml,
    Algo::Fomaml,
    Algo::Reptile,
    Algo::MetaSgd,
    Algo::Scratch,
];

fn setting_label(s: BanditSetting) -> &'static str {
    match s {
        BanditSetting::Independent => "Independent arms · μ ~ U[0,1] (RL²)",
        BanditSetting::DependentEasy => "Dependent · easy · p₁ ∈ {0.1, 0.9}",
        BanditSetting::DependentMedium => "Dependent · medium · p₁ ∈ {0.25, 0.75}",
        BanditSetting::DependentHard => "Dependent · hard · p₁ ∈ {0.4, 0.6}",
        BanditSetting::DependentUniform => "Dependent · p₁ ~ U[0,1]",
    }
}

/// Every numeric bandit setting, in panel order.
fn bandit_numbers() -> Vec<NumberSetting<BanditConfig>> {
    let r = |(a, b): (usize, usize)| (a as f64, b as f64);
    let n = |name, label, range, get: fn(&BanditConfig) -> f64, set: fn(&mut BanditConfig, f64)| {
        NumberSetting {
            name,
            label,
            range,
            integer: true,
            step: "1",
            shared: true,
            get,
            set,
        }
    };
    let lr = |name, label, get: fn(&BanditConfig) -> f64, set: fn(&mut BanditConfig, f64)| {
        NumberSetting {
            name,
            label,
            range: limits::LR,
            integer: false,
            step: "any",
            shared: true,
            get,
            set,
        }
    };
    vec![
        n(
            "arms",
            "Arms k",
            r(limits::ARMS),
            |c| c.arms as f64,
            |c, v| c.arms = v as usize,
        ),
        n(
            "pulls",
            "Pulls n",
            r(limits::PULLS),
            |c| c.pulls as f64,
            |c, v| {
                c.pulls = v as usize;
                c.adapt_every = BanditConfig::default_adapt_every(c.pulls);
            },
        ),
        n(
            "adapt-every",
            "Adapt every m pulls",
            (1.0, limits::PULLS.1 as f64),
            |c| c.adapt_every as f64,
            |c, v| c.adapt_every = v as usize,
        ),
        n(
            "iters",
            "Meta-iterations",
            r(limits::ITERS),
            |c| c.iters as f64,
            |c, v| c.iters = v as usize,
        ),
        n(
            "meta-batch",
            "Episodes per meta-batch",
            r(limits::META_BATCH),
            |c| c.meta_batch as f64,
            |c, v| c.meta_batch = v as usize,
        ),
        lr(
            "inner-lr",
            "Inner step α",
            |c| c.inner_lr,
            |c, v| c.inner_lr = v,
        ),
        lr(
            "meta-lr",
            "Meta learning rate",
            |c| c.meta_lr,
            |c, v| c.meta_lr = v,
        ),
        NumberSetting {
            name: "epsilon",
            label: "ε of ε-greedy",
            range: (0.0, 1.0),
            integer: false,
            step: "0.01",
            shared: true,
            get: |c| c.epsilon,
            set: |c, v| c.epsilon = v,
        },
        n(
            "episodes",
            "Evaluation episodes",
            r(limits::EPISODES),
            |c| c.episodes as f64,
            |c, v| c.episodes = v as usize,
        ),
        n(
            "seed",
            "Seed",
            (0.0, 1e9),
            |c| c.seed as f64,
            |c, v| {
                c.seed = v as u64;
                c.eval_seed = v as u64;
            },
        ),
    ]
}

/// The bandit view.
#[component]
pub fn BanditView(
    /// The experiment.
    config: RwSignal<BanditConfig>,
    /// The latest evaluation from the worker.
    evaluation: RwSignal<Option<BanditEvaluation>>,
    /// `(iteration, expected reward per pull)` of the agent's meta-training.
    rewards: RwSignal<Vec<Vec<(usize, f64)>>>,
    /// Where to report a rejected value.
    problem: RwSignal<Option<String>>,
    /// Where to report a drawing failure.
    error: RwSignal<Option<String>>,
    /// Sine or bandit.
    family: RwSignal<Family>,
    /// Bumped when the window resizes.
    resized: RwSignal<u32>,
) -> impl IntoView {
    let train_canvas = NodeRef::<html::Canvas>::new();
    let regret_canvas = NodeRef::<html::Canvas>::new();
    let arm_canvas = NodeRef::<html::Canvas>::new();
    let edit = move |f: &dyn Fn(&mut BanditConfig)| {
        let mut next = config.get_untracked();
        f(&mut next);
        match next.validate() {
            Ok(()) => {
                problem.set(None);
                config.set(next);
            }
            Err(e) => {
                problem.set(Some(e.to_string()));
                config.update(|_| {});
            }
        }
    };

    Effect::new(move |_| {
        let Some(canvas) = train_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.4);
        let max_iter = config.with(|c| c.iters.max(1));
        let result = rewards.with(|r| {
            let series = [LossSeries {
                color: bandit_charts::POLICY_COLORS[6],
                train: r.first().map(Vec::as_slice).unwrap_or(&[]),
                validation: &[],
            }];
            charts::draw_loss(
                canvas.clone(),
                scale,
                &series,
                false,
                max_iter,
                "expected reward per pull",
            )
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the meta-training chart: {e}")));
        }
    });
    Effect::new(move |_| {
        let Some(canvas) = regret_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.5);
        let pulls = config.with(|c| c.pulls);
        let result = evaluation.with(|e| {
            let reports = e.as_ref().map_or(&[][..], |e| &e.reports[..]);
            bandit_charts::draw_regret(canvas.clone(), scale, reports, pulls)
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the regret chart: {e}")));
        }
    });
    Effect::new(move |_| {
        let Some(canvas) = arm_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.4);
        let pulls = config.with(|c| c.pulls);
        let result = evaluation.with(|e| {
            let (means, usage) = e
                .as_ref()
                .map_or((&[][..], &[][..]), |e| (&e.means[..], &e.usage[..]));
            bandit_charts::draw_arms(canvas.clone(), scale, means, usage, pulls)
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the arm chart: {e}")));
        }
    });

    let numbers = bandit_numbers()
        .into_iter()
        .map(|s| {
            let (get, set) = (s.get, s.set);
            number_control(
                s,
                move || get(&config.get()),
                move |v| edit(&|c| set(c, v)),
                move |msg| {
                    problem.set(Some(msg));
                    config.update(|_| {});
                },
            )
        })
        .collect_view();
    let table = move || {
        evaluation.with(|e| {
            e.as_ref().map(|e| {
                let rows = e
                    .reports
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        view! {
                            <tr data-testid=format!("policy-{}", r.policy)>
                                <td><span class="swatch" style=format!("background:{}", policy_css(i))></span>{r.policy.clone()}</td>
                                <td>{format!("{:.2} ± {:.2}", r.mean_total_reward, r.stderr)}</td>
                                <td>{format!("{:.2}", r.regret_mean.last().copied().unwrap_or(0.0))}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table class="policies" data-testid="bandit-table">
                        <caption>{format!("{} episodes per policy, same bandits; agent at iteration {}", e.reports.first().map(|r| r.episodes).unwrap_or(0), e.iter)}</caption>
                        <thead><tr><th>"policy"</th><th>"total reward"</th><th>"regret"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
            })
        })
    };

    view! {
        <div class="layout">
            <aside>
                <fieldset class="controls">
                    <legend>"Bandit experiment"</legend>
                    <label class="control">
                        <span>"Task"</span>
                        <select data-testid="control-task" on:change=move |ev| {
                            if event_target_value(&ev) != "bandit" { family.set(Family::Sine) }
                        }>
                            <option value="sine">"Sine · MAML"</option>
                            <option value="sine-reptile">"Sine · Reptile"</option>
                            <option value="bandit" selected>"Bandit"</option>
                        </select>
                    </label>
                    <label class="control">
                        <span>"Setting"</span>
                        <select data-testid="control-setting" on:change=move |ev| {
                            if let Some(s) = BanditSetting::parse(&event_target_value(&ev)) {
                                edit(&|c| {
                                    c.setting = s;
                                    c.arms = if s.is_dependent() { 2 } else if c.arms == 2 { 10 } else { c.arms };
                                });
                            }
                        }>
                            {BanditSetting::ALL.iter().map(|&s| view! {
                                <option value=s.name() prop:selected=move || config.with(|c| c.setting == s)>{setting_label(s)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label class="control">
                        <span>"Agent meta-learner"</span>
                        <select data-testid="control-algo" on:change=move |ev| {
                            if let Some(a) = Algo::parse(&event_target_value(&ev)) {
                                edit(&|c| {
                                    let fresh = BanditConfig::new(c.setting, a);
                                    c.algo = a;
                                    c.meta_lr = fresh.meta_lr;
                                    if a == Algo::Scratch { c.iters = 0 } else if c.iters == 0 { c.iters = fresh.iters }
                                });
                            }
                        }>
                            {AGENT_ALGOS.iter().map(|&a| view! {
                                <option value=a.name() prop:selected=move || config.with(|c| c.algo == a)>{algo_label(a)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    {numbers}
                    <label class="control">
                        <span>"Evaluation backend"<small>"the agent trains on the CPU"</small></span>
                        <select data-testid="control-backend" title="Where the evaluation episodes run. WebGPU evaluates every episode of the config in one dispatch (the CPU at most 2000 per policy); Auto times both here and keeps the faster" on:change=move |ev| {
                            if let Some(b) = Backend::parse(&event_target_value(&ev)) { edit(&|c| c.backend = b) }
                        }>
                            {Backend::ALL.iter().map(|&b| view! {
                                <option value=b.name() prop:selected=move || config.with(|c| c.backend == b)>{backend_label(b)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                </fieldset>
            </aside>
            <section class="charts">
                <figure>
                    <figcaption>"Meta-training: expected reward per pull of the agent as it adapts through its episodes"</figcaption>
                    <canvas node_ref=train_canvas data-testid="bandit-train-chart" width="720" height="288"
                        aria-label="Bandit meta-training chart"></canvas>
                </figure>
                <figure>
                    <figcaption>"Cumulative regret against pulls, every policy on the same bandits (band: ±2 standard errors). The agent is the thick blue line."</figcaption>
                    <canvas node_ref=regret_canvas data-testid="regret-chart" width="720" height="360"
                        aria-label="Cumulative regret chart"></canvas>
                    {table}
                </figure>
                <figure>
                    <figcaption>"One bandit: each arm's true mean (black tick) and each policy's share of the pulls (bars, same colours)"</figcaption>
                    <canvas node_ref=arm_canvas data-testid="arm-chart" width="720" height="288"
                        aria-label="Arm usage chart"></canvas>
                </figure>
            </section>
        </div>
    }
}
