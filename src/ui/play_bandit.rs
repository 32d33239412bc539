//! "Play it yourself": the student pulls the arms of one bandit of the experiment's family, by
//! click or keyboard (digits 1–9, 0 for arm 10; arrows move between arms, Enter pulls), for
//! the experiment's `pulls` pulls, rewards shown as they come and the means hidden. Then the
//! means are revealed and the student's cumulative regret is shown beside every policy's on the
//! same bandit, as a chart, a table and a timeline of the arms pulled.
//!
//! The game itself ([`PlayGame`]) is plain Rust from [`crate::experiment::play`]; the policies'
//! pulls come from the worker ([`Command::Replay`], which has the agent's current parameters).
//! The play seed lives in this view, not in the experiment's link.

use leptos::html;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::charts;
use super::play_charts::{self, arm_css, row_css};
use super::training::Training;
use crate::experiment::play::{arm_of_key, format_reward, key_of_arm, parse_seed, PlayGame};
use crate::experiment::protocol::{BanditEvaluation, Command};
use crate::experiment::BanditConfig;

/// The first bandit's seed.
const FIRST_SEED: u64 = 1;
/// The largest play seed (the experiment seeds' range).
const MAX_SEED: u64 = u32::MAX as u64;

/// Focuses the element with `data-testid` `id` (after the next frame, once it is enabled).
fn focus_later(id: String) {
    request_animation_frame(move || {
        let el = document()
            .query_selector(&format!("[data-testid=\"{id}\"]"))
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(el) = el {
            let _ = el.focus();
        }
    });
}

