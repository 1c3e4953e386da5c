//! The charts of how figures grow: the sweeps (`cpu_sweep`, `gil_sweep`, `io_sweep`) as
//! lines over their points, and `resources` as bars of bytes and creation time per
//! waiter. The sweeps' metric names carry their point after an `@` (`speedup@4`), see
//! `workloads::sweep`.
//!
//! Like the bar charts of [`super::charts`], each chart is first a spec ([`LineSpec`] or
//! a bar [`Spec`]) built from the measurements, then drawn: a runner without the figure
//! has no line, a chart without any line is not drawn.

use std::error::Error;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::charts::{
    in_unit, legend_layout, linear_ticks, of_workload, sizes, text_width, tick, usable, Axis,
    Entry, Family, Mark, Row, Spec, LEFT, MARK_COLOR, WIDTH,
};
use crate::record::Measurement;

/// One line: a runner's figure at each point.
#[derive(Debug)]
pub struct Line {
    label: String,
    family: Family,
    points: Vec<(f64, f64)>,
}

/// A chart of lines over a sweep's points; both axes may be logarithmic.
#[derive(Debug)]
pub struct LineSpec {
    /// The file name.
    pub file: &'static str,
    /// The title line.
    pub title: String,
    notes: Vec<String>,
    x_axis: String,
    y_axis: String,
    x_log: bool,
    y_log: bool,
    /// The sweep's points: the labelled ticks of the x axis.
    x_ticks: Vec<f64>,
    lines: Vec<Line>,
    /// Horizontal reference lines.
    marks: Vec<Mark>,
}

/// Line colours: ours in blues, the Rust peers in oranges, CPython in greens, in the
/// order the lines come.
fn line_color(family: Family, nth: usize) -> RGBColor {
    let palette: &[RGBColor] = match family {
        Family::Ours => &[
            RGBColor(31, 119, 180),
            RGBColor(23, 190, 207),
            RGBColor(106, 61, 154),
            RGBColor(8, 48, 107),
        ],
        Family::RustPeer => &[
            RGBColor(255, 127, 14),
            RGBColor(214, 39, 40),
            RGBColor(140, 86, 75),
        ],
        Family::Python => &[RGBColor(44, 160, 44), RGBColor(152, 223, 138)],
        Family::OsThread | Family::OsProcess => &[RGBColor(127, 127, 127)],
    };
    palette[nth % palette.len()]
}

/// The runners' `prefix@x` metrics of `workload` as lines, each point converted to
/// `unit` when a time unit is given; runners in report order.
fn lines(ms: &[&Measurement], prefix: &str, unit: Option<&str>, log: bool) -> Vec<Line> {
    super::runners(ms)
        .into_iter()
        .filter_map(|r| {
            let mut points: Vec<(f64, f64)> = ms
                .iter()
                .filter(|m| m.mode == r)
                .filter_map(|m| {
                    let x: f64 = m
                        .metric
                        .strip_prefix(prefix)?
                        .strip_prefix('@')?
                        .parse()
                        .ok()?;
                    let y = match unit {
                        Some(u) => in_unit(m.value, &m.unit, u)?,
                        None => m.value,
                    };
                    Some((usable(x, true)?, usable(y, log)?))
                })
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let family = Family::of(ms.iter().find(|m| m.mode == r)?);
            (!points.is_empty()).then(|| Line {
                label: r.to_string(),
                family,
                points,
            })
        })
        .collect()
}

/// Every chart of this module the measurements allow: bars first, then lines.
pub fn bar_specs(ms: &[&Measurement]) -> Vec<Spec> {
    [resources(ms, "bytes"), resources(ms, "create")]
        .into_iter()
        .flatten()
        .collect()
}

