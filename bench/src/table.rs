//! The fixed-width output: one row per workload and runner as each finishes, and a side by
//! side summary of the headline figures at the end.

use crate::record::{Measurement, Ratio};

/// The header of the row table.
pub fn header() -> String {
    format!(
        "{:<15} {:<10} {:<16} {:>12} {:<7} {}",
        "mode", "workload", "metric", "value", "unit", "size | detail"
    )
}

/// One row: the headline measurement of a workload on a runner, with its size and detail.
pub fn row(m: &Measurement, detail: &str) -> String {
    format!(
        "{:<15} {:<10} {:<16} {:>12} {:<7} {} | {}",
        m.mode,
        m.workload,
        m.metric,
        value(m.value),
        m.unit,
        m.params,
        detail
    )
}

/// A figure with as many decimals as it deserves.
pub fn value(v: f64) -> String {
    if !v.is_finite() {
        "-".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// The headline figures side by side: one row per (workload, metric), one column per runner.
pub fn side_by_side(headlines: &[Measurement]) -> String {
    let mut runners: Vec<&str> = Vec::new();
    let mut rows: Vec<(&str, &str, &str)> = Vec::new();
    for m in headlines {
        if !runners.contains(&m.mode.as_str()) {
            runners.push(&m.mode);
        }
        let key = (m.workload.as_str(), m.metric.as_str(), m.unit.as_str());
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    let width = runners.iter().map(|r| r.len()).max().unwrap_or(0).max(10);
    let mut out = format!("{:<10} {:<16} {:<7}", "workload", "metric", "unit");
    for r in &runners {
        out += &format!(" {r:>width$}");
    }
    out.push('\n');
    for (workload, metric, unit) in rows {
        out += &format!("{workload:<10} {metric:<16} {unit:<7}");
        for r in &runners {
            let cell = headlines
                .iter()
                .find(|m| m.mode == *r && m.workload == workload && m.metric == metric)
                .map_or_else(|| "".to_string(), |m| value(m.value));
            out += &format!(" {cell:>width$}");
        }
        out.push('\n');
    }
    out
}

/// The ours ÷ tokio throughput ratios of this run, one line each (nothing without any).
pub fn ratios(ratios: &[Ratio]) -> String {
    if ratios.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nours / tokio, throughput measured in this run:\n");
    for r in ratios {
        out += &format!(
            "{:<10} {:<10} {}x {}\n",
            r.workload,
            r.mode,
            value(r.value),
            r.peer
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_three_significant_figures_or_so() {
        assert_eq!(value(12345.6), "12346");
        assert_eq!(value(123.45), "123.5");
        assert_eq!(value(1.2345), "1.23");
        assert_eq!(value(0.12345), "0.123");
        assert_eq!(value(f64::NAN), "-");
    }
}
