//! The charts of "play it yourself": everyone's cumulative regret pull by pull on the student's
//! bandit, and a timeline of which arm each player pulled (one strip per player, one cell per
//! pull coloured by arm, a dark mark at its foot as tall as the reward).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::bandit_charts::{policy_color, regret_axes};
use super::charts::{clear, label_style, narrow, px, INK};
use crate::experiment::play::{PlayRow, YOU};

/// The student's colour (rows and lines): not one of the policies'.
pub const YOU_COLOR: RGBColor = RGBColor(225, 29, 72);

/// Ten arm colours (Tableau 10); more arms take hues around the circle.
const ARM_COLORS: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];

/// The colour of a results row by its player: the student's own, a policy's as in the regret
/// chart above.
pub fn row_color(player: &str) -> RGBColor {
    if player == YOU {
        YOU_COLOR
    } else {
        policy_color(player)
    }
}

/// [`row_color`] as CSS.
pub fn row_css(player: &str) -> String {
    css(row_color(player))
}

/// The colour of arm `a` of `k`.
pub fn arm_color(a: usize, k: usize) -> RGBColor {
    if k <= ARM_COLORS.len() {
        return ARM_COLORS[a.min(ARM_COLORS.len() - 1)];
    }
    let rgb = HSLColor(a as f64 / k as f64, 0.6, 0.5)
        .to_backend_color()
        .rgb;
    RGBColor(rgb.0, rgb.1, rgb.2)
}

/// [`arm_color`] as CSS.
pub fn arm_css(a: usize, k: usize) -> String {
    css(arm_color(a, k))
}

fn css(RGBColor(r, g, b): RGBColor) -> String {
    format!("rgb({r},{g},{b})")
}

/// Cumulative regret after each pull of every row (the student's thick, first).
pub fn draw_play_regret(
    canvas: HtmlCanvasElement,
    scale: f64,
    rows: &[PlayRow],
    pulls: usize,
) -> Result<(), String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let hi = rows
        .iter()
        .map(PlayRow::final_regret)
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let mut chart = regret_axes(&root, scale, pulls, hi, "pull")?;
    // the student last, on top
    for (i, row) in rows.iter().enumerate().rev() {
        let width = if i == 0 { 3.5 } else { 2.0 };
        let points = std::iter::once((0.0, 0.0)).chain(
            row.regret
                .iter()
                .enumerate()
                .map(|(t, &g)| ((t + 1) as f64, g)),
        );
        chart
            .draw_series(LineSeries::new(
                points,
                row_color(&row.policy).stroke_width(px(width, scale)),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Row height and gap of the timeline, and the axis below it, in CSS pixels.
const ROW: f64 = 20.0;
const GAP: f64 = 5.0;
const AXIS: f64 = 34.0;
const TOP: f64 = 6.0;

/// The CSS height of a timeline of `rows` rows.
pub fn timeline_height(rows: usize) -> f64 {
    TOP + rows as f64 * (ROW + GAP) + AXIS
}

/// Sizes the canvas's pixel buffer to its displayed width and `css_height` (times the device
/// pixel ratio); its CSS height follows from the buffer's aspect. Returns canvas pixels per
/// CSS pixel.
pub fn fit_height(canvas: &HtmlCanvasElement, css_height: f64) -> f64 {
    let css_width = canvas.client_width();
    if css_width <= 0 {
        return 1.0;
    }
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 3.0);
    let width = (css_width as f64 * dpr).round() as u32;
    let height = (css_height * dpr).round() as u32;
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    dpr
}

/// One strip per row: pull `t` is a cell coloured by the arm pulled, with a dark mark at its
/// foot as tall as the reward when the cells are wide enough to show it; `k` arms.
pub fn draw_timeline(
    canvas: HtmlCanvasElement,
    scale: f64,
    rows: &[PlayRow],
    k: usize,
    pulls: usize,
) -> Result<(), String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let (width, _) = root.dim_in_pixel();
    let s = |v: f64| v * scale;
    let label_w = if narrow(&root, scale) { 92.0 } else { 112.0 };
    let (x0, x1) = (s(label_w), width as f64 - s(14.0));
    let n = pulls.max(1) as f64;
    let x_of = |t: usize| x0 + (x1 - x0) * t as f64 / n;
    let cell = (x1 - x0) / n / scale;
    let err = |e: DrawingAreaErrorKind<_>| e.to_string();
    for (i, row) in rows.iter().enumerate() {
        let y0 = s(TOP + i as f64 * (ROW + GAP));
        let y1 = y0 + s(ROW);
        let font = if i == 0 {
            ("sans-serif", 13.0 * scale, FontStyle::Bold)
                .into_font()
                .color(&YOU_COLOR)
        } else {
            label_style(scale)
        };
        root.draw(&Text::new(
            row.policy.clone(),
            ((x0 - s(8.0)) as i32, ((y0 + y1) / 2.0) as i32),
            font.pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(err)?;
        let mut t = 0;
        for (arm, len) in row.runs() {
            root.draw(&Rectangle::new(
                [
                    (x_of(t) as i32, y0 as i32),
                    (x_of(t + len).ceil() as i32, y1 as i32),
                ],
                arm_color(arm, k).filled(),
            ))
            .map_err(err)?;
            t += len;
        }
        if cell >= 3.0 {
            for (t, &r) in row.rewards.iter().enumerate() {
                if r > 0.0 {
                    let h = s(ROW * 0.4) * r.min(1.0);
                    root.draw(&Rectangle::new(
                        [
                            ((x_of(t) + s(1.0)) as i32, (y1 - h) as i32),
                            ((x_of(t + 1) - s(1.0)).max(x_of(t) + 1.0) as i32, y1 as i32),
                        ],
                        RGBColor(15, 23, 42).mix(0.75).filled(),
                    ))
                    .map_err(err)?;
                }
            }
        }
    }
    // the pull axis: ticks at 0, a quarter, …, n
    let y = s(TOP + rows.len() as f64 * (ROW + GAP));
    root.draw(&PathElement::new(
        vec![(x0 as i32, y as i32), (x1 as i32, y as i32)],
        INK.stroke_width(px(1.0, scale)),
    ))
    .map_err(err)?;
    let mut ticks: Vec<usize> = (0..=4).map(|q| q * pulls / 4).collect();
    ticks.dedup();
    for t in ticks {
        let x = x_of(t) as i32;
        root.draw(&PathElement::new(
            vec![(x, y as i32), (x, (y + s(4.0)) as i32)],
            INK.stroke_width(px(1.0, scale)),
        ))
        .map_err(err)?;
        root.draw(&Text::new(
            t.to_string(),
            (x, (y + s(6.0)) as i32),
            label_style(scale).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(err)?;
    }
    root.draw(&Text::new(
        "pull".to_string(),
        ((x0 - s(8.0)) as i32, (y + s(6.0)) as i32),
        label_style(scale).pos(Pos::new(HPos::Right, VPos::Top)),
    ))
    .map_err(err)?;
    root.present().map_err(|e| e.to_string())
}
