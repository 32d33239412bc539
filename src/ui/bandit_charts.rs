//! The bandit view's charts: cumulative regret against pulls (mean with a ±2 standard-error
//! band) for every policy, and one bandit's arm means with each policy's share of pulls.

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use web_sys::HtmlCanvasElement;

use super::charts::{clear, label_style, narrow, px, INK};
use crate::engine::bandit::PolicyReport;

/// The colour of a policy, by its name (the agents, `agent-…`, are blue and drawn thicker;
/// a name not listed is slate).
pub fn policy_color(name: &str) -> RGBColor {
    match name {
        "random" => RGBColor(148, 163, 184),
        "greedy" => RGBColor(234, 179, 8),
        "eps-greedy" => RGBColor(234, 88, 12),
        "ucb1" => RGBColor(22, 163, 74),
        "thompson" => RGBColor(192, 38, 211),
        "ots" => RGBColor(236, 72, 153),
        "gittins" => RGBColor(13, 148, 136),
        "bayes-optimal" => RGBColor(153, 27, 27),
        n if is_agent(n) => AGENT_COLOR,
        _ => RGBColor(100, 116, 139),
    }
}

/// The trained agent's colour.
pub const AGENT_COLOR: RGBColor = RGBColor(37, 99, 235);

/// True for the trained agent's reports (`agent-maml`, `agent-rl2`, …).
pub fn is_agent(name: &str) -> bool {
    name.starts_with("agent-")
}

/// The policy colour as CSS.
pub fn policy_css(name: &str) -> String {
    let RGBColor(r, g, b) = policy_color(name);
    format!("rgb({r},{g},{b})")
}

/// The axes of a cumulative-regret chart: pulls `0..=pulls` across (labelled `x_desc`), regret
/// `0..=1.05·hi` up.
pub fn regret_axes<'a>(
    root: &'a DrawingArea<CanvasBackend, Shift>,
    scale: f64,
    pulls: usize,
    hi: f64,
    x_desc: &str,
) -> Result<ChartContext<'a, CanvasBackend, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let mut chart = ChartBuilder::on(root)
        .margin(px(12.0, scale))
        .margin_right(px(24.0, scale))
        .x_label_area_size(px(34.0, scale))
        .y_label_area_size(px(52.0, scale))
        .build_cartesian_2d(0f64..pulls.max(1) as f64, 0f64..hi * 1.05)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .axis_style(INK)
        .bold_line_style(INK.mix(0.25))
        .light_line_style(INK.mix(0.08))
        .label_style(label_style(scale))
        .x_desc(x_desc)
        .y_desc("cumulative regret")
        .x_labels(if narrow(root, scale) { 4 } else { 8 })
        .y_labels(6)
        .x_label_formatter(&|v: &f64| format!("{v:.0}"))
        .y_label_formatter(&|v: &f64| format!("{v:.1}"))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(chart)
}

/// Cumulative regret against pulls: a line per policy and a shaded ±2 SE band.
pub fn draw_regret(
    canvas: HtmlCanvasElement,
    scale: f64,
    reports: &[PolicyReport],
    pulls: usize,
) -> Result<(), String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let hi = reports
        .iter()
        .flat_map(|r| {
            r.regret_mean
                .iter()
                .zip(&r.regret_stderr)
                .map(|(m, s)| m + 2.0 * s)
        })
        .filter(|v| v.is_finite())
        .fold(1.0f64, f64::max);
    let mut chart = regret_axes(&root, scale, pulls, hi, "pulls")?;
    for r in reports {
        let color = policy_color(&r.policy);
        let xs: Vec<f64> = r.curve_pulls.iter().map(|&t| t as f64).collect();
        let upper = xs
            .iter()
            .zip(r.regret_mean.iter().zip(&r.regret_stderr))
            .map(|(&x, (m, s))| (x, m + 2.0 * s));
        let lower = xs
            .iter()
            .zip(r.regret_mean.iter().zip(&r.regret_stderr))
            .map(|(&x, (m, s))| (x, (m - 2.0 * s).max(0.0)))
            .rev();
        let band: Vec<(f64, f64)> = upper.chain(lower).collect();
        chart
            .draw_series(std::iter::once(Polygon::new(
                band,
                color.mix(0.18).filled(),
            )))
            .map_err(|e| e.to_string())?;
        let width = if is_agent(&r.policy) { 3.0 } else { 2.0 };
        chart
            .draw_series(LineSeries::new(
                xs.iter().copied().zip(r.regret_mean.iter().copied()),
                color.stroke_width(px(width, scale)),
            ))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// One bandit: per arm a group of bars, each policy's share of the pulls, and the arm's true
/// mean as a black tick across the group (both on the 0–1 axis); `names[p]` is the policy of
/// `usage[p]`.
pub fn draw_arms(
    canvas: HtmlCanvasElement,
    scale: f64,
    means: &[f64],
    usage: &[Vec<f64>],
    names: &[&str],
    pulls: usize,
) -> Result<(), String> {
    clear(&canvas);
    let backend =
        CanvasBackend::with_canvas_object(canvas).ok_or("the canvas has no 2d context")?;
    let root = backend.into_drawing_area();
    let k = means.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0, scale))
        .margin_right(px(24.0, scale))
        .x_label_area_size(px(34.0, scale))
        .y_label_area_size(px(52.0, scale))
        // arm a's group is centred on x = a, so the integer ticks label the groups
        .build_cartesian_2d(-0.5f64..k as f64 - 0.5, 0f64..1.0)
        .map_err(|e| e.to_string())?;
    let max_labels = if narrow(&root, scale) { 6 } else { 12 };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .axis_style(INK)
        .bold_line_style(INK.mix(0.25))
        .light_line_style(INK.mix(0.08))
        .label_style(label_style(scale))
        .x_desc("arm")
        .y_desc("share of pulls · arm mean")
        .x_labels(k.min(max_labels))
        .x_label_formatter(&|v: &f64| {
            // arms are numbered from 1; ticks between arms stay blank
            if v.fract() == 0.0 && *v >= 0.0 {
                format!("{}", *v as usize + 1)
            } else {
                String::new()
            }
        })
        .y_labels(6)
        .y_label_formatter(&|v: &f64| format!("{v:.1}"))
        .draw()
        .map_err(|e| e.to_string())?;
    let n = usage.len().max(1) as f64;
    let group = 0.84;
    let bar = group / n;
    for (p, counts) in usage.iter().enumerate() {
        let color = policy_color(names.get(p).copied().unwrap_or(""));
        chart
            .draw_series(counts.iter().enumerate().map(|(a, &c)| {
                let x0 = a as f64 - group / 2.0 + p as f64 * bar;
                let share = c / pulls.max(1) as f64;
                Rectangle::new([(x0, 0.0), (x0 + bar, share)], color.filled())
            }))
            .map_err(|e| e.to_string())?;
    }
    // white under black: the tick reads on light and dark pages
    for (color, width) in [(WHITE, 5.0), (BLACK, 2.5)] {
        chart
            .draw_series(means.iter().enumerate().map(|(a, &m)| {
                PathElement::new(
                    vec![(a as f64 - 0.46, m), (a as f64 + 0.46, m)],
                    color.stroke_width(px(width, scale)),
                )
            }))
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}
