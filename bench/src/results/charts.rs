//! SVG charts for RESULTS.md, drawn with plotters from the same measurements as the tables:
//! how far the cpu jobs scale, the gil_convoy echo latency and the timers' wake lateness as
//! percentiles, and what one switch costs.
//!
//! Each chart is made in two steps: [`specs`] turns the measurements into [`Spec`]s (rows
//! of horizontal bars with their labels, nothing drawn yet) and [`draw`] turns one spec
//! into SVG text. A workload nobody measured has no chart and a runner without the figure
//! has no row; a chart that cannot be drawn or written is left out with a warning, so the
//! report is still written.

use std::error::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::record::{Kind, Measurement};
use crate::table::value;

/// Every file a chart may be written to, so that charts a run no longer has are removed.
pub const FILES: [&str; 12] = [
    "cpu.svg",
    "gil_convoy.svg",
    "timers.svg",
    "switch.svg",
    "handoff.svg",
    "resources.svg",
    "resources_create.svg",
    "cpu_sweep.svg",
    "gil_sweep_latency.svg",
    "gil_sweep_cpu.svg",
    "io_sweep.svg",
    "http.svg",
];

/// A chart that was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drawn {
    /// Its file name in the charts directory.
    pub file: &'static str,
    /// Its title, used as the image's alternative text.
    pub title: String,
}

