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
    use super::{utc_minutes, xep0082};

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
