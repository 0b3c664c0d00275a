//! Generated files of the repository: the man pages in `man/` and the shell
//! completions in `completions/`, all rendered from the clap definitions of
//! `roostctl` and `roostd`, so `--help`, man pages and completions cannot
//! drift apart. `cargo xtask gen` writes them; a test fails when a checked-in
//! copy is stale.

use std::io;
use std::path::{Path, PathBuf};

use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use roost_shell::grammar::{ENVIRONMENT, EXIT_STATUSES};

/// Where generated files go, relative to the workspace root. Every `*.1` in
/// `man/` and every file in `completions/` is generated: one that is no
/// longer rendered is stale.
pub const MAN_DIR: &str = "man";
pub const COMPLETIONS_DIR: &str = "completions";

/// The shells completions are generated for.
const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// The manual every page belongs to, shown in its header.
const MANUAL: &str = "Roost Manual";

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Every generated file: its path relative to the workspace root and its
/// contents. Deterministic (no dates), so a check can compare bytes.
pub fn render_all() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    // Built with the help subcommand off, as clap_mangen::generate_to does:
    // `roostctl help` needs no page of its own.
    let mut roostctl = roostctl::command().disable_help_subcommand(true);
    roostctl.build();
    let source = format!("Roost {}", roostctl.get_version().unwrap_or_default());
    roostctl_pages(&roostctl, &source, &mut files);
    let mut roostd = Vec::new();
    Man::new(roost_server::cli::command())
        .manual(MANUAL)
        .source(&source)
        .render(&mut roostd)
        .expect("rendering to memory cannot fail");
    files.push((Path::new(MAN_DIR).join("roostd.1"), roostd));
    for shell in SHELLS {
        let mut command = roostctl::command();
        let name = command.get_name().to_owned();
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut command, &name, &mut text);
        files.push((
            Path::new(COMPLETIONS_DIR).join(shell.file_name(&name)),
            text,
        ));
    }
    files
}

/// One page for `command` and one for each visible subcommand, recursively:
/// roostctl.1, roostctl-invites-api.1, roostctl-invites-api-create.1, ...
fn roostctl_pages(command: &clap::Command, source: &str, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    files.push(roostctl_page(command, source));
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        roostctl_pages(sub, source, files);
    }
}

/// clap_mangen's page, with the exit statuses and environment as proper man
/// sections rather than the `--help` epilogue (which roff would run into one
/// paragraph).
fn roostctl_page(command: &clap::Command, source: &str) -> (PathBuf, Vec<u8>) {
    let man = Man::new(command.clone().after_help(None::<&str>))
        .manual(MANUAL)
        .source(source);
    let mut page = Vec::new();
    man.render(&mut page)
        .expect("rendering to memory cannot fail");
    let page = String::from_utf8(page).expect("clap_mangen writes UTF-8");

    let mut sections = Roff::new();
    sections.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUSES {
        sections.control("TP", []);
        sections.text([bold(code.to_string())]);
        sections.text([roman(meaning)]);
    }
    sections.control("SH", ["ENVIRONMENT"]);
    for (name, meaning) in ENVIRONMENT {
        sections.control("TP", []);
        sections.text([bold(name)]);
        sections.text([roman(meaning)]);
    }
    sections.control("SH", ["SEE ALSO"]);
    let mut see_also = vec![bold("roostd"), roman("(1)")];
    if command.get_name() != "roostctl" {
        see_also.extend([roman(", "), bold("roostctl"), roman("(1)")]);
    }
    sections.text(see_also);

    // Before the VERSION section when there is one, as man pages end with
    // SEE ALSO by convention.
    let split = page.find(".SH VERSION\n").unwrap_or(page.len());
    let (head, tail) = page.split_at(split);
    let text = format!("{head}{}{tail}", sections.to_roff());
    (
        Path::new(MAN_DIR).join(man.get_filename()),
        text.into_bytes(),
    )
}

/// Generated files under `root` that are not in `rendered`: left over from
/// a command that was removed or renamed.
pub fn leftovers(root: &Path, rendered: &[(PathBuf, Vec<u8>)]) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for (dir, generated) in [
        (
            MAN_DIR,
            (|p: &Path| p.extension().is_some_and(|e| e == "1")) as fn(&Path) -> bool,
        ),
        (COMPLETIONS_DIR, |_: &Path| true),
    ] {
        let entries = match std::fs::read_dir(root.join(dir)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let path = Path::new(dir).join(entry?.file_name());
            if generated(&path) && !rendered.iter().any(|(p, _)| *p == path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}
