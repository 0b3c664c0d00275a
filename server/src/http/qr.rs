//! QR codes as inline SVG, drawn on the server so that the invite pages need
//! no JavaScript and make no request anywhere else (Prosody draws them in
//! the browser with a script).
//!
//! The `qrcode` crate only computes the module matrix (its default
//! features would pull in an image encoder); the SVG is written here: one
//! `<path>` of horizontal runs, a white quiet zone of four modules as the
//! standard asks, and a `viewBox` so that CSS sizes it.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// The standard's quiet zone around the code, in modules.
const QUIET: usize = 4;

/// `data` as an SVG QR code, or `None` if it does not fit in one (a URI of
/// ours always fits; this keeps a page from failing over its picture).
pub fn svg(data: &str) -> Option<String> {
    // Level M survives a slightly dirty or glary screen and keeps the code
    // small enough for phone cameras at arm's length.
    let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET;
    let mut path = String::with_capacity(colors.len() * 4);
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Light {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            let run = x - start;
            // Writing to a String cannot fail.
            let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET, y + QUIET);
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"qr\" viewBox=\"0 0 {size} {size}\" \
         role=\"img\" aria-label=\"QR code\" shape-rendering=\"crispEdges\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the dark modules back out of the path, to compare with the
    /// matrix the crate computed.
    fn dark_modules(svg: &str) -> Vec<(usize, usize)> {
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let mut dark = Vec::new();
        for part in d.split('M').filter(|p| !p.is_empty()) {
            let (xy, rest) = part.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let run: usize = rest.split_once('v').unwrap().0.parse().unwrap();
            let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
            dark.extend((x..x + run).map(|x| (x - QUIET, y - QUIET)));
        }
        dark
    }

    #[test]
    fn draws_exactly_the_dark_modules() {
        let uri = "xmpp:example.test?register;preauth=AAAAAAAAAAAAAAAAAAAAAAAA";
        let svg = svg(uri).unwrap();
        let code = QrCode::with_error_correction_level(uri, EcLevel::M).unwrap();
        let w = code.width();
        let expected: Vec<(usize, usize)> = code
            .to_colors()
            .iter()
            .enumerate()
            .filter(|(_, c)| **c == Color::Dark)
            .map(|(i, _)| (i % w, i / w))
            .collect();
        let mut drawn = dark_modules(&svg);
        drawn.sort_by_key(|&(x, y)| (y, x));
        assert_eq!(drawn, expected);
        let size = w + 2 * QUIET;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {size} {size}\"")),
            "{svg}"
        );
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    }

    #[test]
    fn too_much_data_gives_none() {
        assert!(svg(&"x".repeat(5000)).is_none());
    }
}
