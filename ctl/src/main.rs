//! `roostctl`: administer a running roostd. Everything is in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(roostctl::run_from_args())
}