/// The sweeps' line charts the measurements allow.
pub fn line_specs(ms: &[&Measurement], workers: Option<usize>) -> Vec<LineSpec> {
    [
        cpu_sweep(ms, workers),
        gil_sweep(ms, "p99"),
        gil_sweep(ms, "cpu"),
        io_sweep(ms),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn cpu_sweep(all: &[&Measurement], workers: Option<usize>) -> Option<LineSpec> {
    let ms = of_workload(all, "cpu_sweep");
    let lines = lines(&ms, "speedup", None, false);
    if lines.is_empty() {
        return None;
    }
    let mut marks = vec![Mark {
        at: 1.0,
        label: "1x: one core".into(),
    }];
    if let Some(w) = workers.filter(|&w| w > 1) {
        marks.push(Mark {
            at: w as f64,
            label: format!("{w}x: every core busy"),
        });
    }
    Some(LineSpec {
        file: "cpu_sweep.svg",
        title: "cpu_sweep: speed-up against the number of workers".into(),
        notes: vec![
            sizes(&ms),
            "each point: the jobs run in turn on one thread / their time through submit with \
             that many workers"
                .into(),
            "CPython pools: py-asyncio's time (jobs in turn) / theirs".into(),
        ],
        x_axis: "workers (log scale)".into(),
        y_axis: "speed-up over one core (x)".into(),
        x_log: true,
        y_log: false,
        x_ticks: vec![1.0, 2.0, 4.0, 8.0],
        lines,
        marks,
    })
}

fn gil_sweep(all: &[&Measurement], what: &str) -> Option<LineSpec> {
    let ms = of_workload(all, "gil_sweep");
    let (file, title, y_axis, unit, log) = if what == "p99" {
        (
            "gil_sweep_latency.svg",
            "gil_sweep: echo p99 against the GIL's switch interval",
            "echo round trip p99 (ms, log scale, lower is better)",
            Some("ms"),
            true,
        )
    } else {
        (
            "gil_sweep_cpu.svg",
            "gil_sweep: the CPU jobs' throughput against the switch interval",
            "CPU work done (cores' worth, higher is better)",
            None,
            false,
        )
    };
    let lines = lines(&ms, what, unit, log);
    if lines.is_empty() {
        return None;
    }
    Some(LineSpec {
        file,
        title: title.into(),
        notes: vec![
            sizes(&ms),
            "a CPU-bound holder gives the lock up after the interval; the echo waits for it".into(),
            "py-threads: CPython's own GIL with sys.setswitchinterval".into(),
        ],
        x_axis: "switch interval (ms, log scale)".into(),
        y_axis: y_axis.into(),
        x_log: true,
        y_log: log,
        x_ticks: vec![0.1, 0.5, 1.0, 5.0, 20.0],
        lines,
        marks: Vec::new(),
    })
}

fn io_sweep(all: &[&Measurement]) -> Option<LineSpec> {
    let ms = of_workload(all, "io_sweep");
    let lines = lines(&ms, "wall", Some("ms"), true);
    if lines.is_empty() {
        return None;
    }
    // The wait itself, from the size ("... x 100 ms").
    let marks = ms
        .iter()
        .find_map(|m| {
            let d = m.params.rsplit(" x ").next()?.strip_suffix(" ms")?;
            d.trim().parse::<f64>().ok()
        })
        .map(|d| Mark {
            at: d,
            label: format!("{} ms: one wait", tick(d)),
        })
        .into_iter()
        .collect();
    Some(LineSpec {
        file: "io_sweep.svg",
        title: "io_sweep: wall time of N concurrent waits against N".into(),
        notes: vec![
            sizes(&ms),
            "every sleeper waits the same d at once: flat while the waits overlap, rising once \
             the loop's own cost per sleeper shows"
                .into(),
        ],
        x_axis: "concurrent sleepers (log scale)".into(),
        y_axis: "wall time (ms, log scale, lower is better)".into(),
        x_log: true,
        y_log: true,
        x_ticks: vec![10.0, 1_000.0, 100_000.0],
        lines,
        marks,
    })
}

/// What waits in a `resources` measurement: `tasks`, `threads` or `processes` (the OS
/// runners by name, CPython's threads pool, tasks everywhere else).
pub fn waiters(m: &Measurement) -> &'static str {
    match (m.kind, m.mode.as_str()) {
        (crate::record::Kind::Os, r) if r.contains("process") => "processes",
        (crate::record::Kind::Os, _) | (_, "py-threads") => "threads",
        _ => "tasks",
    }
}

/// `resources`: bytes or creation time per waiter at the largest size each runner ran.
fn resources(all: &[&Measurement], what: &str) -> Option<Spec> {
    let ms = of_workload(all, "resources");
    let rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| {
            let m = ms
                .iter()
                .copied()
                .filter(|m| m.mode == r)
                .filter_map(|m| {
                    let n: u64 = m
                        .metric
                        .strip_prefix(what)?
                        .strip_prefix('@')?
                        .parse()
                        .ok()?;
                    Some((n, m))
                })
                .max_by_key(|(n, _)| *n)?;
            let (n, m) = m;
            let v = if what == "bytes" {
                usable(m.value, true)?
            } else {
                usable(in_unit(m.value, &m.unit, "us")?, true)?
            };
            Some(Row {
                label: format!("{r} ({n} {})", waiters(m)),
                family: Family::of(m),
                values: vec![Some(v)],
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let (file, title, axis, suffix) = if what == "bytes" {
        (
            "resources.svg",
            "resources: memory per concurrent waiter",
            "bytes per waiter (log scale, lower is better)",
            " B",
        )
    } else {
        (
            "resources_create.svg",
            "resources: time to start one waiter",
            "microseconds per waiter (log scale, lower is better)",
            " us",
        )
    };
    Some(Spec {
        file,
        title: title.into(),
        notes: vec![
            "each waiting on a timer; at the largest size each ran, in a fresh process".into(),
            "tasks and threads: resident-set growth / N; processes: their PSS (shared pages \
             split) / N"
                .into(),
        ],
        axis: axis.into(),
        log: true,
        series: vec![""],
        rows,
        marks: Vec::new(),
        suffix,
    })
}

/// Ticks of a logarithmic axis from decade `lo` to decade `hi`: (labelled, faint).
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let bold: Vec<f64> = (lo as i32..=hi as i32).map(f64::from).collect();
    let light: Vec<f64> = (lo as i32..hi as i32)
        .flat_map(|d| (2..10).map(move |m| f64::from(d) + f64::from(m).log10()))
        .collect();
    (bold, light)
}

/// Draws `spec` as an SVG document.
pub fn draw(spec: &LineSpec) -> Result<String, Box<dyn Error>> {
    let tx = |x: f64| if spec.x_log { x.log10() } else { x };
    let ty = |y: f64| if spec.y_log { y.log10() } else { y };
    let xs: Vec<f64> = spec
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(spec.x_ticks.iter().copied())
        .collect();
    let ys: Vec<f64> = spec
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .chain(spec.marks.iter().map(|m| m.at))
        .collect();
    if xs.is_empty() || ys.is_empty() {
        return Err("nothing to draw".into());
    }
    let (x_min, x_max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(tx(x)), b.max(tx(x)))
        });
    let pad = ((x_max - x_min) * 0.05).max(0.05);
    let x_axis = Axis {
        lo: x_min - pad,
        hi: x_max + pad,
        bold: spec.x_ticks.iter().map(|&x| tx(x)).collect(),
        light: Vec::new(),
    };
    let y_axis = if spec.y_log {
        let lo = ys
            .iter()
            .copied()
            .fold(f64::INFINITY, f64::min)
            .log10()
            .floor();
        let hi = ys
            .iter()
            .copied()
            .fold(0.0, f64::max)
            .log10()
            .ceil()
            .max(lo + 1.0);
        let (bold, light) = log_ticks(lo, hi);
        Axis {
            lo,
            hi,
            bold,
            light,
        }
    } else {
        let hi = ys.iter().copied().fold(0.0, f64::max) * 1.15;
        let ticks = linear_ticks(hi.max(1e-9));
        Axis {
            lo: 0.0,
            hi: hi.max(*ticks.last().unwrap_or(&hi)),
            bold: ticks,
            light: Vec::new(),
        }
    };

    let mut nth = std::collections::HashMap::new();
    let colors: Vec<RGBColor> = spec
        .lines
        .iter()
        .map(|l| {
            let k = nth.entry(l.family.name()).or_insert(0usize);
            *k += 1;
            line_color(l.family, *k - 1)
        })
        .collect();
    let mut entries: Vec<Entry> = spec
        .lines
        .iter()
        .zip(&colors)
        .map(|(l, &color)| Entry {
            color,
            line: true,
            text: l.label.clone(),
        })
        .collect();
    entries.extend(spec.marks.iter().map(|m| Entry {
        color: MARK_COLOR,
        line: true,
        text: m.label.clone(),
    }));
    let places = legend_layout(&entries);
    let legend_lines = places.last().map_or(0, |p| p.1 + 1);
    let header = 44 + 18 * spec.notes.len() as i32 + 24 * legend_lines + 8;
    let plot_h = 360;
    let height = header + plot_h + 60;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let (head, body) = root.split_vertically(header);
        let title = ("sans-serif", 20).into_font().style(FontStyle::Bold);
        head.draw(&Text::new(spec.title.clone(), (LEFT, 12), title))?;
        for (i, note) in spec.notes.iter().enumerate() {
            let y = 42 + 18 * i as i32;
            head.draw(&Text::new(note.clone(), (LEFT, y), ("sans-serif", 13)))?;
        }
        let legend_top = 44 + 18 * spec.notes.len() as i32 + 4;
        for (e, &(x, line)) in entries.iter().zip(&places) {
            let y = legend_top + 24 * line;
            head.draw(&PathElement::new(
                vec![(x, y + 7), (x + 16, y + 7)],
                e.color.stroke_width(3),
            ))?;
            head.draw(&Text::new(
                e.text.clone(),
                (x + 22, y + 7),
                ("sans-serif", 13)
                    .into_font()
                    .into_text_style(&head)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }

        let y_label_w = text_width("100000", 13.0) + 40;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(LEFT as u32)
            .margin_right(24)
            .margin_bottom(8)
            .x_label_area_size(50)
            .y_label_area_size(y_label_w as u32)
            .build_cartesian_2d(x_axis, y_axis)?;
        let (x_log, y_log) = (spec.x_log, spec.y_log);
        chart
            .configure_mesh()
            .x_desc(spec.x_axis.as_str())
            .y_desc(spec.y_axis.as_str())
            .x_label_formatter(&|x| tick(if x_log { 10f64.powf(*x) } else { *x }))
            .y_label_formatter(&|y| tick(if y_log { 10f64.powf(*y) } else { *y }))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .bold_line_style(BLACK.mix(0.15))
            .light_line_style(BLACK.mix(0.05))
            .draw()?;
        let (lo, hi) = (chart.x_range().start, chart.x_range().end);
        for m in &spec.marks {
            let y = ty(m.at);
            chart.draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                vec![(lo, y), (hi, y)],
                6,
                4,
                MARK_COLOR.mix(0.7).stroke_width(2),
            )))?;
        }
        for (l, &color) in spec.lines.iter().zip(&colors) {
            let pts: Vec<(f64, f64)> = l.points.iter().map(|&(x, y)| (tx(x), ty(y))).collect();
            chart.draw_series(std::iter::once(PathElement::new(
                pts.clone(),
                color.stroke_width(2),
            )))?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Kind;

    fn m(mode: &str, kind: Kind, workload: &str, metric: &str, v: f64, unit: &str) -> Measurement {
        Measurement::sample(mode, kind, workload, metric, v, unit)
    }

    #[test]
    fn sweep_lines_read_their_points_from_the_metric_names() {
        let ms = [
            m("threads", Kind::Mode, "cpu_sweep", "speedup@4", 1.9, "x"),
            m("threads", Kind::Mode, "cpu_sweep", "speedup@1", 1.0, "x"),
            m(
                "py-processes",
                Kind::Peer,
                "cpu_sweep",
                "speedup@2",
                1.8,
                "x",
            ),
            m("gil", Kind::Mode, "gil_sweep", "p99@0.5", 900.0, "us"),
            m("gil", Kind::Mode, "gil_sweep", "cpu@0.5", 0.9, "cores"),
            m("single", Kind::Mode, "io_sweep", "wall@1000", 101.0, "ms"),
            // Not a point: left out.
            m("single", Kind::Mode, "io_sweep", "wall", 101.0, "ms"),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let specs = line_specs(&refs, Some(2));
        let files: Vec<&str> = specs.iter().map(|s| s.file).collect();
        assert_eq!(
            files,
            [
                "cpu_sweep.svg",
                "gil_sweep_latency.svg",
                "gil_sweep_cpu.svg",
                "io_sweep.svg"
            ]
        );
        assert_eq!(specs[0].lines[0].points, [(1.0, 1.0), (4.0, 1.9)]);
        assert_eq!(specs[0].lines[1].label, "py-processes");
        let (x, y) = specs[1].lines[0].points[0];
        assert!(x == 0.5 && (y - 0.9).abs() < 1e-9, "{x} {y}"); // in ms
        assert_eq!(specs[3].lines[0].points, [(1000.0, 101.0)]);
        for spec in &specs {
            let svg = draw(spec).unwrap();
            let head = spec.title.split(':').next().unwrap();
            assert!(svg.contains("<svg") && svg.contains(head), "{svg}");
        }
    }

    #[test]
    fn resources_bars_take_each_runner_at_its_largest_size() {
        let ms = [
            m("single", Kind::Mode, "resources", "bytes@10000", 420.0, "B"),
            m(
                "single",
                Kind::Mode,
                "resources",
                "bytes@1000000",
                400.0,
                "B",
            ),
            m(
                "single",
                Kind::Mode,
                "resources",
                "create@1000000",
                1100.0,
                "ns",
            ),
            m("os-processes", Kind::Os, "resources", "bytes@100", 3e5, "B"),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let specs = bar_specs(&refs);
        assert_eq!(specs.len(), 2);
        let rows: Vec<(&str, Option<f64>)> = specs[0]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.values[0]))
            .collect();
        assert_eq!(
            rows,
            [
                ("single (1000000 tasks)", Some(400.0)),
                ("os-processes (100 processes)", Some(3e5))
            ]
        );
        assert_eq!(specs[1].rows[0].values, [Some(1.1)]); // in us
    }
}
