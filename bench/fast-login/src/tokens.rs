//! The FAST tokens of the bench accounts between runs: one file, one
//! `INDEX<TAB>TOKEN` line per account, written by `setup` and rewritten by
//! `login` with the tokens the server rotated. Tokens are login secrets,
//! so the file is created 0600 and replaced atomically.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Token per account index; `None` where the account has none.
pub fn load(path: &Path, users: usize) -> io::Result<Vec<Option<String>>> {
    let text = fs::read_to_string(path)?;
    let mut tokens = vec![None; users];
    for (n, line) in text.lines().enumerate() {
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}:{}: not INDEX<TAB>TOKEN", path.display(), n + 1),
            )
        };
        let (index, token) = line.split_once('\t').ok_or_else(bad)?;
        let index: usize = index.parse().map_err(|_| bad())?;
        if token.is_empty() {
            return Err(bad());
        }
        if index < users {
            tokens[index] = Some(token.to_owned());
        }
    }
    Ok(tokens)
}

pub fn save(path: &Path, tokens: &[Option<String>]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    let mut out = String::new();
    for (i, t) in tokens.iter().enumerate() {
        if let Some(t) = t {
            out.push_str(&format!("{i}\t{t}\n"));
        }
    }
    f.write_all(out.as_bytes())?;
    f.sync_all()?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_entries() {
        let dir = std::env::temp_dir().join(format!("fast-login-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("tokens");
        save(&path, &[Some("a b".into()), None, Some("c".into())]).unwrap();
        assert_eq!(
            load(&path, 4).unwrap(),
            vec![Some("a b".into()), None, Some("c".into()), None]
        );
        assert_eq!(load(&path, 1).unwrap(), vec![Some("a b".into())]);
        fs::write(&path, "x\ty\n").unwrap();
        assert!(load(&path, 1).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
