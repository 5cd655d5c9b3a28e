//! The store settings older deployments give in environment variables, mapped onto the store
//! URL's query string: `TASKCORE_SQLITE_DURABILITY` → `sqlite:…?durability=`,
//! `TASKCORE_POSTGRES_SCHEMA` → `postgres:…?schema=`, `TASKCORE_REDIS_PREFIX` → `redis:…?prefix=`.
//! A parameter already in the URL wins over the variable. Only this binary reads them; the
//! libraries take every setting from the URL.

/// Each variable, the URL schemes it applies to, and the query parameter it becomes.
const LEGACY: &[(&str, &[&str], &str)] = &[
    ("TASKCORE_SQLITE_DURABILITY", &["sqlite"], "durability"),
    ("TASKCORE_POSTGRES_SCHEMA", &["postgres", "postgresql"], "schema"),
    ("TASKCORE_REDIS_PREFIX", &["redis", "rediss", "redis+cluster", "unix", "redis+unix"], "prefix"),
];

/// `url` with the legacy variables that apply to its scheme added as query parameters.
pub(crate) fn apply(url: &str) -> String {
    apply_from(url, |name| std::env::var(name).ok())
}

/// [`apply`] with the environment given as a lookup function.
pub(crate) fn apply_from(url: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase()).unwrap_or_default();
    let mut url = url.to_owned();
    for (variable, schemes, parameter) in LEGACY {
        if !schemes.contains(&scheme.as_str()) || has_parameter(&url, parameter) {
            continue;
        }
        if let Some(value) = lookup(variable) {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(parameter);
            url.push('=');
            url.push_str(&encode(&value));
        }
    }
    url
}

fn has_parameter(url: &str, parameter: &str) -> bool {
    url.split_once('?').is_some_and(|(_, query)| {
        query.split('&').any(|pair| pair.split_once('=').map_or(pair, |(key, _)| key) == parameter)
    })
}

/// Percent-encodes everything but unreserved characters.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TASKCORE_SQLITE_DURABILITY" => Some("normal".into()),
            "TASKCORE_POSTGRES_SCHEMA" => Some("tenant_a".into()),
            "TASKCORE_REDIS_PREFIX" => Some("app{1}".into()),
            _ => None,
        }
    }

    #[test]
    fn variables_become_parameters_of_their_scheme_only() {
        assert_eq!(apply_from("sqlite://t.db", env), "sqlite://t.db?durability=normal");
        assert_eq!(
            apply_from("postgres://db/x?sslmode=disable", env),
            "postgres://db/x?sslmode=disable&schema=tenant_a"
        );
        assert_eq!(apply_from("redis://h:1/0", env), "redis://h:1/0?prefix=app%7B1%7D");
        assert_eq!(apply_from("memory:", env), "memory:");
    }

    #[test]
    fn the_url_wins_over_the_variable() {
        assert_eq!(apply_from("sqlite://t.db?durability=full", env), "sqlite://t.db?durability=full");
        assert_eq!(apply_from("sqlite://t.db", |_| None), "sqlite://t.db");
    }
}
