//! Getting the new password for `user create` and `user password`: asked
//! for twice without echo on a terminal, or read as one line with
//! `--password-stdin`. Never taken from the command line, where `ps` and
//! shell history would show it.
//!
//! [`PasswordReader`] lets each front end say where "standard input" is:
//! the process's for one-shot commands and the interactive shell, the
//! script itself for a script piped to `roostctl shell`.

use std::io::{self, BufRead, IsTerminal};

use roost_common::admin::Password;

use crate::grammar::PasswordInput;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("no password on standard input")]
    NoInput,
    #[error("the passwords do not match")]
    Mismatch,
    #[error(
        "standard input is not a terminal to ask for the password on; \
         give it with --password-stdin"
    )]
    NoTerminal,
    #[error("cannot read the password: {0}")]
    Io(#[source] io::Error),
}

/// Somewhere a password can come from.
pub trait PasswordReader {
    fn read(&mut self, input: &PasswordInput<'_>) -> Result<Password, PasswordError>;
}

/// The process's standard input and its terminal.
pub struct Console;

impl PasswordReader for Console {
    fn read(&mut self, input: &PasswordInput<'_>) -> Result<Password, PasswordError> {
        let terminal = io::stdin().is_terminal();
        match (input.from_stdin, terminal) {
            // A terminal on stdin even so: one line, still without echo.
            (true, true) => prompt(input),
            (true, false) => next_line(&mut io::stdin().lock().lines()),
            (false, true) => {
                let first = prompt(input)?;
                let again = rpassword::prompt_password("Repeat the password: ")
                    .map_err(PasswordError::Io)?;
                if first.0 != again {
                    return Err(PasswordError::Mismatch);
                }
                Ok(first)
            }
            (false, false) => Err(PasswordError::NoTerminal),
        }
    }
}

/// Asks for the password on the terminal, without echo.
fn prompt(input: &PasswordInput<'_>) -> Result<Password, PasswordError> {
    let what = if input.new_account {
        "Password"
    } else {
        "New password"
    };
    rpassword::prompt_password(format!("{what} for {}: ", input.jid))
        .map(Password)
        .map_err(PasswordError::Io)
}

/// The next line of `lines` (which has dropped its `\n` or `\r\n`); the
/// end of input is no password.
pub fn next_line(
    lines: &mut impl Iterator<Item = io::Result<String>>,
) -> Result<Password, PasswordError> {
    match lines.next() {
        Some(Ok(line)) => Ok(Password(line)),
        Some(Err(e)) => Err(PasswordError::Io(e)),
        None => Err(PasswordError::NoInput),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_without_its_ending() {
        for (input, password) in [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("s3cret", "s3cret"),
            (" spaced out \nnext line\n", " spaced out "),
            ("\n", ""),
        ] {
            assert_eq!(
                next_line(&mut input.as_bytes().lines()).unwrap(),
                Password(password.into()),
                "{input:?}"
            );
        }
        assert!(matches!(
            next_line(&mut "".as_bytes().lines()),
            Err(PasswordError::NoInput)
        ));
    }
}
