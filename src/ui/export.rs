//! Export buttons: curves as CSV and JSON, every chart as PNG (files built in the page, no
//! request leaves it).

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, HtmlCanvasElement, Url};

use crate::engine::bandit::PolicyReport;
use crate::experiment::export::{to_csv, to_json, Curves};
use crate::experiment::state::Experiment;

fn click_download(href: &str, name: &str) -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(href);
    a.set_download(name);
    a.click();
    Ok(())
}

/// Downloads `text` as a file `name` of type `mime`.
pub fn download_text(name: &str, mime: &str, text: &str) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let result = click_download(&url, name);
    Url::revoke_object_url(&url)?;
    result
}

/// Downloads `bytes` as a file `name`.
pub fn download_bytes(name: &str, mime: &str, bytes: &[u8]) -> Result<(), JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let result = click_download(&url, name);
    Url::revoke_object_url(&url)?;
    result
}

/// Downloads every chart on the page as `metaplay-<chart>.png`.
pub fn download_charts() -> Result<usize, JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let canvases = document.query_selector_all("canvas[data-testid]")?;
    for i in 0..canvases.length() {
        let Some(node) = canvases.item(i) else {
            continue;
        };
        let canvas: HtmlCanvasElement = node.dyn_into()?;
        let name = canvas
            .get_attribute("data-testid")
            .unwrap_or_else(|| format!("chart-{i}"));
        click_download(&canvas.to_data_url()?, &format!("metaplay-{name}.png"))?;
    }
    Ok(canvases.length() as usize)
}

/// The export buttons.
#[component]
pub fn ExportBar(
    /// The experiment as the link has it.
    experiment: Memo<Experiment>,
    /// Logged meta-training points per run.
    train: RwSignal<Vec<Vec<(usize, f64)>>>,
    /// Logged validation points per run.
    validation: RwSignal<Vec<Vec<(usize, f64)>>>,
    /// The latest bandit evaluation (bandit view).
    bandit: Signal<Option<Vec<PolicyReport>>>,
    /// Where to report a failure.
    error: RwSignal<Option<String>>,
    /// Asks the worker for the meta-parameters file.
    on_export_params: Callback<()>,
    /// Hands an uploaded parameter file to the worker.
    on_import_params: Callback<Vec<u8>>,
) -> impl IntoView {
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let max = crate::experiment::params_file::MAX_FILE_BYTES as f64;
        if file.size() > max {
            error.set(Some(format!(
                "parameter file rejected: {} bytes; at most {max} are accepted",
                file.size()
            )));
            return;
        }
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buffer) => on_import_params.run(js_sys::Uint8Array::new(&buffer).to_vec()),
                Err(e) => error.set(Some(format!("cannot read the file: {e:?}"))),
            }
        });
    };
    let export = move |json: bool| {
        let e = experiment.get_untracked();
        let reports = bandit.get_untracked();
        let result = train.with_untracked(|t| {
            validation.with_untracked(|v| {
                let c = Curves {
                    train: t,
                    validation: v,
                    bandit: reports.as_deref(),
                };
                if json {
                    let text = serde_json::to_string_pretty(&to_json(&e, &c)).unwrap_or_default();
                    download_text("metaplay-curves.json", "application/json", &text)
                } else {
                    download_text("metaplay-curves.csv", "text/csv", &to_csv(&e, &c))
                }
            })
        });
        if let Err(err) = result {
            error.set(Some(format!("export failed: {err:?}")));
        }
    };
    view! {
        <div class="export" aria-label="Export">
            "Export: "
            <button data-testid="export-csv" on:click=move |_| export(false)>"CSV"</button>
            <button data-testid="export-json" on:click=move |_| export(true)>"JSON"</button>
            <button data-testid="export-png" on:click=move |_| {
                if let Err(err) = download_charts() { error.set(Some(format!("export failed: {err:?}"))) }
            }>"Charts (PNG)"</button>
            <button data-testid="export-params" on:click=move |_| on_export_params.run(())>"Parameters (safetensors)"</button>
            <label class="import">"Import parameters "
                <input type="file" accept=".safetensors" data-testid="import-params" on:change=on_file />
            </label>
        </div>
    }
}
