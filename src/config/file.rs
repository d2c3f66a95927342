//! The config file, layered under flags and environment as clap defaults: each value is
//! checked by its flag's own parser first, so a file can never hold what a flag could not.
//! Also `--print-config`'s account of where each setting came from.

use clap::error::ErrorKind;
use std::ffi::OsString;
use std::path::PathBuf;

/// `name = value  # source` for every setting of the chosen subcommand (and the global
/// ones); secrets are shown as `<set>`.
pub(super) fn describe(cmd: &clap::Command, matches: &clap::ArgMatches, from_file: &[String]) -> String {
    use clap::parser::ValueSource;
    let (cmd, sub) = match matches.subcommand() {
        Some((name, sub)) => (cmd.find_subcommand(name).unwrap_or(cmd), sub),
        None => (cmd, matches),
    };
    let mut lines = Vec::new();
    for arg in cmd.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else {
            continue;
        };
        if matches!(long, "help" | "version" | "print-config") {
            continue;
        }
        let Some(source) = sub.value_source(id) else {
            lines.push(format!("{long} = (unset)"));
            continue;
        };
        let values: Vec<String> = sub
            .get_raw(id)
            .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let value = if arg.is_hide_env_values_set() {
            "<set>".to_owned()
        } else {
            values.join(",")
        };
        let source = match source {
            ValueSource::CommandLine => "flag",
            ValueSource::EnvVariable => "env",
            ValueSource::DefaultValue if from_file.iter().any(|f| f == long) => "config file",
            _ => "default",
        };
        lines.push(format!("{long} = {value}  # {source}"));
    }
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `--config X`, `--config=X`, or `STOCKWATCH_CONFIG`, found before the real parse.
pub(super) fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("STOCKWATCH_CONFIG").map(PathBuf::from)
}

/// A TOML value as the string a flag would carry (lists comma-separated).
fn flag_value(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|v| flag_value(v).filter(|_| !v.is_array() && !v.is_table()))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(",")),
        toml::Value::Datetime(_) | toml::Value::Table(_) => None,
    }
}

/// Makes each file setting the default of the flag it names, in every (sub)command that
/// has it, after checking it with the flag's own parser.
pub(super) fn layer_file(
    mut cmd: clap::Command,
    table: &toml::Table,
    path: &std::path::Path,
    from_file: &mut Vec<String>,
) -> Result<clap::Command, clap::Error> {
    let subcommands: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    for (key, value) in table {
        if let (Some(section), toml::Value::Table(inner)) = (subcommands.iter().find(|s| *s == key), value) {
            let sub = cmd.find_subcommand(section).expect("listed above").clone();
            let sub = layer_file(sub, inner, path, from_file)?;
            cmd = cmd.mut_subcommand(section, |_| sub);
            continue;
        }
        let flag = key.replace('_', "-");
        let bad = |msg: String| {
            clap::Error::raw(
                ErrorKind::InvalidValue,
                format!("config file {}: {msg}\n", path.display()),
            )
        };
        let value =
            flag_value(value).ok_or_else(|| bad(format!("`{key}` must be a string, number, boolean or list")))?;
        let mut found = false;
        cmd = apply_default(cmd, &flag, &value, &mut found)
            .map_err(|e| bad(format!("`{key}` = {value:?}: {}", first_line(&e))))?;
        if !found {
            return Err(bad(format!("unknown setting `{key}` (see --help for the names)")));
        }
        from_file.push(flag);
    }
    Ok(cmd)
}

fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned()
}

/// Runs `value` through the flag's own parser and range, as if given on the command line.
fn check_value(arg: &clap::Arg, flag: &str, value: &str) -> Result<(), clap::Error> {
    if !arg.get_action().takes_values() {
        return match value {
            "true" | "false" => Ok(()),
            _ => Err(clap::Error::raw(ErrorKind::InvalidValue, "expected true or false")),
        };
    }
    let probe = arg
        .clone()
        .required(false)
        .global(false)
        .env(None::<&str>)
        .default_value(None::<&str>);
    clap::Command::new("check")
        .arg(probe)
        .try_get_matches_from(["check".to_owned(), format!("--{flag}={value}")])
        .map(|_| ())
}

/// Sets `value` as the default of `--flag` here and in every nested subcommand.
fn apply_default(
    mut cmd: clap::Command,
    flag: &str,
    value: &str,
    found: &mut bool,
) -> Result<clap::Command, clap::Error> {
    let arg = cmd.get_arguments().find(|a| a.get_long() == Some(flag)).cloned();
    if flag != "config"
        && let Some(arg) = arg
    {
        check_value(&arg, flag, value)?;
        *found = true;
        let value = value.to_owned();
        // A secret (admin token, Redis URL) must not show up in --help either.
        cmd = cmd.mut_arg(arg.get_id().clone(), |a| {
            let secret = a.is_hide_env_values_set();
            a.default_value(value).hide_default_value(secret)
        });
    }
    let names: Vec<String> = cmd.get_subcommands().map(|c| c.get_name().to_owned()).collect();
    for name in names {
        let sub = cmd.find_subcommand(&name).expect("listed above").clone();
        let sub = apply_default(sub, flag, value, found)?;
        cmd = cmd.mut_subcommand(&name, |_| sub);
    }
    Ok(cmd)
}
