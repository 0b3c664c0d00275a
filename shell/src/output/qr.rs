//! `invite create --qr`: the invite's link as a QR code in the terminal,
//! to scan with a phone on the spot.
//!
//! Each character holds two modules, one above the other, with the half
//! and full block characters. The light modules are the ones drawn, as
//! `qrencode -t utf8` does, so the code reads right on the usual dark
//! terminal. On a terminal the lines are also coloured white on black, so
//! it reads right on a light one too; through a pipe they stay plain text.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// `data` as a QR code, one line per two rows of modules with the
/// standard's quiet zone, or `None` when it does not fit in a QR code.
pub fn terminal(data: &str, colour: bool) -> Option<String> {
    // Level M, as on the invite page: survives a glary screen, stays small.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let drawn = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    Some(
        drawn
            .lines()
            .map(|line| match colour {
                true => format!("\x1b[97;40m{line}\x1b[0m\n"),
                false => format!("{line}\n"),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the printed code back as a phone's camera would: each
    /// character is two modules, drawn (light) or not (dark).
    fn scan(printed: &str) -> String {
        let rows: Vec<Vec<char>> = printed
            .lines()
            .map(|l| {
                l.trim_start_matches("\x1b[97;40m")
                    .trim_end_matches("\x1b[0m")
                    .chars()
                    .collect()
            })
            .collect();
        let width = rows[0].len();
        assert!(rows.iter().all(|r| r.len() == width), "ragged rows");
        let light = |x: usize, y: usize| {
            let c = rows[y / 2][x];
            let (top, bottom) = match c {
                ' ' => (false, false),
                '▀' => (true, false),
                '▄' => (false, true),
                '█' => (true, true),
                other => panic!("unexpected {other:?}"),
            };
            if y.is_multiple_of(2) { top } else { bottom }
        };
        // Four pixels per module: the decoder wants more than one.
        const SCALE: usize = 4;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(
            width * SCALE,
            rows.len() * 2 * SCALE,
            |x, y| if light(x / SCALE, y / SCALE) { 255 } else { 0 },
        );
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one code");
        grids[0].decode().expect("decodes").1
    }

    #[test]
    fn the_printed_code_scans_back_to_the_link() {
        let url = "https://chat.example/invite/Zm9vYmFyYmF6cXV4cXV1eHF1dXgxMjM0NTY3OA";
        assert_eq!(scan(&terminal(url, false).unwrap()), url);
        assert_eq!(scan(&terminal(url, true).unwrap()), url);
    }

    #[test]
    fn only_a_terminal_gets_colours() {
        let plain = terminal("xmpp:a@b", false).unwrap();
        assert!(!plain.contains('\x1b'));
        let coloured = terminal("xmpp:a@b", true).unwrap();
        assert!(coloured.lines().all(|l| l.starts_with("\x1b[97;40m")));
    }
}
