//! The markdown tables `http-bench` prints: each workload on taskcore beside the original and
//! the axum reference of the same run, with ratios; and HTTP beside direct `TaskManager` calls.

use crate::wrk::Measured;

/// One workload measured on every server that has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// What was requested.
    pub workload: String,
    /// taskcore on the store under test.
    pub ours: Measured,
    /// The original Flask app (`None`: not run, or it has no such endpoint).
    pub original: Option<Measured>,
    /// The minimal axum reference (`None`: it has no such endpoint).
    pub axum: Option<Measured>,
}

/// The header of the main table; the original's columns only when it runs.
pub fn header(with_original: bool) -> String {
    let mut head = String::from("| workload | taskcore req/s | p99 ms | errors |");
    let mut line = String::from("|---|---:|---:|---:|");
    if with_original {
        head.push_str(" original req/s | p99 ms | errors | × original |");
        line.push_str("---:|---:|---:|---:|");
    }
    head.push_str(" axum req/s | p99 ms | × axum |");
    line.push_str("---:|---:|---:|");
    format!("{head}\n{line}")
}

/// One line of the main table; a rate from fewer than two rounds of `connections` is marked
/// `(short)` (see [`Measured::too_short`]).
pub fn line(row: &Row, with_original: bool, connections: u32) -> String {
    let rate = |m: &Measured| {
        let figure = rate(m.rps);
        if m.too_short(connections) { format!("{figure} (short)") } else { figure }
    };
    let ours = &row.ours;
    let mut text = format!("| {} | {} | {:.1} | {} |", row.workload, rate(ours), ours.p99_ms, ours.errors);
    if with_original {
        match &row.original {
            Some(o) => {
                text.push_str(&format!(" {} | {:.1} | {} | {} |", rate(o), o.p99_ms, o.errors, ratio(ours.rps, o.rps)))
            }
            None => text.push_str(" — | — | — | — |"),
        }
    }
    match &row.axum {
        Some(a) => text.push_str(&format!(" {} | {:.1} | {} |", rate(a), a.p99_ms, ratio(ours.rps, a.rps))),
        None => text.push_str(" — | — | — |"),
    }
    text
}

/// The header of the HTTP-versus-direct table.
pub fn direct_header() -> &'static str {
    "| operation | HTTP req/s | TaskManager direct req/s | HTTP / direct |\n|---|---:|---:|---:|"
}

/// One line of the HTTP-versus-direct table.
pub fn direct_line(operation: &str, http: &Measured, direct: &Measured) -> String {
    format!("| {operation} | {} | {} | {} |", rate(http.rps), rate(direct.rps), ratio(http.rps, direct.rps))
}

/// Requests per second with thousands separators, or one decimal below 100.
pub fn rate(rps: f64) -> String {
    if rps < 100.0 {
        return format!("{rps:.1}");
    }
    let digits = format!("{rps:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `ours / base` as `1.23×`, or `—` without a base.
pub fn ratio(ours: f64, base: f64) -> String {
    if base > 0.0 { format!("{:.2}×", ours / base) } else { "—".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_ratios_read_well() {
        assert_eq!(rate(41_838.4), "41,838");
        assert_eq!(rate(698.0), "698");
        assert_eq!(rate(19.25), "19.2");
        assert_eq!(ratio(30.0, 10.0), "3.00×");
        assert_eq!(ratio(1.0, 0.0), "—");
        let m = Measured { rps: 200.0, p50_ms: 1.0, p99_ms: 2.0, errors: 0, requests: 1000 };
        let row = Row { workload: "x".into(), ours: m, original: None, axum: Some(m) };
        assert_eq!(line(&row, true, 64), "| x | 200 | 2.0 | 0 | — | — | — | — | 200 | 2.0 | 1.00× |");
        assert_eq!(line(&row, false, 600), "| x | 200 (short) | 2.0 | 0 | 200 (short) | 2.0 | 1.00× |");
        assert_eq!(header(false).lines().count(), 2);
    }
}
