//! The configuration file (`warden.toml`): every `serve` option by its long name, with `_` for
//! `-`. What it sets is given to `serve` as if typed, unless the command line names the option
//! or its `WARDEN_…` environment variable is set: command line, then environment, then file,
//! then the defaults. One parser (clap's) reads every value, so the file accepts exactly what
//! the command line does and its mistakes read the same.

use anyhow::{Context, Result, anyhow, bail};
use std::path::{Path, PathBuf};

/// `serve`'s options a file may set, with their environment variables.
pub const KEYS: &[(&str, &str)] = &[
    ("db", "WARDEN_DB"),
    ("listen", "WARDEN_LISTEN"),
    ("policy_dir", "WARDEN_POLICY_DIR"),
    ("master_key_file", "WARDEN_MASTER_KEY_FILE"),
    ("calendar", "WARDEN_CALENDAR"),
    ("metrics_from", "WARDEN_METRICS_FROM"),
    ("trusted_proxies", "WARDEN_TRUSTED_PROXIES"),
    ("tls_cert", "WARDEN_TLS_CERT"),
    ("tls_key", "WARDEN_TLS_KEY"),
    ("max_connections", "WARDEN_MAX_CONNECTIONS"),
    ("header_timeout", "WARDEN_HEADER_TIMEOUT"),
    ("idle_timeout", "WARDEN_IDLE_TIMEOUT"),
    ("import_max_bytes", "WARDEN_IMPORT_MAX_BYTES"),
    ("imports_per_org", "WARDEN_IMPORTS_PER_ORG"),
    ("imports_running", "WARDEN_IMPORTS_RUNNING"),
    ("statistics_max_age", "WARDEN_STATISTICS_MAX_AGE"),
];

/// The settings that are numbers (the others are text, or lists of text).
const NUMBERS: &[&str] = &[
    "max_connections",
    "header_timeout",
    "idle_timeout",
    "import_max_bytes",
    "imports_per_org",
    "imports_running",
    "statistics_max_age",
];

/// Where the configuration is: `--config FILE` anywhere on the command line, else
/// `WARDEN_CONFIG`, else `warden.toml` in the working directory when it exists.
pub fn locate(args: &[String]) -> Option<PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(p) = a.strip_prefix("--config=") {
            return Some(PathBuf::from(p));
        }
    }
    if let Some(p) = std::env::var_os("WARDEN_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let default = PathBuf::from("warden.toml");
    default.exists().then_some(default)
}

/// The file's settings as `(option, value)`, each value as the command line would take it.
pub fn read(path: &Path) -> Result<Vec<(&'static str, String)>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow!("{}: not TOML: {e}", path.display()))?;
    let mut out = vec![];
    for (key, value) in table {
        let Some((name, _)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            bail!(
                "{}: unknown setting {key:?}; a configuration file sets {}",
                path.display(),
                known.join(", ")
            );
        };
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(n) if NUMBERS.contains(&key.as_str()) => n.to_string(),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    toml::Value::String(s) => Ok(s),
                    other => Err(anyhow!(
                        "{}: {key}: list items are strings, not {other}",
                        path.display()
                    )),
                })
                .collect::<Result<Vec<_>>>()?
                .join(","),
            other => bail!(
                "{}: {key}: expected a string or a list of strings, not {other}",
                path.display()
            ),
        };
        out.push((*name, text));
    }
    Ok(out)
}

/// The command line with the file's settings added to `serve` where neither the command line
/// nor the environment gives them.
pub fn apply(args: Vec<String>, settings: &[(&'static str, String)]) -> Vec<String> {
    let Some(pos) = args.iter().position(|a| a == "serve") else {
        return args;
    };
    let given = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    let mut added = vec![];
    for (key, value) in settings {
        let flag = format!("--{}", key.replace('_', "-"));
        let env = KEYS
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, e)| *e)
            .unwrap_or_default();
        if given(&flag) || std::env::var_os(env).is_some() {
            continue;
        }
        added.push(format!("{flag}={value}"));
    }
    let mut out = args;
    let tail = out.split_off(pos + 1);
    out.extend(added);
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fills_what_the_command_line_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("warden.toml");
        std::fs::write(
            &f,
            "listen = \"0.0.0.0:9000\"\nmetrics_from = [\"10.0.0.0/8\", \"::1/128\"]\ndb = \"sqlite://x.db\"\n",
        )
        .unwrap();
        let s = read(&f).unwrap();
        let args: Vec<String> = ["warden", "serve", "--db", "sqlite://y.db"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = apply(args, &s);
        assert!(out.contains(&"--listen=0.0.0.0:9000".to_owned()), "{out:?}");
        assert!(out.contains(&"--metrics-from=10.0.0.0/8,::1/128".to_owned()));
        assert!(
            !out.iter().any(|a| a.contains("x.db")),
            "the command line wins"
        );
        std::fs::write(&f, "lisen = \"x\"\n").unwrap();
        assert!(
            read(&f)
                .unwrap_err()
                .to_string()
                .contains("unknown setting \"lisen\"")
        );
        std::fs::write(&f, "listen = 8080\n").unwrap();
        assert!(
            read(&f)
                .unwrap_err()
                .to_string()
                .contains("expected a string")
        );
        // The connection limits are numbers.
        std::fs::write(&f, "max_connections = 5000\nidle_timeout = 30\n").unwrap();
        let out = apply(vec!["warden".into(), "serve".into()], &read(&f).unwrap());
        assert!(
            out.contains(&"--max-connections=5000".to_owned()),
            "{out:?}"
        );
        assert!(out.contains(&"--idle-timeout=30".to_owned()), "{out:?}");
    }
}
