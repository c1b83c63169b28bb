//! `faultline completions SHELL` and `faultline man`: shell completion scripts and a roff man
//! page, both generated from the clap definition in `main.rs`, so they list exactly the
//! commands and flags the binary takes.

use crate::Cli;
use crate::failure::Failure;
use clap::CommandFactory;
use std::io::Write;
use std::process::ExitCode;

/// Prints the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode, Failure> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "faultline", &mut out);
    print_all(&out)
}

/// Prints the man page (roff, section 1) on stdout: name, synopsis, description and global
/// options as clap_mangen renders them, then a COMMANDS section with each subcommand's summary,
/// arguments, options and examples (one page, so nothing points at pages that do not exist).
pub fn man() -> Result<ExitCode, Failure> {
    let command = Cli::command();
    let page = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    let written = page
        .render_title(&mut out)
        .and_then(|()| page.render_name_section(&mut out))
        .and_then(|()| page.render_synopsis_section(&mut out))
        .and_then(|()| page.render_description_section(&mut out))
        .and_then(|()| page.render_options_section(&mut out))
        .and_then(|()| commands_section(&command, &mut out))
        .and_then(|()| page.render_version_section(&mut out));
    written.map_err(|e| Failure::Runtime(format!("cannot render the man page: {e}")))?;
    print_all(&out)
}

/// `.SH COMMANDS`: one `.SS` per subcommand (nested ones as `faultline import litellm`).
fn commands_section(command: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH COMMANDS")?;
    subcommand_sections(command, "faultline", out)
}

fn subcommand_sections(
    command: &clap::Command,
    prefix: &str,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{prefix} {}", sub.get_name());
        writeln!(out, ".SS \\fB{}\\fR", roff_text(&name))?;
        if let Some(about) = sub.get_long_about().or(sub.get_about()) {
            writeln!(out, "{}", roff_text(&about.to_string()))?;
        }
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let label = match (arg.get_long(), arg.get_value_names()) {
                (Some(long), Some(values)) => format!("--{long} {}", values[0]),
                (Some(long), None) if arg.get_action().takes_values() => {
                    format!("--{long} {}", id.to_uppercase())
                }
                (Some(long), None) => format!("--{long}"),
                (None, Some(values)) => values[0].to_string(),
                (None, None) => id.to_uppercase(),
            };
            writeln!(out, ".TP\n\\fB{}\\fR", roff_text(&label))?;
            if let Some(help) = arg.get_long_help().or(arg.get_help()) {
                writeln!(out, "{}", roff_text(&help.to_string()))?;
            }
        }
        if let Some(after) = sub.get_after_help() {
            writeln!(out, ".PP\n.nf\n{}\n.fi", roff_text(&after.to_string()))?;
        }
        subcommand_sections(sub, &name, out)?;
    }
    Ok(())
}

/// Text made safe for roff: backslashes and hyphens escaped, other characters than ASCII as
/// `\[uXXXX]`, no line starting with a control character.
fn roff_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut escaped = String::with_capacity(line.len());
            for c in line.chars() {
                match c {
                    '\\' => escaped.push_str("\\e"),
                    '-' => escaped.push_str("\\-"),
                    c if c.is_ascii() => escaped.push(c),
                    c => escaped.push_str(&format!("\\[u{:04X}]", c as u32)),
                }
            }
            if escaped.starts_with(['.', '\'']) {
                format!("\\&{escaped}")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn print_all(bytes: &[u8]) -> Result<ExitCode, Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Runtime(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}