/// Draws every chart the measurements allow into `dir` (created if needed) and returns the
/// ones written, in report order. Failures are warnings on stderr: a chart that cannot be
/// drawn is simply not returned. Chart files of [`FILES`] not written this time are removed,
/// so `dir` never holds a chart of an earlier run next to the report of this one.
pub fn write_all(ms: &[&Measurement], workers: Option<usize>, dir: &Path) -> Vec<Drawn> {
    let mut specs: Vec<(&'static str, String, Drawer)> = specs(ms, workers)
        .into_iter()
        .chain(super::growth::bar_specs(ms))
        .map(|s| (s.file, s.title.clone(), Drawer::Bars(s)))
        .collect();
    specs.extend(
        super::growth::line_specs(ms, workers)
            .into_iter()
            .map(|s| (s.file, s.title.clone(), Drawer::Lines(s))),
    );
    if specs.is_empty() {
        remove_stale(dir, &[]);
        return Vec::new();
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("warning: no charts: cannot create {}: {e}", dir.display());
        return Vec::new();
    }
    let mut drawn = Vec::new();
    for (file, title, spec) in &specs {
        let path = dir.join(file);
        let svg = catch_unwind(AssertUnwindSafe(|| match spec {
            Drawer::Bars(s) => draw(s),
            Drawer::Lines(s) => super::growth::draw(s),
        }))
        .unwrap_or_else(|_| Err("plotters panicked".into()));
        match svg.and_then(|svg| Ok(std::fs::write(&path, svg)?)) {
            Ok(()) => drawn.push(Drawn {
                file,
                title: title.clone(),
            }),
            Err(e) => {
                eprintln!("warning: chart {} not drawn: {e}", path.display());
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    remove_stale(dir, &drawn);
    drawn
}

/// A chart of either kind, ready to draw.
enum Drawer {
    Bars(Spec),
    Lines(super::growth::LineSpec),
}

/// Removes the chart files in `dir` that are not `drawn`.
fn remove_stale(dir: &Path, drawn: &[Drawn]) {
    for file in FILES {
        if !drawn.iter().any(|d| d.file == file) {
            let _ = std::fs::remove_file(dir.join(file));
        }
    }
}

/// Who a bar belongs to; single-series charts colour their bars by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// A mode of this runtime.
    Ours,
    /// tokio or async-executor.
    RustPeer,
    /// A CPython peer (`py-...`).
    Python,
    /// Two OS threads.
    OsThread,
    /// Two OS processes.
    OsProcess,
}

impl Family {
    pub(super) fn of(m: &Measurement) -> Family {
        match m.kind {
            Kind::Mode => Family::Ours,
            Kind::Os if m.metric.starts_with("process") || m.mode.contains("process") => {
                Family::OsProcess
            }
            Kind::Os => Family::OsThread,
            Kind::Peer if m.mode.starts_with("py-") => Family::Python,
            Kind::Peer => Family::RustPeer,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Family::Ours => "this runtime",
            Family::RustPeer => "Rust peers",
            Family::Python => "CPython",
            Family::OsThread => "OS threads",
            Family::OsProcess => "OS processes",
        }
    }

    pub(super) fn color(self) -> RGBColor {
        match self {
            Family::Ours => RGBColor(31, 119, 180),
            Family::RustPeer => RGBColor(255, 127, 14),
            Family::Python => RGBColor(44, 160, 44),
            Family::OsThread => RGBColor(127, 127, 127),
            Family::OsProcess => RGBColor(148, 103, 189),
        }
    }
}

/// Colours of the bars of a row with several series (percentiles), light to dark.
const SERIES_COLORS: [RGBColor; 5] = [
    RGBColor(158, 202, 225),
    RGBColor(66, 146, 198),
    RGBColor(8, 81, 156),
    RGBColor(8, 48, 107),
    RGBColor(0, 0, 0),
];

/// The colour of reference lines.
pub(super) const MARK_COLOR: RGBColor = RGBColor(200, 30, 30);

/// One chart, ready to draw: horizontal bars, one row per runner (top to bottom), one bar
/// per series in each row.
#[derive(Debug)]
pub struct Spec {
    /// The file name.
    pub(super) file: &'static str,
    /// The title line.
    pub(super) title: String,
    /// Smaller lines under the title: sizes and how to read the bars.
    pub(super) notes: Vec<String>,
    /// The value axis' description, with its unit.
    pub(super) axis: String,
    /// Whether the value axis is logarithmic.
    pub(super) log: bool,
    /// The names of the bars in each row; more than one gets a legend of its own.
    pub(super) series: Vec<&'static str>,
    /// The rows.
    pub(super) rows: Vec<Row>,
    /// Vertical reference lines.
    pub(super) marks: Vec<Mark>,
    /// Appended to the value written after a bar (single-series charts only).
    pub(super) suffix: &'static str,
}

/// One row of bars.
#[derive(Debug)]
pub(super) struct Row {
    pub(super) label: String,
    pub(super) family: Family,
    /// One value per series; `None` leaves that bar out.
    pub(super) values: Vec<Option<f64>>,
}

/// A vertical reference line.
#[derive(Debug)]
pub(super) struct Mark {
    pub(super) at: f64,
    pub(super) label: String,
}

/// The charts the measurements allow, in report order.
pub fn specs(ms: &[&Measurement], workers: Option<usize>) -> Vec<Spec> {
    [
        cpu(ms, workers),
        latency(ms, "gil_convoy"),
        latency(ms, "timers"),
        switch(ms),
        handoff(ms),
        http(ms),
    ]
    .into_iter()
    .flatten()
    .collect()
}

pub(super) fn of_workload<'a>(ms: &[&'a Measurement], workload: &str) -> Vec<&'a Measurement> {
    ms.iter()
        .copied()
        .filter(|m| m.workload == workload)
        .collect()
}

pub(super) fn find<'a>(
    ms: &[&'a Measurement],
    runner: &str,
    metric: &str,
) -> Option<&'a Measurement> {
    ms.iter()
        .copied()
        .find(|m| m.mode == runner && m.metric == metric)
}

/// `v` in `unit` converted to `to`, for time units; `None` for an unknown unit.
pub(super) fn in_unit(v: f64, from: &str, to: &str) -> Option<f64> {
    let seconds = |u: &str| match u {
        "ns" => Some(1e-9),
        "us" => Some(1e-6),
        "ms" => Some(1e-3),
        "s" => Some(1.0),
        _ => None,
    };
    Some(v * seconds(from)? / seconds(to)?)
}

/// A value a bar can show: finite, and positive when the axis is logarithmic.
pub(super) fn usable(v: f64, log: bool) -> Option<f64> {
    (v.is_finite() && (v > 0.0 || (!log && v >= 0.0))).then_some(v)
}

