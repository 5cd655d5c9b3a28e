//! [`redact_url`]: the one function that makes a store URL safe to print — every log line,
//! error message and `Debug` output of taskcore that shows a URL goes through it.

/// Query parameters whose value is a secret (compared ignoring case).
const SECRET_PARAMETERS: &[&str] = &[
    "password",
    "pass",
    "passwd",
    "pwd",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "auth",
    "api_key",
    "apikey",
];

/// `url` with every secret replaced by `***`: the password of `user:password@` and the value of
/// a secret query parameter (`?password=`, `?pass=`, `?token=`, …). Everything else is kept, so
/// the result still says which server, database and settings are meant.
///
/// ```
/// use taskcore_store::redact_url;
/// assert_eq!(redact_url("postgres://app:s3cret@db/tasks?sslmode=require"), "postgres://app:***@db/tasks?sslmode=require");
/// assert_eq!(redact_url("unix:///run/redis.sock?db=2&pass=s3cret"), "unix:///run/redis.sock?db=2&pass=***");
/// assert_eq!(redact_url("sqlite://data/tasks.db?durability=normal"), "sqlite://data/tasks.db?durability=normal");
/// ```
pub fn redact_url(url: &str) -> String {
    let (rest, fragment) = url.split_once('#').map_or((url, None), |(rest, fragment)| (rest, Some(fragment)));
    let (head, query) = rest.split_once('?').map_or((rest, None), |(head, query)| (head, Some(query)));
    let mut out = redact_user_info(head);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((key, _)) if SECRET_PARAMETERS.iter().any(|secret| key.eq_ignore_ascii_case(secret)) => {
                    format!("{key}=***")
                }
                _ => param.to_owned(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// `scheme://user:password@host/path` → `scheme://user:***@host/path`. The password ends at
/// the last `@`, so one written with an unescaped `/` or `@` is masked whole too.
fn redact_user_info(head: &str) -> String {
    let Some((scheme, rest)) = head.split_once("://") else { return head.to_owned() };
    let Some((user_info, host_and_path)) = rest.rsplit_once('@') else { return head.to_owned() };
    match user_info.split_once(':') {
        Some((user, _password)) if !user.contains('/') => format!("{scheme}://{user}:***@{host_and_path}"),
        _ => head.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_the_user_info_are_masked() {
        assert_eq!(redact_url("redis://:s3cret@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(redact_url("postgres://app:s3cr%40t@db:5432/tasks"), "postgres://app:***@db:5432/tasks");
        assert_eq!(redact_url("postgres://app:p@ss@db/tasks"), "postgres://app:***@db/tasks");
        assert_eq!(redact_url("postgres://app:a/b@db/tasks"), "postgres://app:***@db/tasks");
        assert_eq!(redact_url("sqlite:///srv/me@home:x/t.db"), "sqlite:///srv/me@home:x/t.db");
        assert_eq!(redact_url("postgres://app@db/tasks"), "postgres://app@db/tasks");
        assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            redact_url("postgres://app@db/tasks?password=x&sslmode=require"),
            "postgres://app@db/tasks?password=***&sslmode=require"
        );
        assert_eq!(redact_url("unix:///tmp/r.sock?PASS=x&db=1"), "unix:///tmp/r.sock?PASS=***&db=1");
        assert_eq!(redact_url("redis://u:a@h/0?prefix=p&token=t#f"), "redis://u:***@h/0?prefix=p&token=***#f");
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        for url in ["sqlite://data/taskcore.db", "sqlite::memory:", "memory:", "taskcore.db", "sqlite:x.db?mode=ro"] {
            assert_eq!(redact_url(url), url);
        }
    }
}
