//! The playground's charts, drawn with plotters on a `<canvas>`. Each is one `draw_*` function
//! of the data; legends are HTML beside them. Colours suit light and dark pages alike.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};

use plotters::coord::types::RangedCoordf64;

use crate::experiment::palette;
use crate::experiment::protocol::FitCurves;

/// One colour per run, in order ([`palette::RUN_RGB`]: apart under red–green colour
/// blindness; each run also has its own dash pattern, [`palette::RUN_DASHES`]).
pub const RUN_COLORS: [RGBColor; 4] = {
    let c = palette::RUN_RGB;
    [
        RGBColor(c[0].0, c[0].1, c[0].2),
        RGBColor(c[1].0, c[1].1, c[1].2),
        RGBColor(c[2].0, c[2].1, c[2].2),
        RGBColor(c[3].0, c[3].1, c[3].2),
    ]
};

/// Run `i`'s dash pattern.
pub fn run_dash(i: usize) -> Option<(u32, u32)> {
    palette::RUN_DASHES[i % palette::RUN_DASHES.len()]
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Draws `line` solid, or dashed with `dash` = `(dash, gap)` CSS pixels.
pub(crate) fn draw_line<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    line: Vec<(f64, f64)>,
    style: ShapeStyle,
    dash: Option<(u32, u32)>,
    scale: f64,
) -> Result<(), String> {
    match dash {
        None => chart.draw_series(LineSeries::new(line, style)).map(|_| ()),
        Some((d, g)) => chart
            .draw_series(DashedLineSeries::new(
                line,
                px(d as f64, scale),
                px(g as f64, scale),
                style,
            ))
            .map(|_| ()),
    }
    .map_err(|e| e.to_string())
}
/// Axis and label colour, readable on light and dark backgrounds.
pub(crate) const INK: RGBColor = RGBColor(128, 128, 128);
/// Colour of the true function.
const TRUTH: RGBColor = RGBColor(150, 150, 150);
/// Fill of the support points (ringed in white, visible on light and dark pages).
const POINT: RGBColor = RGBColor(20, 20, 20);

/// The run colour as CSS.
pub fn css_color(i: usize) -> String {
    let RGBColor(r, g, b) = RUN_COLORS[i % RUN_COLORS.len()];
    format!("rgb({r},{g},{b})")
}

pub(crate) fn clear(canvas: &HtmlCanvasElement) {
    if let Ok(Some(ctx)) = canvas.get_context("2d") {
        if let Ok(ctx) = ctx.dyn_into::<CanvasRenderingContext2d>() {
            ctx.clear_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
        }
    }
}

pub(crate) fn label_style(scale: f64) -> TextStyle<'static> {
    ("sans-serif", 13.0 * scale).into_font().color(&INK)
}

/// Sizes the canvas's pixel buffer to its displayed width times the device pixel ratio (height
/// from `aspect` = height / width), so text and lines stay crisp and legible at any width.
/// Returns the number of canvas pixels per CSS pixel.
pub fn fit_to_display(canvas: &HtmlCanvasElement, aspect: f64) -> f64 {
    let css_width = canvas.client_width();
    // narrow (phone, small iframe): taller, so the curves keep some height
    let aspect = if css_width > 0 && css_width < 500 {
        aspect * 1.5
    } else {
        aspect
    };
    if css_width <= 0 {
        return canvas.width() as f64 / 720.0;
    }
    let dpr = web_sys::window()
        .map(|w| w.device_pixel_ratio())
        .unwrap_or(1.0)
        .clamp(1.0, 3.0);
    let width = (css_width as f64 * dpr).round() as u32;
    let height = (css_width as f64 * aspect * dpr).round() as u32;
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    dpr
}

/// True when the reader asked the system for less motion (`prefers-reduced-motion: reduce`).
pub fn prefers_reduced_motion() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}

/// Marks the page's first drawn chart (`performance.mark("metaplay-first-chart")`, once): the
/// end-to-end test sums the bytes fetched before it (the first load, issue 16).
pub fn mark_first_chart() {
    use std::sync::atomic::{AtomicBool, Ordering};
    static MARKED: AtomicBool = AtomicBool::new(false);
    if !MARKED.swap(true, Ordering::Relaxed) {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark("metaplay-first-chart");
        }
    }
}

/// Charts that move while training redraw at most ten times a second (the workers report
/// every ~50 ms each, and the main thread shares the cores with them), at most once a second
/// for a reader who asked for less motion ([`prefers_reduced_motion`]); always when training
/// is not going on.
#[derive(Clone, Copy)]
pub struct MotionThrottle {
    reduced: bool,
    last: leptos::prelude::StoredValue<f64>,
}

