//! The explanation panels beside the widgets ([`crate::experiment::explanations`]): collapsible,
//! with the update rules in MathML; one line each in embed mode.

use leptos::prelude::*;

use crate::engine::meta::Algo;
use crate::experiment::explanations::{self, Explanation};

/// One explanation: a `<details>` panel (open unless `closed`), or its one-line version when
/// `compact`.
#[component]
pub fn ExplainPanel(
    /// What to explain.
    explanation: &'static Explanation,
    /// The one-line version (embed mode).
    #[prop(optional)]
    compact: bool,
    /// Start collapsed.
    #[prop(optional)]
    closed: bool,
) -> impl IntoView {
    let testid = format!("explain-{}", explanation.key);
    if compact {
        return view! { <p class="explain-line" data-testid=testid>{explanation.line}</p> }
            .into_any();
    }
    let refs = explanation
        .refs
        .iter()
        .map(|(label, href)| view! { <a href=*href target="_blank" rel="noopener">{*label}</a> })
        .collect_view();
    view! {
        <details class="explain" data-testid=testid open=!closed>
            <summary>{explanation.title}</summary>
            <div class="explain-body" inner_html=explanation.body></div>
            {(!explanation.formula.is_empty()).then(|| view! {
                <div class="formula" data-testid="formula" inner_html=explanation.formula></div>
            })}
            <p class="try"><b>"Try: "</b><span inner_html=explanation.try_this></span></p>
            {(!explanation.refs.is_empty()).then(|| view! { <p class="refs">"Paper: "{refs}</p> })}
        </details>
    }
    .into_any()
}

/// The explanations of the learners in `algos` (each once, in order).
#[component]
pub fn LearnerExplanations(
    /// The runs' algorithms.
    algos: Signal<Vec<Algo>>,
    /// One line each (embed mode).
    compact: bool,
) -> impl IntoView {
    let distinct = move || {
        let mut seen: Vec<Algo> = Vec::new();
        for a in algos.get() {
            if !seen.contains(&a) {
                seen.push(a);
            }
        }
        seen
    };
    view! {
        <section class="explanations" data-testid="explanations" aria-label="How these learners work">
            {(!compact).then(|| view! { <h2>"How these learners work"</h2> })}
            <For each=distinct key=|a| a.name() let:algo>
                <ExplainPanel explanation=explanations::of_algo(algo) compact=compact />
            </For>
        </section>
    }
}
