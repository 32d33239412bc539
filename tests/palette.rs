//! The run colours stay apart for readers with red–green colour blindness and keep contrast on
//! the light and the dark page; each run also has its own dash pattern.

use metaplay::experiment::palette::{dasharray, RUN_DASHES, RUN_RGB};

/// sRGB channel to linear light.
fn linear(c: u8) -> f64 {
    let c = c as f64 / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn luminance(rgb: [f64; 3]) -> f64 {
    0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]
}

/// CIE L*a*b* (D65) of linear RGB.
fn lab(rgb: [f64; 3]) -> [f64; 3] {
    let [r, g, b] = rgb;
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    [
        116.0 * f(y) - 16.0,
        500.0 * (f(x) - f(y)),
        200.0 * (f(y) - f(z)),
    ]
}

/// Machado, Oliveira, Fernandes 2009, severity 1.0, in linear RGB.
const DEUTERANOPIA: [[f64; 3]; 3] = [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.011820, 0.042940, 0.968881],
];
const PROTANOPIA: [[f64; 3]; 3] = [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
];
const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

fn seen(rgb: (u8, u8, u8), m: &[[f64; 3]; 3]) -> [f64; 3] {
    let l = [linear(rgb.0), linear(rgb.1), linear(rgb.2)];
    let row = |i: usize| (m[i][0] * l[0] + m[i][1] * l[1] + m[i][2] * l[2]).clamp(0.0, 1.0);
    [row(0), row(1), row(2)]
}

fn delta_e(a: [f64; 3], b: [f64; 3]) -> f64 {
    let (a, b) = (lab(a), lab(b));
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

#[test]
fn run_colours_are_apart_in_normal_and_red_green_colour_blind_vision() {
    for (name, m) in [
        ("normal", IDENTITY),
        ("deuteranopia", DEUTERANOPIA),
        ("protanopia", PROTANOPIA),
    ] {
        for (i, &a) in RUN_RGB.iter().enumerate() {
            for (j, &b) in RUN_RGB.iter().enumerate().skip(i + 1) {
                let d = delta_e(seen(a, &m), seen(b, &m));
                // measured: ≥ 23.6; the old palette (blue, orange, green, purple) had 7.3
                // between orange and green under protanopia
                assert!(d >= 20.0, "{name}: runs {i} and {j} are ΔE {d:.1} apart");
            }
        }
    }
}

#[test]
fn run_colours_keep_contrast_on_the_light_and_the_dark_panel() {
    let contrast = |a: f64, b: f64| (a.max(b) + 0.05) / (a.min(b) + 0.05);
    let white = 1.0;
    let dark = luminance(seen((17, 26, 46), &IDENTITY));
    for rgb in RUN_RGB {
        let l = luminance(seen(rgb, &IDENTITY));
        assert!(contrast(l, white) >= 2.8, "{rgb:?} on white");
        assert!(contrast(l, dark) >= 2.8, "{rgb:?} on the dark panel");
    }
}

#[test]
fn every_run_has_its_own_dash_pattern() {
    let mut patterns: Vec<String> = (0..RUN_DASHES.len()).map(dasharray).collect();
    assert_eq!(patterns[0], "none");
    patterns.sort();
    patterns.dedup();
    assert_eq!(patterns.len(), RUN_DASHES.len());
    assert_eq!(RUN_DASHES.len(), RUN_RGB.len());
}
