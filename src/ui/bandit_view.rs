//! The bandit view: settings of the bandit experiment, the agent's meta-training curve,
//! cumulative regret of every policy, and one bandit's arm usage.

use leptos::html;
use leptos::prelude::*;

use super::bandit_charts::{self, policy_css};
use super::charts::{self, LossSeries};
use super::controls::{hint, setting_control};
use super::explain::ExplainPanel;
use super::play_bandit::PlayBandit;
use crate::experiment::explanations;
use crate::experiment::protocol::BanditEvaluation;
use crate::experiment::schema::edit::edit_bandit;
use crate::experiment::schema::sine::TASKS;
use crate::experiment::schema::BANDIT;
use crate::experiment::state::Family;
use crate::experiment::BanditConfig;

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
    /// Show the explanations.
    text: bool,
    /// One line each (embed mode).
    compact: bool,
) -> impl IntoView {
    let train_canvas = NodeRef::<html::Canvas>::new();
    let regret_canvas = NodeRef::<html::Canvas>::new();
    let arm_canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let Some(canvas) = train_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.4);
        let max_iter = config.with(|c| c.iters.max(1));
        let result = rewards.with(|r| {
            let series = [LossSeries {
                color: bandit_charts::AGENT_COLOR,
                dash: None,
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
            let names: Vec<&str> = e.as_ref().map_or(Vec::new(), |e| {
                e.reports.iter().map(|r| r.policy.as_str()).collect()
            });
            bandit_charts::draw_arms(canvas.clone(), scale, means, usage, &names, pulls)
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the arm chart: {e}")));
        }
    });

    let controls = BANDIT
        .iter()
        .map(|s| {
            let change = move |text: String| {
                match config.with_untracked(|c| edit_bandit(s, c, &text)) {
                    Ok(next) => {
                        problem.set(None);
                        config.set(next);
                    }
                    Err(msg) => {
                        problem.set(Some(msg));
                        config.update(|_| {}); // redraw the control with the valid value
                    }
                }
            };
            setting_control(
                s,
                hint(s, false),
                move || config.with(|c| s.text(c)),
                move || config.with(|c| (s.applies)(c)),
                None,
                change,
            )
        })
        .collect_view();
    let task_options = TASKS
        .iter()
        .map(|&(name, label)| view! { <option value=name>{label}</option> })
        .collect_view();
    let table = move || {
        evaluation.with(|e| {
            e.as_ref().map(|e| {
                let rows = e
                    .reports
                    .iter()
                    .map(|r| {
                        view! {
                            <tr data-testid=format!("policy-{}", r.policy)>
                                <td><span class="swatch" style=format!("background:{}", policy_css(&r.policy))></span>{r.policy.clone()}</td>
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
                            {task_options}
                            <option value="bandit" selected>"Bandit"</option>
                        </select>
                    </label>
                    {controls}
                </fieldset>
            </aside>
            <section class="charts">
                <figure>
                    <figcaption>"Training: the agent's expected reward per pull over its episodes (computed with the true arm means, a Rao–Blackwellised estimate)"</figcaption>
                    <canvas node_ref=train_canvas data-testid="bandit-train-chart" width="720" height="288"
                        aria-label="Bandit meta-training chart"></canvas>
                    <p class="note" data-testid="agent-note">{move || config.with(|c| c.algo.what_it_learns())}</p>
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
                {(text && !compact).then(|| view! { <ExplainPanel explanation=&explanations::BANDIT_CHARTS closed=true /> })}
                {move || text.then(|| {
                    let agent = explanations::of_agent(config.with(|c| c.algo));
                    view! {
                        <section class="explanations" data-testid="explanations" aria-label="How the agent learns">
                            <ExplainPanel explanation=agent compact=compact />
                        </section>
                    }
                })}
                <PlayBandit config=config evaluation=evaluation error=error resized=resized />
            </section>
        </div>
    }
}