/// The workload's sizes: one, or each with the families that ran it.
pub(super) fn sizes(ms: &[&Measurement]) -> String {
    let mut per: Vec<(&str, Vec<&'static str>)> = Vec::new();
    for m in ms.iter().filter(|m| !m.params.is_empty()) {
        let family = Family::of(m).name();
        match per.iter_mut().find(|(p, _)| *p == m.params) {
            Some((_, families)) if !families.contains(&family) => families.push(family),
            Some(_) => {}
            None => per.push((&m.params, vec![family])),
        }
    }
    match per.as_slice() {
        [] => String::new(),
        [(p, _)] => p.to_string(),
        _ => per
            .iter()
            .map(|(p, f)| format!("{p} ({})", f.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// Scaling: each runner's speed-up over the same jobs run in turn on one core.
fn cpu(all: &[&Measurement], workers: Option<usize>) -> Option<Spec> {
    let ms = of_workload(all, "cpu");
    let rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| {
            // The Python pools compare with py-asyncio, which runs the jobs in turn.
            let m = find(&ms, r, "vs_one_core")
                .or_else(|| find(&ms, r, "speedup").filter(|m| Family::of(m) == Family::Python))?;
            Some(Row {
                label: r.to_string(),
                family: Family::of(m),
                values: vec![Some(usable(m.value, false)?)],
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut marks = vec![Mark {
        at: 1.0,
        label: "1x: one core".into(),
    }];
    if let Some(w) = workers.filter(|&w| w > 1) {
        marks.push(Mark {
            at: w as f64,
            label: format!("{w}x: all {w} workers busy"),
        });
    }
    let mut notes = vec![sizes(&ms)];
    notes.push(
        "a bar: time of the jobs run in turn on one thread / their time through submit".into(),
    );
    if rows.iter().any(|r| r.family == Family::Python) {
        notes.push("CPython pools: py-asyncio's time (jobs in turn) / theirs".into());
    }
    Some(Spec {
        file: "cpu.svg",
        title: "cpu: speed-up of CPU-bound jobs over one core".into(),
        notes,
        axis: "speed-up over one core (x, higher is better)".into(),
        log: false,
        series: vec![""],
        rows,
        marks,
        suffix: "x",
    })
}

/// Latency percentiles per runner: gil_convoy's echo round trips or timers' wake lateness.
fn latency(all: &[&Measurement], workload: &'static str) -> Option<Spec> {
    let ms = of_workload(all, workload);
    let (file, title, what, axis, metrics): (_, _, _, _, [&str; 4]) = match workload {
        "gil_convoy" => (
            "gil_convoy.svg",
            "gil_convoy: echo round-trip latency while CPU-bound jobs run",
            "echo latency from when each ping was due",
            "echo round trip (ms, log scale, lower is better)",
            ["p50", "p90", "p99", "max"],
        ),
        _ => (
            "timers.svg",
            "timers: how late sleepers wake",
            "lateness after each sleeper's deadline",
            "wake lateness (ms, log scale, lower is better)",
            ["late_p50", "late_p90", "late_p99", "late_max"],
        ),
    };
    let rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| {
            let found: Vec<Option<&Measurement>> =
                metrics.iter().map(|metric| find(&ms, r, metric)).collect();
            let values: Vec<Option<f64>> = found
                .iter()
                .map(|m| {
                    m.and_then(|m| in_unit(m.value, &m.unit, "ms"))
                        .and_then(|v| usable(v, true))
                })
                .collect();
            let family = Family::of(found.iter().flatten().next()?);
            values.iter().any(Option::is_some).then(|| Row {
                label: r.to_string(),
                family,
                values,
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(Spec {
        file,
        title: title.into(),
        notes: vec![
            sizes(&ms),
            format!("{what}, percentiles over every run; log scale"),
        ],
        axis: axis.into(),
        log: true,
        series: vec!["p50", "p90", "p99", "max"],
        rows,
        marks: Vec::new(),
        suffix: "",
    })
}

/// `http`: requests per second of every runner, at both connection counts.
fn http(all: &[&Measurement]) -> Option<Spec> {
    let ms = of_workload(all, "http");
    let rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| {
            let found: Vec<Option<&Measurement>> = ["throughput", "throughput_2"]
                .iter()
                .map(|metric| find(&ms, r, metric))
                .collect();
            let family = Family::of(found.iter().flatten().next()?);
            let values: Vec<Option<f64>> = found
                .iter()
                .map(|m| m.and_then(|m| usable(m.value, false)))
                .collect();
            values.iter().any(Option::is_some).then(|| Row {
                label: r.to_string(),
                family,
                values,
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(Spec {
        file: "http.svg",
        title: "http: hyper HTTP/1.1 requests per second".into(),
        notes: vec![
            sizes(&ms),
            "the server on each runner, one shared keep-alive load client; server CPU per request is in the table".into(),
        ],
        axis: "requests per second (higher is better)".into(),
        log: false,
        series: vec!["fewer connections", "more connections"],
        rows,
        marks: Vec::new(),
        suffix: "",
    })
}

/// The OS switch metrics in chart order, with their labels.
const OS_SWITCHES: [(&str, &str); 6] = [
    ("thread_1core", "OS threads, 1 core"),
    ("thread_2cores", "OS threads, 2 cores"),
    ("thread_unpinned", "OS threads, unpinned"),
    ("process_1core", "OS processes, 1 core"),
    ("process_2cores", "OS processes, 2 cores"),
    ("process_unpinned", "OS processes, unpinned"),
];

/// Switch cost: coroutines on every runner, then OS threads and processes.
fn switch(all: &[&Measurement]) -> Option<Spec> {
    let ms = of_workload(all, "switch");
    let row = |label: String, m: &Measurement| {
        Some(Row {
            label,
            family: Family::of(m),
            values: vec![Some(usable(in_unit(m.value, &m.unit, "ns")?, true)?)],
        })
    };
    let mut rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| find(&ms, r, "coroutine").and_then(|m| row(r.to_string(), m)))
        .collect();
    let os: Vec<&Measurement> = ms.iter().copied().filter(|m| m.kind == Kind::Os).collect();
    for (metric, label) in OS_SWITCHES {
        if let Some(m) = os.iter().find(|m| m.metric == metric) {
            rows.extend(row(label.to_string(), m));
        }
    }
    for m in os {
        if !OS_SWITCHES.iter().any(|(metric, _)| m.metric == *metric) {
            rows.extend(row(format!("OS {}", m.metric.replace('_', " ")), m));
        }
    }
    if rows.is_empty() {
        return None;
    }
    Some(Spec {
        file: "switch.svg",
        title: "switch: what one switch costs".into(),
        notes: vec![
            "coroutines: two spawned tasks waking each other inside the runtime (in a pool too)"
                .into(),
            "OS: two threads or processes ping-ponging a byte over a socket pair; log scale".into(),
        ],
        axis: "time per switch (ns, log scale, lower is better)".into(),
        log: true,
        series: vec![""],
        rows,
        marks: Vec::new(),
        suffix: "",
    })
}

/// The `block_on` hand-off: the thread calling `block_on` and one spawned task waking each
/// other, apart from the task switch because in a pool every hop is a cross-thread wake.
fn handoff(all: &[&Measurement]) -> Option<Spec> {
    let ms = of_workload(all, "switch");
    let rows: Vec<Row> = super::runners(&ms)
        .into_iter()
        .filter_map(|r| {
            let m = find(&ms, r, "handoff")?;
            Some(Row {
                label: r.to_string(),
                family: Family::of(m),
                values: vec![Some(usable(in_unit(m.value, &m.unit, "ns")?, true)?)],
            })
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut marks = Vec::new();
    if let Some(m) = find(&ms, "os", "thread_2cores") {
        if let Some(at) = in_unit(m.value, &m.unit, "ns").and_then(|v| usable(v, true)) {
            marks.push(Mark {
                at,
                label: "OS threads, 2 cores".into(),
            });
        }
    }
    Some(Spec {
        file: "handoff.svg",
        title: "switch: the block_on hand-off (not a task switch)".into(),
        notes: vec![
            "the thread calling block_on and one spawned task waking each other, per hop".into(),
            "one loop: both on one thread; a pool: every hop wakes another thread; log scale"
                .into(),
        ],
        axis: "time per hop (ns, log scale, lower is better)".into(),
        log: true,
        series: vec![""],
        rows,
        marks,
        suffix: "",
    })
}

/// The chart's width in pixels.
pub(super) const WIDTH: u32 = 960;
/// Left margin of the header.
pub(super) const LEFT: i32 = 16;

/// The approximate width of `text` in pixels at `size` px (sans-serif, average glyph).
pub(super) fn text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.55).ceil() as i32
}

/// A legend entry: a filled box or a line, and its text.
pub(super) struct Entry {
    pub(super) color: RGBColor,
    pub(super) line: bool,
    pub(super) text: String,
}

/// The legend: series colours for multi-series charts, families otherwise, then marks.
fn legend(spec: &Spec) -> Vec<Entry> {
    let mut out = Vec::new();
    if spec.series.len() > 1 {
        for (j, name) in spec.series.iter().enumerate() {
            out.push(Entry {
                color: SERIES_COLORS[j % SERIES_COLORS.len()],
                line: false,
                text: name.to_string(),
            });
        }
    } else {
        let mut families: Vec<Family> = Vec::new();
        for r in &spec.rows {
            if !families.contains(&r.family) {
                families.push(r.family);
            }
        }
        for f in families {
            out.push(Entry {
                color: f.color(),
                line: false,
                text: f.name().into(),
            });
        }
    }
    for m in &spec.marks {
        out.push(Entry {
            color: MARK_COLOR,
            line: true,
            text: m.label.clone(),
        });
    }
    out
}

/// Where each legend entry goes: (x, line) with entries wrapped to the chart's width.
pub(super) fn legend_layout(entries: &[Entry]) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let (mut x, mut line) = (LEFT, 0);
    for e in entries {
        let w = 22 + text_width(&e.text, 13.0) + 24;
        if x > LEFT && x + w > WIDTH as i32 - LEFT {
            x = LEFT;
            line += 1;
        }
        out.push((x, line));
        x += w;
    }
    out
}

/// Ticks of a linear axis from 0 to at least `hi`: 0, step, 2 step, ... with a step of
/// 1, 2 or 5 times a power of ten.
pub(super) fn linear_ticks(hi: f64) -> Vec<f64> {
    let rough = hi / 6.0;
    let mag = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|k| k * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag);
    (0..)
        .map(|i| i as f64 * step)
        .take_while(|v| *v <= hi + step * 1e-9)
        .collect()
}

/// A tick label: a plain number without trailing zeros.
pub(super) fn tick(v: f64) -> String {
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// A linear axis with chosen ticks: `bold` are labelled, `light` only get a faint line.
pub(super) struct Axis {
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) bold: Vec<f64>,
    pub(super) light: Vec<f64>,
}

impl Ranged for Axis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let part = (v - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * part).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }
}

/// Draws `spec` as an SVG document.
pub fn draw(spec: &Spec) -> Result<String, Box<dyn Error>> {
    let n = spec.rows.len();
    let k = spec.series.len().max(1);
    let values: Vec<f64> = spec
        .rows
        .iter()
        .flat_map(|r| r.values.iter().flatten().copied())
        .chain(spec.marks.iter().map(|m| m.at))
        .collect();
    if n == 0 || values.is_empty() {
        return Err("nothing to draw".into());
    }

    // The value axis: log10 of the values on a linear axis when logarithmic.
    let pos = |v: f64| if spec.log { v.log10() } else { v };
    let (x_lo, x_hi, bold, light) = if spec.log {
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(0.0, f64::max);
        let lo = lo.log10().floor();
        // Room after the longest bar for its value.
        let hi = (hi.log10() + 0.4).ceil().max(lo + 1.0);
        let bold: Vec<f64> = (lo as i32..=hi as i32).map(f64::from).collect();
        let light: Vec<f64> = (lo as i32..hi as i32)
            .flat_map(|d| (2..10).map(move |m| f64::from(d) + f64::from(m).log10()))
            .collect();
        (lo, hi, bold, light)
    } else {
        let hi = values.iter().copied().fold(0.0, f64::max) * 1.2;
        let ticks = linear_ticks(hi.max(1e-9));
        let hi = hi.max(*ticks.last().unwrap_or(&hi));
        (0.0, hi, ticks, Vec::new())
    };

    let entries = legend(spec);
    let places = legend_layout(&entries);
    let legend_lines = places.last().map_or(0, |p| p.1 + 1);
    let header = 44 + 18 * spec.notes.len() as i32 + 24 * legend_lines + 8;
    let row_h = if k > 1 { 11 * k as i32 + 16 } else { 30 };
    let x_area = 50;
    let height = header + row_h * n as i32 + x_area + 16;
    let label_w = spec
        .rows
        .iter()
        .map(|r| text_width(&r.label, 13.0))
        .max()
        .unwrap_or(0)
        + 20;

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
            if e.line {
                head.draw(&PathElement::new(
                    vec![(x, y + 7), (x + 16, y + 7)],
                    e.color.stroke_width(2),
                ))?;
            } else {
                head.draw(&Rectangle::new(
                    [(x, y), (x + 16, y + 14)],
                    e.color.filled(),
                ))?;
            }
            head.draw(&Text::new(
                e.text.clone(),
                (x + 22, y + 7),
                ("sans-serif", 13)
                    .into_font()
                    .into_text_style(&head)
                    .pos(Pos::new(HPos::Left, VPos::Center)),
            ))?;
        }

        let labels: Vec<String> = spec.rows.iter().map(|r| r.label.clone()).collect();
        let y_of = |i: usize| (n - 1 - i) as f64;
        let mut chart = ChartBuilder::on(&body)
            .margin_left(LEFT as u32)
            .margin_right(24)
            .margin_bottom(16)
            .x_label_area_size(x_area as u32)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(
                Axis {
                    lo: x_lo,
                    hi: x_hi,
                    bold,
                    light,
                },
                Axis {
                    lo: -0.5,
                    hi: n as f64 - 0.5,
                    bold: (0..n).map(|i| i as f64).collect(),
                    light: Vec::new(),
                },
            )?;
        let log = spec.log;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc(spec.axis.as_str())
            .x_label_formatter(&|x| tick(if log { 10f64.powf(*x) } else { *x }))
            .y_label_formatter(&|y| {
                let i = y.round();
                if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                    labels[n - 1 - i as usize].clone()
                } else {
                    String::new()
                }
            })
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .bold_line_style(BLACK.mix(0.15))
            .light_line_style(BLACK.mix(0.05))
            .draw()?;

        // Reference lines first and faint, so that bars and figures stay readable on them.
        for m in &spec.marks {
            let x = pos(m.at);
            chart.draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                vec![(x, -0.5), (x, n as f64 - 0.5)],
                6,
                4,
                MARK_COLOR.mix(0.7).stroke_width(2),
            )))?;
        }
        // Each row spans 0.7 of its slot; its bars share that, top to bottom.
        let band = 0.7 / k as f64;
        let value_style = ("sans-serif", 12)
            .into_font()
            .into_text_style(chart.plotting_area())
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, row) in spec.rows.iter().enumerate() {
            for (j, v) in row.values.iter().enumerate() {
                let Some(v) = *v else { continue };
                let top = y_of(i) + 0.35 - band * j as f64;
                let bottom = top - band * if k > 1 { 0.85 } else { 1.0 };
                let color = if k > 1 {
                    SERIES_COLORS[j % SERIES_COLORS.len()]
                } else {
                    row.family.color()
                };
                let x = pos(v).max(x_lo);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x_lo, bottom), (x, top)],
                    color.filled(),
                )))?;
                if k == 1 {
                    let text = format!("{}{}", value(v), spec.suffix);
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((x, (top + bottom) / 2.0))
                            + Text::new(text, (5, 0), value_style.clone()),
                    ))?;
                }
            }
        }
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(mode: &str, kind: Kind, workload: &str, metric: &str, v: f64, unit: &str) -> Measurement {
        Measurement::sample(mode, kind, workload, metric, v, unit)
    }

    #[test]
    fn cpu_rows_follow_report_order_and_skip_runners_without_a_figure() {
        let ms = [
            m("tokio-mt", Kind::Peer, "cpu", "vs_one_core", 1.9, "x"),
            m("single", Kind::Mode, "cpu", "vs_one_core", 0.9, "x"),
            m("gil", Kind::Mode, "cpu", "wall", 300.0, "ms"),
            m("py-threads", Kind::Peer, "cpu", "speedup", 0.9, "x"),
            // A Rust runner's `speedup` is over `single`, not over one core: left out.
            m("tokio-ct", Kind::Peer, "cpu", "speedup", 0.9, "x"),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let specs = specs(&refs, Some(2));
        assert_eq!(specs.len(), 1);
        let labels: Vec<&str> = specs[0].rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["single", "tokio-mt", "py-threads"]);
        assert_eq!(specs[0].marks.len(), 2);
        let svg = draw(&specs[0]).unwrap();
        assert!(svg.contains("<svg") && svg.contains("py-threads"), "{svg}");
    }

    #[test]
    fn latency_and_switch_convert_units_and_drop_what_a_log_axis_cannot_show() {
        let ms = [
            m("single", Kind::Mode, "gil_convoy", "p50", 1500.0, "us"),
            m("single", Kind::Mode, "gil_convoy", "max", 0.0, "us"),
            m("os", Kind::Os, "switch", "process_1core", 6.0, "us"),
            m("os", Kind::Os, "switch", "thread_1core", 5000.0, "ns"),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let specs = specs(&refs, None);
        let files: Vec<&str> = specs.iter().map(|s| s.file).collect();
        assert_eq!(files, ["gil_convoy.svg", "switch.svg"]);
        assert_eq!(specs[0].rows[0].values, [Some(1.5), None, None, None]);
        let switch: Vec<(&str, Option<f64>)> = specs[1]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.values[0]))
            .collect();
        assert_eq!(
            switch,
            [
                ("OS threads, 1 core", Some(5000.0)),
                ("OS processes, 1 core", Some(6000.0))
            ]
        );
        for spec in &specs {
            assert!(draw(spec).unwrap().contains("<svg"));
        }
    }

    #[test]
    fn http_rows_have_both_connection_counts_and_skip_runners_without_them() {
        let ms = [
            m(
                "tokio-ct",
                Kind::Peer,
                "http",
                "throughput",
                60000.0,
                "req/s",
            ),
            m("single", Kind::Mode, "http", "throughput", 62000.0, "req/s"),
            m(
                "single",
                Kind::Mode,
                "http",
                "throughput_2",
                61000.0,
                "req/s",
            ),
            m("monoio", Kind::Peer, "http", "p99", 900.0, "us"),
        ];
        let refs: Vec<&Measurement> = ms.iter().collect();
        let specs = specs(&refs, None);
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].file, "http.svg");
        let rows: Vec<(&str, &[Option<f64>])> = specs[0]
            .rows
            .iter()
            .map(|r| (r.label.as_str(), r.values.as_slice()))
            .collect();
        assert_eq!(
            rows,
            [
                ("single", &[Some(62000.0), Some(61000.0)][..]),
                ("tokio-ct", &[Some(60000.0), None][..])
            ]
        );
        assert!(draw(&specs[0]).unwrap().contains("<svg"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(linear_ticks(2.4), [0.0, 0.5, 1.0, 1.5, 2.0]);
        assert_eq!(tick(10f64.powf(-2.0)), "0.01");
        assert_eq!(tick(1000.0), "1000");
    }
}
