//! The query string of a store URL, for backend authors: splitting `?key=value&…` off the URL,
//! decoding the parameters a backend reads, keeping the ones its driver reads, and refusing the
//! rest by name — so that every backend's `Config::from_url` reads its settings the same way.
//!
//! ```
//! use taskcore::store::url_params::{duration, split};
//! let mut timeout = None;
//! let url = split("x://host/db?timeout=250ms&mode=ro").read("x://", &["timeout"], &["mode"], |key, value| {
//!     if key != "timeout" {
//!         return Ok(false);
//!     }
//!     timeout = Some(duration("timeout", value)?);
//!     Ok(true)
//! })?;
//! assert_eq!(url, "x://host/db?mode=ro");
//! assert_eq!(timeout, Some(std::time::Duration::from_millis(250)));
//! # Ok::<(), taskcore::Error>(())
//! ```

use std::time::Duration;

use crate::error::{Error, Result};

/// A store URL taken apart by [`split`].
#[derive(Debug)]
pub struct UrlParams<'a> {
    /// The URL before its `?`, its scheme in lowercase (drivers compare schemes exactly).
    base: String,
    /// Every `key=value` of the query: the raw text, the decoded key and value.
    pairs: Vec<(&'a str, String, String)>,
    /// The raw pairs kept for the driver.
    kept: Vec<&'a str>,
}

/// Splits `url` at its first `?` into the URL (scheme in lowercase) and its parameters
/// (decoded as in an HTML form: `%XX` escapes, `+` for a space).
pub fn split(url: &str) -> UrlParams<'_> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match base.split_once(':') {
        Some((scheme, rest)) => format!("{}:{rest}", scheme.to_ascii_lowercase()),
        None => base.to_owned(),
    };
    let pairs = query
        .split('&')
        .filter(|raw| !raw.is_empty())
        .map(|raw| {
            let (key, value) = raw.split_once('=').unwrap_or((raw, ""));
            (raw, decode(key), decode(value))
        })
        .collect();
    UrlParams { base, pairs, kept: Vec::new() }
}

impl<'a> UrlParams<'a> {
    /// Hands each parameter to `read` (decoded key and value). `read` answers `Ok(true)` when
    /// it used the parameter, `Ok(false)` when the parameter is not one of this backend's.
    /// Parameters named in `driver` are kept for the driver; any other is refused with an
    /// error naming it and listing what `scheme` URLs accept (`ours` and `driver`).
    pub fn read(
        mut self,
        scheme: &str,
        ours: &[&str],
        driver: &[&str],
        mut read: impl FnMut(&str, &str) -> Result<bool>,
    ) -> Result<String> {
        for (raw, key, value) in std::mem::take(&mut self.pairs) {
            if read(&key, &value)? {
                continue;
            }
            if driver.contains(&key.as_str()) {
                self.kept.push(raw);
                continue;
            }
            return Err(Error::invalid(
                "url",
                format!(
                    "unknown parameter '{key}' in the {scheme} URL; it accepts {} (and for the driver: {})",
                    ours.join(", "),
                    driver.join(", ")
                ),
            ));
        }
        Ok(if self.kept.is_empty() { self.base } else { format!("{}?{}", self.base, self.kept.join("&")) })
    }
}

/// A duration parameter: `500ms`, `5s`, `2m`, or a bare number of seconds.
pub fn duration(field: &'static str, value: &str) -> Result<Duration> {
    let value = value.trim();
    let (digits, unit) = value.find(|c: char| !c.is_ascii_digit()).map_or((value, ""), |at| value.split_at(at));
    let amount: u64 = digits
        .parse()
        .map_err(|_| Error::invalid(field, format!("{field}={value:?} is not a duration: use 500ms, 5s or 2m")))?;
    match unit {
        "ms" => Ok(Duration::from_millis(amount)),
        "" | "s" => Ok(Duration::from_secs(amount)),
        "m" => Ok(Duration::from_secs(amount.saturating_mul(60))),
        _ => Err(Error::invalid(field, format!("{field}={value:?} has an unknown unit: use ms, s or m"))),
    }
}

/// A whole-number parameter.
pub fn number<T: std::str::FromStr>(field: &'static str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::invalid(field, format!("{field}={value:?} is not a whole number")))
}

/// `%XX` escapes and `+` decoded; an invalid escape is kept as written.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_kept_or_refused_by_name() {
        let mut seen = Vec::new();
        let url = split("x://h/db?ours=1&mode=ro&b=a%20b+c").read("x://", &["ours", "b"], &["mode"], |key, value| {
            seen.push((key.to_owned(), value.to_owned()));
            Ok(key != "mode")
        });
        assert_eq!(url.unwrap(), "x://h/db?mode=ro");
        assert_eq!(seen[2], ("b".to_owned(), "a b c".to_owned()));
        let unknown = split("x://h?typo=1").read("x://", &["ours"], &["mode"], |_, _| Ok(false)).unwrap_err();
        assert!(unknown.to_string().contains("'typo'"), "{unknown}");
        assert_eq!(split("x://h").read("x://", &[], &[], |_, _| Ok(false)).unwrap(), "x://h");
        assert_eq!(split("SQLite::memory:").read("x://", &[], &[], |_, _| Ok(false)).unwrap(), "sqlite::memory:");
    }

    #[test]
    fn durations_and_numbers_parse() {
        assert_eq!(duration("t", "250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("t", "5s").unwrap(), Duration::from_secs(5));
        assert_eq!(duration("t", "7").unwrap(), Duration::from_secs(7));
        assert_eq!(duration("t", "2m").unwrap(), Duration::from_secs(120));
        assert!(duration("t", "5h").is_err());
        assert!(duration("t", "soon").is_err());
        assert_eq!(number::<u32>("n", "12").unwrap(), 12);
        assert!(number::<u32>("n", "-1").is_err());
        assert_eq!(decode("%7Bx%7D%2"), "{x}%2");
    }
}