impl MotionThrottle {
    /// Reads the preference once.
    pub fn new() -> Self {
        Self {
            reduced: prefers_reduced_motion(),
            last: leptos::prelude::StoredValue::new(f64::NEG_INFINITY),
        }
    }

    /// True when this redraw should be skipped.
    pub fn skip(&self, playing: bool) -> bool {
        use leptos::prelude::{GetValue, SetValue};
        let now = js_sys::Date::now();
        let interval = if self.reduced { 1000.0 } else { 100.0 };
        if playing && now - self.last.get_value() < interval {
            return true;
        }
        self.last.set_value(now);
        false
    }
}

impl Default for MotionThrottle {
    fn default() -> Self {
        Self::new()
    }
}

/// True when the chart is under 500 CSS pixels wide.
pub(crate) fn narrow<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    scale: f64,
) -> bool {
    (root.dim_in_pixel().0 as f64 / scale) < 500.0
}

/// `v` CSS pixels in canvas pixels.
pub(crate) fn px(v: f64, scale: f64) -> u32 {
    (v * scale).round().max(1.0) as u32
}

/// One run's curves on the meta-loss chart.
pub struct LossSeries<'a> {
    /// Colour.
    pub color: RGBColor,
    /// Dash pattern of the training line ([`run_dash`]; `None`: solid).
    pub dash: Option<(u32, u32)>,
    /// `(iteration, meta-training loss)`.
    pub train: &'a [(usize, f64)],
    /// `(iteration, validation loss after adaptation)`.
    pub validation: &'a [(usize, f64)],
}

