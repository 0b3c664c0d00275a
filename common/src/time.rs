//! Times as Roost shows them: `YYYY-MM-DD HH:MM UTC` to people, XEP-0082
//! `YYYY-MM-DDThh:mm:ssZ` on the wire.

/// `YYYY-MM-DD HH:MM UTC` for Unix seconds.
pub fn utc_minutes(unix_secs: i64) -> String {
    let (year, month, day) = civil_date(unix_secs);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60
    )
}

/// XEP-0082 DateTime in UTC, `YYYY-MM-DDThh:mm:ssZ`, for Unix seconds.
pub fn xep0082(unix_secs: i64) -> String {
    let (year, month, day) = civil_date(unix_secs);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// XEP-0082 DateTime in UTC with milliseconds, `YYYY-MM-DDThh:mm:ss.sssZ`,
/// for Unix milliseconds: archived messages written within one second
/// keep their order.
pub fn xep0082_ms(unix_ms: i64) -> String {
    let seconds = xep0082(unix_ms.div_euclid(1000));
    format!(
        "{}.{:03}Z",
        seconds.trim_end_matches('Z'),
        unix_ms.rem_euclid(1000)
    )
}

/// Unix milliseconds of a XEP-0082 DateTime (`YYYY-MM-DDThh:mm:ss`, an
/// optional fraction, then `Z` or `±hh:mm`); `None` when it is not one.
/// Digits past the milliseconds are ignored.
pub fn parse_xep0082(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = bytes.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators.iter().any(|&(i, c)| bytes.get(i) != Some(&c)) {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None,
            };
            let zone = &rest.as_bytes()[1..];
            let digits = |i: usize| zone[i].is_ascii_digit() && zone[i + 1].is_ascii_digit();
            if zone.len() != 5 || zone[2] != b':' || !digits(0) || !digits(3) {
                return None;
            }
            let hours: i64 = std::str::from_utf8(&zone[0..2]).ok()?.parse().ok()?;
            let minutes: i64 = std::str::from_utf8(&zone[3..5]).ok()?.parse().ok()?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 60 + minutes)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// (year, month, day) of Unix seconds by the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`), so no date crate is needed.
fn civil_date(unix_secs: i64) -> (i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::{parse_xep0082, utc_minutes, xep0082, xep0082_ms};

    #[test]
    fn xep0082_times_are_read_back() {
        for ms in [0, 1_700_000_000_123, 951_782_400_000, 4_102_444_799_999] {
            assert_eq!(parse_xep0082(&xep0082_ms(ms)), Some(ms), "{ms}");
        }
        assert_eq!(xep0082_ms(1_700_000_000_007), "2023-11-14T22:13:20.007Z");
        assert_eq!(
            parse_xep0082("2023-11-14T23:13:20+01:00"),
            Some(1_700_000_000_000)
        );
        assert_eq!(
            parse_xep0082("2023-11-14T22:13:20.5Z"),
            Some(1_700_000_000_500)
        );
        assert_eq!(
            parse_xep0082("2023-11-14T22:13:20.123456Z"),
            Some(1_700_000_000_123)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-02-30T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+1:00",
            "2023-11-14T22:13:20ZZ",
            "+023-11-14T22:13:20Z",
            "2023-11-14T22:13:20+01:0x",
        ] {
            assert_eq!(parse_xep0082(bad), None, "{bad}");
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc_minutes(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_minutes(-60), "1969-12-31 23:59 UTC");
        assert_eq!(utc_minutes(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_minutes(1_700_000_000), "2023-11-14 22:13 UTC");
        assert_eq!(utc_minutes(4_102_444_800), "2100-01-01 00:00 UTC");
        assert_eq!(utc_minutes(1_709_251_199), "2024-02-29 23:59 UTC");
    }

    #[test]
    fn xep0082_dates() {
        assert_eq!(xep0082(0), "1970-01-01T00:00:00Z");
        assert_eq!(xep0082(-1), "1969-12-31T23:59:59Z");
        assert_eq!(xep0082(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(xep0082(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(xep0082(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(xep0082(4_102_444_859), "2100-01-01T00:00:59Z");
    }
}
