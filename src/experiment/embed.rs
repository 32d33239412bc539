//! The embed builder's model: which controls an `<iframe>` of the playground keeps, its size,
//! autoplay and the explanations, turned into the embedded link and the `<iframe>` snippet an
//! instructor pastes into a course page.

use crate::experiment::schema::{BANDIT, SINE};
use crate::experiment::state::{Experiment, Family};
use crate::experiment::url;

/// Accepted iframe widths (CSS pixels).
pub const WIDTH_RANGE: (u32, u32) = (320, 1920);
/// Accepted iframe heights (CSS pixels).
pub const HEIGHT_RANGE: (u32, u32) = (300, 2400);

/// What the instructor chose.
#[derive(Clone, Debug, PartialEq)]
pub struct EmbedOptions {
    /// Controls that stay visible (their `control-<name>` names); none: the charts alone.
    pub shown: Vec<String>,
    /// Width (CSS pixels).
    pub width: u32,
    /// Height (CSS pixels).
    pub height: u32,
    /// Start training on load.
    pub autoplay: bool,
    /// The one-line explanations and the lesson text.
    pub text: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            shown: Vec::new(),
            width: 800,
            height: 660,
            autoplay: true,
            text: true,
        }
    }
}

/// The controls of the charts of the sine view (beside the settings panel's).
pub const SINE_VIEW_CONTROLS: [(&str, &str); 2] = [
    ("fit-steps", "N steps (fit chart)"),
    ("log-scale", "Log scale (meta-loss)"),
];

/// The controls of `family`'s settings panel and charts: `(control name, label)`, in page
/// order.
pub fn controls(family: Family) -> Vec<(&'static str, &'static str)> {
    match family {
        Family::Sine => SINE
            .iter()
            .map(|s| (s.control, s.label))
            .chain(SINE_VIEW_CONTROLS)
            .collect(),
        Family::Bandit => BANDIT.iter().map(|s| (s.control, s.label)).collect(),
    }
}

/// Reads a size field: a whole number in `range`, or a message naming the field and the range.
pub fn parse_size(field: &str, text: &str, range: (u32, u32)) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(v) if (range.0..=range.1).contains(&v) => Ok(v),
        _ => Err(format!(
            "{field}: '{}' is not a whole number of pixels from {} to {}",
            text.trim(),
            range.0,
            range.1
        )),
    }
}

/// The embedded experiment: `e` in embed mode with `options`' controls, autoplay and text.
/// Without shown controls the embed shows no settings panel; with some, `hide=` lists every
/// other control of the family.
pub fn embedded(e: &Experiment, options: &EmbedOptions) -> Experiment {
    let mut e = e.clone();
    e.view.embed = true;
    e.view.autoplay = options.autoplay;
    e.view.text = options.text;
    e.view.hide = if options.shown.is_empty() {
        Vec::new()
    } else {
        controls(e.family)
            .into_iter()
            .map(|(name, _)| name)
            .filter(|name| !options.shown.iter().any(|s| s == name))
            .map(String::from)
            .collect()
    };
    e.view.controls = !options.shown.is_empty();
    e
}

/// The embedded link's query string.
pub fn embed_query(e: &Experiment, options: &EmbedOptions) -> String {
    url::encode(&embedded(e, options))
}

/// `s` safe inside a double-quoted HTML attribute.
pub fn attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The `<iframe>` snippet for the page at `src` (an absolute link).
pub fn iframe_snippet(src: &str, options: &EmbedOptions, title: &str) -> String {
    format!(
        r#"<iframe src="{}" width="{}" height="{}" title="{}" style="border:0;max-width:100%" loading="lazy"></iframe>"#,
        attribute(src),
        options.width,
        options.height,
        attribute(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::url::decode;

    #[test]
    fn the_embedded_link_keeps_exactly_the_chosen_controls() {
        let e = Experiment::default();
        let options = EmbedOptions {
            shown: vec!["k".into(), "inner-lr".into()],
            autoplay: false,
            text: false,
            ..EmbedOptions::default()
        };
        let (back, problems) = decode(&embed_query(&e, &options));
        assert!(problems.is_empty(), "{problems:?}");
        assert!(back.view.embed && back.view.controls);
        assert!(!back.view.autoplay && !back.view.text);
        let all = controls(Family::Sine);
        assert_eq!(back.view.hide.len(), all.len() - 2);
        assert!(!back.view.hide.iter().any(|h| h == "k" || h == "inner-lr"));
        assert_eq!(back.runs, e.runs);
    }

    #[test]
    fn no_chosen_control_means_the_charts_alone() {
        let back = embedded(&Experiment::default(), &EmbedOptions::default());
        assert!(back.view.hide.is_empty() && !back.view.controls && back.view.autoplay);
    }

    #[test]
    fn the_snippet_escapes_the_link_and_sizes_are_checked() {
        let s = iframe_snippet(
            "https://x/?a=1&b=\"2\"",
            &EmbedOptions::default(),
            "MAML <demo>",
        );
        assert!(
            s.starts_with(
                r#"<iframe src="https://x/?a=1&amp;b=&quot;2&quot;" width="800" height="660""#
            ),
            "{s}"
        );
        assert!(s.contains(r#"title="MAML &lt;demo&gt;""#), "{s}");
        assert_eq!(parse_size("Width", " 640 ", WIDTH_RANGE), Ok(640));
        let e = parse_size("Width", "99999", WIDTH_RANGE).unwrap_err();
        assert!(e.contains("Width") && e.contains("320 to 1920"), "{e}");
    }
}
