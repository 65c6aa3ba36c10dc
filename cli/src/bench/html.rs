//! `--html`: one self-contained page, the charts drawn by plotters as SVG
//! and inlined, the table below them; nothing is fetched when it opens.

use plotters::prelude::*;

use super::report::{ConfigResult, Report};

const WIDTH: u32 = 1000;
/// Pixels per bar.
const BAR: u32 = 14;
/// Colours of p50, p95, p99.
const PERCENTILE_COLOURS: [RGBColor; 3] = [
    RGBColor(66, 133, 244),
    RGBColor(251, 188, 5),
    RGBColor(219, 68, 55),
];

/// A horizontal bar chart: one group of bars per label, `series` names and
/// colours the bars of a group. Returns the SVG text.
fn bars(
    title: &str,
    unit: &str,
    labels: &[String],
    series: &[(&str, RGBColor)],
    values: &[Vec<f64>],
) -> Result<String, String> {
    let per_group = series.len() + 1;
    let slots = (labels.len() * per_group).max(1);
    let height = 90 + BAR * slots as u32;
    let max = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let x_max = if max > 0.0 { max * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        // Slots count from the bottom: the first group is drawn at the top,
        // its first series uppermost.
        let slot_of = |group: usize, s: usize| slots - 1 - (group * per_group + s);
        let label_of = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(k) => match (slots - 1).checked_sub(*k) {
                Some(i) if i % per_group == series.len() / 2 => {
                    labels.get(i / per_group).cloned().unwrap_or_default()
                }
                _ => String::new(),
            },
            _ => String::new(),
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(300)
            .build_cartesian_2d(0.0..x_max, (0..slots).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(WHITE)
            .x_labels(10)
            .y_labels(slots)
            .y_label_formatter(&label_of)
            .x_desc(unit)
            .draw()
            .map_err(|e| e.to_string())?;
        for (s, (name, colour)) in series.iter().enumerate() {
            let colour = *colour;
            chart
                .draw_series(values.iter().enumerate().map(|(g, row)| {
                    let slot = slot_of(g, s);
                    let v = row.get(s).copied().unwrap_or(0.0);
                    Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(slot)),
                            (v, SegmentValue::Exact(slot + 1)),
                        ],
                        colour.filled(),
                    )
                }))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
                });
        }
        if series.len() > 1 {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ran(r: &ConfigResult) -> bool {
    r.status != "skipped"
}

/// The page.
///
/// # Errors
/// A chart that plotters could not draw.
pub fn page(report: &Report, table: &str) -> Result<String, String> {
    let ran: Vec<&ConfigResult> = report.results.iter().filter(|r| ran(r)).collect();
    let labels: Vec<String> = ran.iter().map(|r| r.name.clone()).collect();
    let latency = bars(
        "Latency per request (p50, p95, p99)",
        "milliseconds",
        &labels,
        &[
            ("p50", PERCENTILE_COLOURS[0]),
            ("p95", PERCENTILE_COLOURS[1]),
            ("p99", PERCENTILE_COLOURS[2]),
        ],
        &ran.iter()
            .map(|r| vec![r.latency.p50_ms, r.latency.p95_ms, r.latency.p99_ms])
            .collect::<Vec<_>>(),
    )?;
    let throughput = bars(
        "Throughput",
        "requests per second",
        &labels,
        &[("req/s", RGBColor(15, 157, 88))],
        &ran.iter()
            .map(|r| vec![r.throughput_rps])
            .collect::<Vec<_>>(),
    )?;
    let priced: Vec<&&ConfigResult> = ran.iter().filter(|r| r.dynamodb.is_some()).collect();
    let cost = if priced.is_empty() {
        "<p>No configuration with a DynamoDB tier ran: no capacity cost to chart.</p>".to_owned()
    } else {
        bars(
            "DynamoDB on-demand cost per million requests",
            "USD per million requests",
            &priced.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            &[("USD", RGBColor(171, 71, 188))],
            &priced
                .iter()
                .map(|r| {
                    vec![
                        r.dynamodb
                            .as_ref()
                            .map_or(0.0, |c| c.cost_per_million_requests),
                    ]
                })
                .collect::<Vec<_>>(),
        )?
    };
    let s = &report.settings;
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>tiered-sessions bench</title>\
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}\
figure{{margin:1.5em 0}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}}</style>\
</head><body>\n<h1>tiered-sessions bench</h1>\n\
<p>Each configuration ran full requests through the session layer, in-process. \
Cost at ${} per million RRU and ${} per million WRU ({}).</p>\n\
<figure id=\"latency\">{latency}</figure>\n<figure id=\"cost\">{cost}</figure>\n\
<figure id=\"throughput\">{throughput}</figure>\n<h2>All figures</h2>\n<pre>{}</pre>\n</body></html>\n",
        s.price_rru,
        s.price_wru,
        escape(s.price_source),
        escape(table),
    ))
}