/// Meta-training loss (line) and validation loss (dots joined by a thin line) against the
/// iteration, on a linear or log10 scale.
pub fn draw_loss(
    canvas: HtmlCanvasElement,
    scale: f64,
    series: &[LossSeries<'_>],
    log: bool,
    max_iter: usize,
    y_desc: &str,
) -> Result<(), String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let tf = move |v: f64| if log { v.max(1e-8).log10() } else { v };
    let values: Vec<f64> = series
        .iter()
        .flat_map(|s| s.train.iter().chain(s.validation).map(|p| tf(p.1)))
        .filter(|v| v.is_finite())
        .collect();
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() || !hi.is_finite() {
        (lo, hi) = if log { (-1.0, 1.0) } else { (0.0, 5.0) };
    }
    if !log {
        lo = lo.min(0.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0, scale))
        .margin_right(px(24.0, scale))
        .x_label_area_size(px(34.0, scale))
        .y_label_area_size(px(52.0, scale))
        .build_cartesian_2d(0f64..max_iter.max(1) as f64, (lo - pad)..(hi + pad))
        .map_err(|e| e.to_string())?;
    let y_fmt = move |v: &f64| {
        if log {
            format!("{:.2}", 10f64.powf(*v))
        } else {
            format!("{v:.2}")
        }
    };
    let x_fmt = |v: &f64| format!("{v:.0}");
    chart
        .configure_mesh()
        .axis_style(INK)
        .bold_line_style(INK.mix(0.25))
        .light_line_style(INK.mix(0.08))
        .label_style(label_style(scale))
        .x_desc("iteration")
        .y_desc(if log {
            format!("{y_desc} (log scale)")
        } else {
            y_desc.to_string()
        })
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(if narrow(&root, scale) { 3 } else { 6 })
        .y_labels(6)
        .draw()
        .map_err(|e| e.to_string())?;
    for s in series {
        let line: Vec<(f64, f64)> = s
            .train
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(i, v)| (i as f64, tf(v)))
            .collect();
        if line.len() < 30 {
            // few points (single steps): show each one
            chart
                .draw_series(
                    line.iter()
                        .map(|&p| Circle::new(p, px(2.5, scale), s.color.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        draw_line(
            &mut chart,
            line,
            s.color.stroke_width(px(2.0, scale)),
            s.dash,
            scale,
        )?;
        let val: Vec<(f64, f64)> = s
            .validation
            .iter()
            .filter(|p| p.1.is_finite())
            .map(|&(i, v)| (i as f64, tf(v)))
            .collect();
        chart
            .draw_series(LineSeries::new(
                val.clone(),
                s.color.mix(0.6).stroke_width(px(1.0, scale)),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(
                val.into_iter()
                    .map(|p| Circle::new(p, px(3.0, scale), s.color.mix(0.9).filled())),
            )
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Where the plotting area of the fit chart lies on the canvas, to turn clicks into data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlotArea {
    /// Canvas x pixels of the left and right ends of `x`.
    pub px: (i32, i32),
    /// Canvas y pixels of the top (y = `Y_MAX`) and bottom (y = −`Y_MAX`).
    pub py: (i32, i32),
    /// The input interval shown, in data units (the task family's input range).
    pub x: (f64, f64),
}

/// Half the height of the fit chart in data units (amplitudes reach 5).
pub const Y_MAX: f64 = 6.0;

impl PlotArea {
    /// Canvas pixel → data coordinates.
    pub fn to_data(&self, x: f64, y: f64) -> (f64, f64) {
        let fx = (x - self.px.0 as f64) / (self.px.1 - self.px.0).max(1) as f64;
        let fy = (y - self.py.0 as f64) / (self.py.1 - self.py.0).max(1) as f64;
        (
            self.x.0 + (self.x.1 - self.x.0) * fx,
            Y_MAX - 2.0 * Y_MAX * fy,
        )
    }

    /// Data → canvas pixel coordinates.
    pub fn to_pixel(&self, x: f64, y: f64) -> (f64, f64) {
        let fx = (x - self.x.0) / (self.x.1 - self.x.0);
        let fy = (Y_MAX - y) / (2.0 * Y_MAX);
        (
            self.px.0 as f64 + fx * (self.px.1 - self.px.0) as f64,
            self.py.0 as f64 + fy * (self.py.1 - self.py.0) as f64,
        )
    }
}

/// The outline of `mean ± 2·std` over `grid` (upper edge left to right, lower edge back),
/// skipping points that are not finite.
fn band(grid: &[f64], mean: &[f64], std: &[f64], clip: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let ok: Vec<(f64, f64, f64)> = grid
        .iter()
        .zip(mean.iter().zip(std))
        .filter(|(_, (m, s))| m.is_finite() && s.is_finite())
        .map(|(&x, (&m, &s))| (x, m, s))
        .collect();
    let upper = ok.iter().map(|&(x, m, s)| (x, clip(m + 2.0 * s)));
    let lower = ok.iter().rev().map(|&(x, m, s)| (x, clip(m - 2.0 * s)));
    upper.chain(lower).collect()
}

/// The few-shot fit on the input interval `x`: the true function, the support points, and per
/// run the prediction before adaptation (faint), after one step (thin) and after N steps (thick);
/// a run that predicts a standard deviation (a neural process) gets its ±2σ band shaded.
pub fn draw_fit(
    canvas: HtmlCanvasElement,
    scale: f64,
    x: (f64, f64),
    truth: &[(f64, f64)],
    points: &[(f64, f64)],
    grid: &[f64],
    runs: &[FitCurves],
) -> Result<PlotArea, String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0, scale))
        .margin_right(px(24.0, scale))
        .x_label_area_size(px(30.0, scale))
        .y_label_area_size(px(36.0, scale))
        .build_cartesian_2d(x.0..x.1, -Y_MAX..Y_MAX)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .axis_style(INK)
        .bold_line_style(INK.mix(0.25))
        .light_line_style(INK.mix(0.08))
        .label_style(label_style(scale))
        .x_labels(if narrow(&root, scale) { 6 } else { 11 })
        .y_labels(7)
        .draw()
        .map_err(|e| e.to_string())?;
    let clip = |v: f64| v.clamp(-2.0 * Y_MAX, 2.0 * Y_MAX);
    chart
        .draw_series(LineSeries::new(
            truth.iter().copied(),
            TRUTH.stroke_width(px(3.0, scale)),
        ))
        .map_err(|e| e.to_string())?;
    for (i, c) in runs.iter().enumerate() {
        let color = RUN_COLORS[i % RUN_COLORS.len()];
        let line = |ys: &[f64]| {
            grid.iter()
                .zip(ys)
                .filter(|p| p.1.is_finite())
                .map(|(&x, &y)| (x, clip(y)))
                .collect::<Vec<_>>()
        };
        if c.std.len() == c.many.len() && !c.std.is_empty() {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    band(grid, &c.many, &c.std, clip),
                    color.mix(0.18).filled(),
                )))
                .map_err(|e| e.to_string())?;
        }
        chart
            .draw_series(LineSeries::new(
                line(&c.before),
                color.mix(0.35).stroke_width(px(1.0, scale)),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                line(&c.one),
                color.mix(0.7).stroke_width(px(1.0, scale)),
            ))
            .map_err(|e| e.to_string())?;
        draw_line(
            &mut chart,
            line(&c.many),
            color.stroke_width(px(3.0, scale)),
            run_dash(i),
            scale,
        )?;
    }
    chart
        .draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, px(6.0, scale), POINT.filled())),
        )
        .map_err(|e| e.to_string())?;
    chart
        .draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, px(6.0, scale), WHITE.stroke_width(px(2.0, scale)))),
        )
        .map_err(|e| e.to_string())?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    root.present().map_err(|e| e.to_string())?;
    Ok(PlotArea {
        px: (px.start, px.end),
        py: (py.start, py.end),
        x,
    })
}
