//! The latency-vs-concurrency chart as a small self-contained SVG: both axes
//! logarithmic, p50/p90/p99 of dangan and of the bare endpoint, throughput in
//! the legend. Written by hand because it is a few lines and straight-line
//! paths; charting crates need a font backend to lay out their labels.

use std::fmt::Write;

use crate::http::Point;

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 230.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

fn log_scale(v: f64, lo: f64, hi: f64, from: f64, to: f64) -> f64 {
    let t = (v.max(lo).ln() - lo.ln()) / (hi.ln() - lo.ln());
    from + t * (to - from)
}

pub fn svg(title: &str, points: &[Point]) -> String {
    let conns: Vec<f64> = points.iter().map(|p| p.load.connections as f64).collect();
    let lats: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.load.p50_ms, p.load.p90_ms, p.load.p99_ms])
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let (x_lo, x_hi) = (
        conns.iter().copied().fold(f64::INFINITY, f64::min).max(1.0),
        conns.iter().copied().fold(1.0, f64::max).max(2.0),
    );
    let y_lo = 10f64.powf(
        lats.iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor(),
    );
    let y_hi = 10f64.powf(lats.iter().copied().fold(0.01, f64::max).log10().ceil());
    let x = |v: f64| log_scale(v, x_lo, x_hi, LEFT, W - RIGHT);
    let y = |v: f64| log_scale(v, y_lo, y_hi, H - BOTTOM, TOP);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>
"##,
        (LEFT + W - RIGHT) / 2.0,
        escape(title)
    );
    // Grid and axis labels.
    let mut decade = y_lo;
    while decade <= y_hi * 1.0001 {
        let yy = y(decade);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{}" y2="{yy:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            trim(decade)
        );
        decade *= 10.0;
    }
    let mut c: Vec<f64> = conns.clone();
    c.sort_by(f64::total_cmp);
    c.dedup();
    for v in &c {
        let xx = x(*v);
        let _ = writeln!(
            s,
            r##"<line x1="{xx:.1}" y1="{TOP}" x2="{xx:.1}" y2="{}" stroke="#eee"/><text x="{xx:.1}" y="{}" text-anchor="middle">{v}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 16.0
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="{}" y="{}" text-anchor="middle">concurrent connections</text><text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">latency, ms</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        H - 10.0,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0
    );
    // One line per side and percentile.
    let mut sides: Vec<&str> = points.iter().map(|p| p.side).collect();
    sides.dedup();
    sides.sort();
    sides.dedup();
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let mut legend_y = TOP + 10.0;
    for (k, side) in sides.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let mine: Vec<&Point> = points.iter().filter(|p| p.side == *side).collect();
        for (name, dash, pick) in [
            ("p50", "", (|p: &Point| p.load.p50_ms) as fn(&Point) -> f64),
            ("p90", "6 3", |p: &Point| p.load.p90_ms),
            ("p99", "2 3", |p: &Point| p.load.p99_ms),
        ] {
            let path: Vec<String> = mine
                .iter()
                .filter(|p| pick(p).is_finite())
                .map(|p| format!("{:.1},{:.1}", x(p.load.connections as f64), y(pick(p))))
                .collect();
            let _ = writeln!(
                s,
                r##"<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" points="{}"/>"##,
                path.join(" ")
            );
            let lx = W - RIGHT + 12.0;
            let _ = writeln!(
                s,
                r##"<line x1="{lx}" y1="{legend_y}" x2="{}" y2="{legend_y}" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/><text x="{}" y="{}">{} {name}</text>"##,
                lx + 24.0,
                lx + 30.0,
                legend_y + 4.0,
                escape(side)
            );
            legend_y += 18.0;
        }
        let best = mine.iter().map(|p| p.load.per_sec).fold(0.0, f64::max);
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" fill="{colour}">peak {best:.0} req/s</text>"##,
            W - RIGHT + 12.0,
            legend_y + 4.0
        );
        legend_y += 28.0;
    }
    s.push_str("</svg>\n");
    s
}

fn trim(v: f64) -> String {
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
