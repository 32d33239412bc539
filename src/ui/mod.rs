//! The playground page (Leptos, client-side rendered). It talks to the training worker only
//! through [`crate::experiment::protocol`] messages.

pub mod app;
pub mod bandit_charts;
pub mod bandit_view;
pub mod charts;
pub mod controls;
pub mod embed_builder;
pub mod explain;
pub mod export;
pub mod fit_chart;
pub mod gradient_check;
pub mod lesson;
pub mod loss_chart;
pub mod notices;
pub mod play_bandit;
pub mod play_charts;
pub mod run_list;
pub mod share;
pub mod sine_view;
pub mod status_bar;
pub mod training;
pub mod worker_build;

/// Shows `message` in the error banner by writing to the DOM directly, so it works even after
/// a panic has left the reactive system unusable.
pub fn show_error(message: &str) {
    let banner = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("error-banner"));
    if let Some(el) = banner {
        el.set_text_content(Some(message));
        let _ = el.remove_attribute("hidden");
    }
}

/// Entry point of the page: a panic hook that logs and shows the banner, then the app.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_error(&format!(
            "Metaplay hit an internal error and stopped: {info}. Reload the page to start again."
        ));
    }));
    leptos::mount::mount_to_body(app::App);
}
