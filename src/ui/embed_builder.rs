//! "Embed this": the instructor picks the controls an `<iframe>` keeps, its size, autoplay and
//! the explanations, sees a live preview, and copies the snippet or the link
//! ([`crate::experiment::embed`]).

use leptos::prelude::*;

use super::share::{copy_to_clipboard, link_for};
use crate::experiment::embed::{
    controls, embed_query, iframe_snippet, parse_size, EmbedOptions, HEIGHT_RANGE, WIDTH_RANGE,
};
use crate::experiment::state::Experiment;

/// The builder: a toggle button and, when open, its panel.
#[component]
pub fn EmbedBuilder(
    /// The experiment to embed.
    experiment: Memo<Experiment>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let options = RwSignal::new(EmbedOptions::default());
    let problem = RwSignal::new(None::<String>);
    let copied = RwSignal::new("");
    let query = Memo::new(move |_| options.with(|o| embed_query(&experiment.get(), o)));
    let link = move || link_for(&query.get());
    let title = move || {
        experiment.with(|e| match e.family {
            crate::experiment::state::Family::Sine => format!(
                "Metaplay: {}",
                e.runs
                    .iter()
                    .map(|c| c.algo.name())
                    .collect::<Vec<_>>()
                    .join(" vs ")
            ),
            crate::experiment::state::Family::Bandit => {
                format!("Metaplay: bandits, {}", e.bandit.algo.name())
            }
        })
    };
    let snippet = move || options.with(|o| iframe_snippet(&link(), o, &title()));
    let size_input = move |field: &'static str, range: (u32, u32), is_width: bool| {
        let value = move || options.with(|o| if is_width { o.width } else { o.height }.to_string());
        view! {
            <label class="inline">{field}" "
                <input type="number" min=range.0 max=range.1 step="10"
                    data-testid=if is_width { "embed-width" } else { "embed-height" }
                    prop:value=value
                    on:change=move |ev| match parse_size(field, &event_target_value(&ev), range) {
                        Ok(v) => {
                            problem.set(None);
                            options.update(|o| if is_width { o.width = v } else { o.height = v });
                        }
                        Err(m) => { problem.set(Some(m)); options.update(|_| {}); }
                    } />
                " px"
            </label>
        }
    };
    let panel = move || {
        open.get().then(|| {
            let family = experiment.with_untracked(|e| e.family);
            let boxes = controls(family)
                .into_iter()
                .map(|(name, label)| {
                    let checked = move || options.with(|o| o.shown.iter().any(|s| s == name));
                    view! {
                        <label class="embed-control">
                            <input type="checkbox" data-testid=format!("embed-show-{name}") prop:checked=checked
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    options.update(|o| {
                                        o.shown.retain(|s| s != name);
                                        if on { o.shown.push(name.to_string()) }
                                    });
                                } />
                            {label}
                        </label>
                    }
                })
                .collect_view();
            view! {
                <section class="embed-builder" data-testid="embed-builder" aria-label="Embed this experiment">
                    <h2>"Embed this experiment in a course page"</h2>
                    <fieldset>
                        <legend>"Controls the students keep (none: the charts alone)"</legend>
                        <div class="embed-controls">{boxes}</div>
                    </fieldset>
                    <div class="embed-options">
                        {size_input("Width", WIDTH_RANGE, true)}
                        {size_input("Height", HEIGHT_RANGE, false)}
                        <label class="inline"><input type="checkbox" data-testid="embed-autoplay"
                            prop:checked=move || options.with(|o| o.autoplay)
                            on:change=move |ev| options.update(|o| o.autoplay = event_target_checked(&ev)) />" Train on load"</label>
                        <label class="inline"><input type="checkbox" data-testid="embed-text"
                            prop:checked=move || options.with(|o| o.text)
                            on:change=move |ev| options.update(|o| o.text = event_target_checked(&ev)) />" Explanations and lesson text"</label>
                    </div>
                    {move || problem.get().map(|p| view! { <p class="field-problem" role="alert" data-testid="embed-problem">{p}</p> })}
                    <label class="snippet">"Snippet for the course page"
                        <textarea readonly rows="3" data-testid="embed-snippet" prop:value=snippet></textarea>
                    </label>
                    <div class="embed-actions">
                        <button data-testid="embed-copy-snippet" on:click=move |_| {
                            copied.set(if copy_to_clipboard(&snippet()) { "snippet copied" } else { "select the snippet and copy it" })
                        }>"Copy snippet"</button>
                        <button data-testid="embed-copy-link" on:click=move |_| {
                            copied.set(if copy_to_clipboard(&link()) { "link copied" } else { "select the link and copy it" })
                        }>"Copy link"</button>
                        <a data-testid="embed-link" href=link target="_blank" rel="noopener">"Open the embedded view ↗"</a>
                        <span class="copied" aria-live="polite">{move || copied.get()}</span>
                    </div>
                    <p class="note">"Live preview (it trains when Train on load is on):"</p>
                    <iframe data-testid="embed-preview" title="Preview of the embedded playground" src=link
                        width=move || options.with(|o| o.width) height=move || options.with(|o| o.height)
                        style="border:1px solid var(--line);max-width:100%"></iframe>
                </section>
            }
        })
    };
    view! {
        <button data-testid="embed-this" aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)>
            {move || if open.get() { "Close the embed builder" } else { "Embed this" }}
        </button>
        {panel}
    }
}
