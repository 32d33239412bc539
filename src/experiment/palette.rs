//! The run colours and line patterns of every chart, chosen so that colour is not the only cue:
//! each run has its own dash pattern, and the colours stay apart under deuteranopia and
//! protanopia (simulated with Machado et al. 2009; `tests/palette.rs` checks the distances)
//! with a 3:1-ish contrast on the light and the dark page.

/// One colour per run (sRGB), in order: blue, orange, salmon red, pink-purple (from Tol's and
/// Okabe–Ito's colour-blind-safe sets).
pub const RUN_RGB: [(u8, u8, u8); 4] = [
    (0, 119, 187),
    (199, 116, 0),
    (238, 102, 119),
    (204, 121, 167),
];

/// One dash pattern per run: `(dash, gap)` in CSS pixels, `None` for a solid line.
pub const RUN_DASHES: [Option<(u32, u32)>; 4] = [None, Some((9, 5)), Some((2, 5)), Some((18, 5))];

/// Names of the patterns, for legends and text alternatives.
pub const RUN_PATTERN_NAMES: [&str; 4] = ["solid", "dashed", "dotted", "long-dashed"];

/// The SVG/CSS `stroke-dasharray` of run `i` (`none` for solid).
pub fn dasharray(i: usize) -> String {
    match RUN_DASHES[i % RUN_DASHES.len()] {
        None => "none".into(),
        Some((dash, gap)) => format!("{dash} {gap}"),
    }
}
