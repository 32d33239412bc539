//! "Check gradients": the selected run's exact meta-gradient against finite differences, and
//! first-order MAML's against it, as the worker measured them
//! ([`crate::engine::meta::gradient_check`]).

use leptos::prelude::*;

use super::training::Training;
use crate::engine::meta::Algo;
use crate::experiment::config::Config;
use crate::experiment::protocol::Command;

/// The button and the last result for the selected run.
#[component]
pub fn GradientCheckPanel(
    /// Every run's configuration.
    runs: RwSignal<Vec<Config>>,
    /// The run the settings panel edits.
    selected: RwSignal<usize>,
) -> impl IntoView {
    let training: Training = expect_context();
    let algo = move || runs.with(|r| r.get(selected.get()).map(|c| c.algo));
    let can_check = move || algo().is_some_and(Algo::has_inner_loop_gradient);
    let result = move || {
        let (run, report) = training.gradient_check.get()?;
        let rows = report
            .directions
            .iter()
            .enumerate()
            .map(|(i, d)| {
                view! {
                    <tr><td>{i + 1}</td><td>{format!("{:.4e}", d.exact)}</td><td>{format!("{:.4e}", d.finite_difference)}</td>
                    <td>{d.first_order.map(|f| format!("{f:.4e}")).unwrap_or_else(|| "—".into())}</td></tr>
                }
            })
            .collect_view();
        let gap = match report.first_order_gap {
            Some(g) => format!(
                "first-order MAML's gradient differs from it by {:.1}% (‖g₁ − g‖ / ‖g‖ = {g:.3e})",
                100.0 * g
            ),
            None => "the learned optimiser has no first-order variant to compare".into(),
        };
        Some(view! {
            <div class="grad-result" data-testid="gradient-check-result">
                <p data-testid="gradient-check-summary">
                    {format!("Run {} ({}), {} meta-parameters, {} tasks, f64: ", run + 1, report.algo.name(), report.params, report.tasks)}
                    "exact meta-gradient against central finite differences: largest error "
                    <b data-testid="gradient-check-exact">{format!("{:.1e}", report.exact_error)}</b>
                    " of ‖g‖; "<span data-testid="gradient-check-gap">{gap}</span>"."
                </p>
                <div class="table-scroll" tabindex="0" role="region" aria-label="Directional derivatives">
                <table class="policies grad-table">
                    <caption>"Directional derivatives along random unit directions d"</caption>
                    <thead><tr><th>"d"</th><th>"exact g·d"</th><th><abbr title="central finite difference">"finite diff."</abbr></th><th><abbr title="first-order MAML's g₁·d">"first order"</abbr></th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                </div>
            </div>
        })
    };
    view! {
        <fieldset class="controls grad-check" data-testid="gradient-check">
            <legend>"Are the gradients right?"</legend>
            <p class="note">"The selected run's exact meta-gradient against finite differences of its meta-loss, and first-order MAML's gradient against it, on one batch of training tasks."</p>
            <button data-testid="check-gradients" disabled=move || !can_check() || !training.ready.get()
                on:click=move |_| training.send(&Command::CheckGradients { run: selected.get_untracked() })>
                "Check gradients"
            </button>
            {move || (!can_check()).then(|| view! {
                <p class="note">"Only for MAML, first-order MAML, Meta-SGD and the learned optimiser: the others have no meta-gradient through an inner loop."</p>
            })}
            {result}
        </fieldset>
    }
}
