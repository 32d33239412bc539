//! The notices under the toolbar: where the link came from, what of it was not used, and what
//! the worker or a control reported.

use leptos::prelude::*;

use super::training::Training;

/// The notices, in page order: the link's origin, its problems (dismissable), a diverged run,
/// a backend fallback, a parameter import, a rejected input.
#[component]
pub fn Notices(
    /// "Reproduced from a link …", when the link says which version made it.
    link_note: Option<String>,
    /// Parts of the link that were not used.
    link_problems: RwSignal<Vec<String>>,
    /// A rejected control value.
    problem: RwSignal<Option<String>>,
) -> impl IntoView {
    let Training {
        notice,
        backend_notice,
        imported,
        ..
    } = expect_context();
    view! {
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
    }
}
