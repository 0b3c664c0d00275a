//! `cargo xtask`: repository chores (see the `xtask` library).

use std::path::Path;

use anyhow::Context;
use clap::Parser;

/// Repository chores for Roost.
#[derive(Parser)]
#[command(name = "cargo xtask")]
enum Task {
    /// Regenerate the man pages (man/) and shell completions (completions/)
    /// from the clap definitions of roostctl and roostd
    Gen,
}

fn main() -> anyhow::Result<()> {
    match Task::parse() {
        Task::Gen => generate(&xtask::workspace_root()),
    }
}

fn generate(root: &Path) -> anyhow::Result<()> {
    let files = xtask::render_all();
    for (path, text) in &files {
        let full = root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("writing {}", full.display()))?;
    }
    for path in xtask::leftovers(root, &files).context("listing generated directories")? {
        std::fs::remove_file(root.join(&path))
            .with_context(|| format!("removing stale {}", path.display()))?;
        println!("removed {}", path.display());
    }
    println!("wrote {} files", files.len());
    Ok(())
}