/// "Play it yourself" on the bandit experiment `config`.
#[component]
pub fn PlayBandit(
    /// The experiment (its family: setting, arms, pulls).
    config: RwSignal<BanditConfig>,
    /// The latest evaluation: a re-evaluated agent is replayed again.
    evaluation: RwSignal<Option<BanditEvaluation>>,
    /// Where to report a drawing failure.
    error: RwSignal<Option<String>>,
    /// Bumped when the window resizes.
    resized: RwSignal<u32>,
) -> impl IntoView {
    let training: Training = expect_context();
    let family = Memo::new(move |_| config.with(|c| c.family()));
    let seed = RwSignal::new(FIRST_SEED);
    let seed_problem = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let game = RwSignal::new(PlayGame::new(&family.get_untracked(), FIRST_SEED));
    // a new bandit when the seed or the family changes
    Effect::new(move |_| {
        let g = PlayGame::new(&family.get(), seed.get());
        note.set(None);
        game.set(g);
    });
    let finished = Memo::new(move |_| game.with(|g| g.finished()));
    let arm_count = Memo::new(move |_| game.with(|g| g.arm_count()));
    // once the pulls are done, the worker replays every policy on this bandit (again whenever
    // the agent is re-evaluated, so the agent shown is the agent as it is now)
    Effect::new(move |_| {
        evaluation.with(|e| e.as_ref().map(|e| e.iter));
        if finished.get() && training.ready.get() {
            let seed = game.with_untracked(|g| g.seed());
            training.send(&Command::Replay { seed });
        }
    });
    let rows = Memo::new(move |_| {
        if !finished.get() {
            return Vec::new();
        }
        training
            .play_replay
            .with(|r| game.with(|g| g.rows_with(r.as_ref())))
    });
    let replay_iter = Memo::new(move |_| {
        training.play_replay.with(|r| {
            r.as_ref()
                .filter(|r| game.with(|g| g.matches(r)))
                .map(|r| r.iter)
        })
    });

    let pull = move |arm: usize| {
        let mut outcome = Ok(0.0);
        game.update(|g| outcome = g.pull(arm));
        match outcome {
            Ok(_) => {
                note.set(None);
                if game.with_untracked(|g| g.finished()) {
                    focus_later("play-new".into());
                }
            }
            Err(e) => note.set(Some(e.to_string())),
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.alt_key() || ev.ctrl_key() || ev.meta_key() {
            return;
        }
        let key = ev.key();
        let k = arm_count.get_untracked();
        if let Some(arm) = arm_of_key(&key) {
            ev.prevent_default();
            if arm < k {
                pull(arm);
            } else {
                note.set(Some(format!(
                    "This bandit has {k} arms: keys 1–{}",
                    key_of_arm(k.saturating_sub(1).min(9)).unwrap_or_default()
                )));
            }
            return;
        }
        let here = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.get_attribute("data-arm"))
            .and_then(|a| a.parse::<usize>().ok())
            .unwrap_or(0);
        let next = match key.as_str() {
            "ArrowRight" | "ArrowDown" => (here + 1) % k.max(1),
            "ArrowLeft" | "ArrowUp" => (here + k.max(1) - 1) % k.max(1),
            "Home" => 0,
            "End" => k.saturating_sub(1),
            _ => return,
        };
        ev.prevent_default();
        focus_later(format!("play-arm-{next}"));
    };
    let set_seed = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        match parse_seed(&input.value()) {
            Ok(s) => {
                seed_problem.set(None);
                seed.set(s);
            }
            Err(m) => {
                seed_problem.set(Some(m));
                // the field shows the seed in use again; the game goes on
                input.set_value(&seed.get_untracked().to_string());
            }
        }
    };
    let new_bandit = move |_| {
        seed_problem.set(None);
        seed.update(|s| *s = if *s >= MAX_SEED { 0 } else { *s + 1 });
        focus_later("play-arm-0".into());
    };

    let buttons = move || {
        (0..arm_count.get())
            .map(|a| {
                let stats = move || {
                    game.with(|g| {
                        let (n, sum) = g.arm_stats(a);
                        let avg = if n > 0 {
                            format!(" · avg {:.2}", sum / n as f64)
                        } else {
                            String::new()
                        };
                        format!("{n} pulls · sum {}{avg}", format_reward(sum))
                    })
                };
                let mean = move || {
                    game.with(|g| {
                        g.finished()
                            .then(|| format!("true mean {:.2}", g.mean_of(a)))
                    })
                };
                let best = move || game.with(|g| g.finished() && g.task().best_arm() == a);
                view! {
                    <button class="arm" class:best=best data-testid=format!("play-arm-{a}") data-arm=a.to_string()
                        disabled=move || finished.get() on:click=move |_| pull(a)>
                        <span class="arm-name">
                            <span class="swatch" style=move || format!("background:{}", arm_css(a, arm_count.get()))></span>
                            {format!("Arm {}", a + 1)}
                        </span>
                        <span class="arm-stats">{stats}</span>
                        <span class="arm-mean">{mean}</span>
                        {key_of_arm(a).map(|k| view! { <kbd aria-hidden="true">{k}</kbd> })}
                    </button>
                }
            })
            .collect_view()
    };
    let status = move || {
        game.with(|g| {
            let last = g.last().map_or(String::new(), |(a, r)| {
                format!(" · arm {} paid {}", a + 1, format_reward(r))
            });
            format!(
                "Pull {} of {} · {} left · total reward {}{last}",
                g.pulled(),
                g.pulls(),
                g.left(),
                format_reward(g.total_reward())
            )
        })
    };

    let regret_canvas = NodeRef::<html::Canvas>::new();
    let timeline_canvas = NodeRef::<html::Canvas>::new();
    Effect::new(move |_| {
        let Some(canvas) = regret_canvas.get() else {
            return;
        };
        resized.track();
        let scale = charts::fit_to_display(&canvas, 0.4);
        let pulls = game.with_untracked(|g| g.pulls());
        let result = rows.with(|r| play_charts::draw_play_regret(canvas.clone(), scale, r, pulls));
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the play regret chart: {e}")));
        }
    });
    Effect::new(move |_| {
        let Some(canvas) = timeline_canvas.get() else {
            return;
        };
        resized.track();
        let (k, pulls) = game.with_untracked(|g| (g.arm_count(), g.pulls()));
        let result = rows.with(|r| {
            let scale = play_charts::fit_height(&canvas, play_charts::timeline_height(r.len()));
            play_charts::draw_timeline(canvas.clone(), scale, r, k, pulls)
        });
        if let Err(e) = result {
            error.set(Some(format!("cannot draw the play timeline: {e}")));
        }
    });

    let means = move || {
        game.with(|g| {
            let k = g.arm_count();
            let best = g.task().best_arm();
            g.task()
                .means
                .iter()
                .enumerate()
                .map(|(a, m)| {
                    view! {
                        <li data-testid=format!("play-mean-{a}")>
                            <span class="swatch" style=format!("background:{}", arm_css(a, k))></span>
                            {format!("arm {}: {m:.2}{}", a + 1, if a == best { " (best)" } else { "" })}
                        </li>
                    }
                })
                .collect_view()
        })
    };
    let table = move || {
        let k = arm_count.get();
        let pending = rows.with(|r| r.len() <= 1);
        let body = rows.with(|r| {
            r.iter()
                .enumerate()
                .map(|(i, row)| {
                    let best = game.with(|g| g.task().best_arm());
                    let counts = row.arm_counts(k);
                    let share = 100.0 * counts.get(best).copied().unwrap_or(0) as f64
                        / row.arms.len().max(1) as f64;
                    let per_arm = counts
                        .iter()
                        .enumerate()
                        .filter(|(_, &c)| c > 0)
                        .map(|(a, c)| format!("{}:{c}", a + 1))
                        .collect::<Vec<_>>()
                        .join(" ");
                    view! {
                        <tr data-testid=format!("play-row-{}", row.policy) class:you=i == 0>
                            <td><span class="swatch" style=format!("background:{}", row_css(&row.policy))></span>{row.policy.clone()}</td>
                            <td>{format_reward(row.total_reward())}</td>
                            <td>{format!("{:.2}", row.final_regret())}</td>
                            <td>{format!("{share:.0}%")}</td>
                            <td class="per-arm">{per_arm}</td>
                        </tr>
                    }
                })
                .collect_view()
        });
        let caption = match replay_iter.get() {
            Some(it) => format!("You and every policy on this bandit, the agent at iteration {it}. Regret: Σ over pulls of (best mean − mean of the arm pulled)."),
            None => "You on this bandit; the policies' pulls are on their way from the worker…".into(),
        };
        view! {
            <table class="policies play-table" data-testid="play-table" aria-busy=pending.to_string()>
                <caption>{caption}</caption>
                <thead><tr><th>"player"</th><th>"total reward"</th><th>"regret"</th><th>"best arm"</th><th>"pulls per arm"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        }
    };
    let timeline_text = move || {
        rows.with(|r| {
            r.iter()
                .map(|row| {
                    let runs = row
                        .runs()
                        .iter()
                        .map(|(a, n)| {
                            if *n == 1 {
                                format!("{}", a + 1)
                            } else {
                                format!("{}×{n}", a + 1)
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    view! { <li><b>{row.policy.clone()}</b>": "{runs}</li> }
                })
                .collect_view()
        })
    };
    let verdict = move || {
        rows.with(|r| {
            let (you, policies) = r.split_first()?;
            if policies.is_empty() {
                return None;
            }
            let mine = you.final_regret();
            let lower = policies
                .iter()
                .filter(|p| p.final_regret() > mine + 1e-9)
                .count();
            let tied = policies
                .iter()
                .filter(|p| (p.final_regret() - mine).abs() <= 1e-9)
                .count();
            let tied = if tied > 0 {
                format!(", tied with {tied}")
            } else {
                String::new()
            };
            Some(format!(
                "Your regret: {mine:.2} — lower than {lower} of the {} policies{tied}.",
                policies.len()
            ))
        })
    };
    let results = move || {
        view! {
            <div class="play-results" data-testid="play-results">
                <div class="play-means">"True means: "<ul class="play-legend">{means}</ul></div>
                <p class="play-verdict" data-testid="play-verdict">{verdict}</p>
                <p class="note">"Cumulative regret after each pull on this bandit; you are the thick red line, the policies in the colours of the table below."</p>
                <canvas node_ref=regret_canvas data-testid="play-regret-chart" width="720" height="288"
                    aria-label="Cumulative regret pull by pull: you and every policy on this bandit (figures in the table below)"></canvas>
                {table}
                <h4>"Which arm each player pulled, pull by pull"</h4>
                <canvas node_ref=timeline_canvas data-testid="play-timeline" width="720" height="120"
                    aria-label="Timeline of the arm each player pulled (as text below)"></canvas>
                <p class="note">"Cell colour: the arm (colours as in the means above); dark mark: the reward."</p>
                <details data-testid="play-timeline-text">
                    <summary>"The timeline as text (arm × pulls in a row)"</summary>
                    <ul>{timeline_text}</ul>
                </details>
            </div>
        }
    };

    view! {
        <figure class="play" data-testid="play">
            <figcaption>
                "Play it yourself: pull the arms of one bandit, "{move || game.with(|g| g.pulls())}" pulls, the means hidden. "
                "Then see your regret beside every policy's on the same bandit."
                <span class="note">"Keys, once an arm has the focus (Tab to it or click one): 1–9 (0 for arm 10) pull an arm; ←/→ move between arms, Enter pulls."</span>
            </figcaption>
            <div class="play-bar">
                <label class="inline">"Seed"
                    <input type="text" inputmode="numeric" data-testid="play-seed"
                        aria-invalid=move || seed_problem.with(|p| p.is_some()).to_string()
                        aria-describedby="play-seed-problem"
                        prop:value=move || seed.get().to_string()
                        on:change=set_seed />
                </label>
                <button data-testid="play-new" on:click=new_bandit>"New bandit"</button>
                <span class="play-status" data-testid="play-status" aria-live="polite">{status}</span>
            </div>
            <p id="play-seed-problem" class="field-problem" data-testid="play-seed-problem" role="status"
                hidden=move || seed_problem.with(|p| p.is_none())>{move || seed_problem.get().unwrap_or_default()}</p>
            <div class="arms" role="group" aria-label="Arms of the bandit" data-testid="play-arms" on:keydown=on_key>
                {buttons}
            </div>
            <p class="field-problem" data-testid="play-note" role="status" hidden=move || note.with(|n| n.is_none())>
                {move || note.get().unwrap_or_default()}</p>
            <Show when=move || finished.get()>{results}</Show>
        </figure>
    }
}
