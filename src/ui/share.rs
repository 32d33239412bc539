//! The link: reading the experiment from the page URL, writing it back as settings change
//! (without reloading), copying it, and the presets menu.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;

use crate::experiment::presets::PRESETS;
use crate::experiment::state::Experiment;
use crate::experiment::url;

/// The experiment in the page URL and the problems found in it.
pub fn read_link() -> (Experiment, Vec<String>) {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    url::decode(&search)
}

/// Replaces the URL's query string with `query` (no reload, no new history entry).
pub fn write_link(query: &str) {
    if let Some(w) = web_sys::window() {
        if let Ok(history) = w.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("?{query}")));
        }
    }
}

/// The page's address with `query`.
pub fn link_for(query: &str) -> String {
    let base = web_sys::window()
        .and_then(|w| {
            let l = w.location();
            Some(format!("{}{}", l.origin().ok()?, l.pathname().ok()?))
        })
        .unwrap_or_default();
    format!("{base}?{query}")
}

/// Starts copying `text` with the asynchronous clipboard API; false when the API is missing
/// (insecure context, old browser), so the caller can fall back to a selected text field.
pub fn copy_to_clipboard(text: &str) -> bool {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return false;
    };
    let clipboard =
        js_sys::Reflect::get(&navigator, &"clipboard".into()).unwrap_or(JsValue::UNDEFINED);
    if clipboard.is_undefined() || clipboard.is_null() {
        return false;
    }
    let write = js_sys::Reflect::get(&clipboard, &"writeText".into()).unwrap_or(JsValue::UNDEFINED);
    match write.dyn_into::<js_sys::Function>() {
        Ok(f) => f.call1(&clipboard, &text.into()).is_ok(),
        Err(_) => false,
    }
}

/// "Copy link", the link itself in a text field (selected, as the fallback), and the presets.
#[component]
pub fn ShareBar(
    /// The current query string.
    query: Memo<String>,
    /// Called with a preset's query string.
    on_preset: Callback<String>,
) -> impl IntoView {
    let copied = RwSignal::new(None::<bool>);
    let field = NodeRef::<leptos::html::Input>::new();
    let copy = move |_| {
        let link = link_for(&query.get_untracked());
        let ok = copy_to_clipboard(&link);
        copied.set(Some(ok));
        if let Some(input) = field.get() {
            input.set_value(&link);
            if !ok {
                let _ = input.focus();
                input.select();
            }
        }
    };
    view! {
        <div class="share" aria-label="Share">
            <button data-testid="copy-link" on:click=copy>"Copy link"</button>
            <input node_ref=field type="text" readonly data-testid="share-url" aria-label="Link to this experiment"
                prop:value=move || link_for(&query.get()) on:focus=move |ev| {
                    if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) { t.select() }
                } />
            <span class="copied" data-testid="copy-status" aria-live="polite">{move || match copied.get() {
                Some(true) => "copied",
                Some(false) => "select and copy the link",
                None => "",
            }}</span>
            <label class="inline">"Preset "
                <select data-testid="presets" on:change=move |ev| {
                    let id = event_target_value(&ev);
                    if let Some((_, _, q)) = PRESETS.iter().find(|p| p.0 == id) { on_preset.run(q.to_string()) }
                }>
                    <option value="" selected>"choose…"</option>
                    {PRESETS.iter().map(|(id, title, _)| view! { <option value=*id>{*title}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}
