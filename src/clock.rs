//! Time as the core sees it: milliseconds since the Unix epoch.

use std::cell::Cell;

/// Where the core gets the time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// Waiting, for loops that poll (the daily job's creator may still be at work).
#[allow(async_fn_in_trait)]
pub trait Sleep {
    /// Waits `ms` milliseconds.
    async fn sleep(&self, ms: u64);
}

/// A [`Sleep`] that never waits (for calls that have nothing to wait out).
pub struct NoSleep;

impl Sleep for NoSleep {
    async fn sleep(&self, _ms: u64) {}
}

/// The timing of Fischer's timed mutual exclusion (locks, claims and the
/// daily job's reservation on stores without compare-and-set): a run reads
/// at `read_at`, writes its own record, and, as long as every write lands
/// within `bound` ms of the read before it, every racing write has landed
/// twice the bound after the read; then the record read back is the last
/// writer's, and only that run goes on.
pub struct Fischer {
    read_at: i64,
    bound: u64,
}

impl Fischer {
    /// Timing from a read made at `read_at`.
    pub fn read_at(read_at: i64, bound: u64) -> Fischer {
        Fischer { read_at, bound }
    }

    /// This run's read-to-now time (its write acknowledged), when it
    /// exceeded the bound: the run's own write may have landed after a
    /// racing run looked, so it cannot assume it is alone.
    pub fn overran<C: Clock>(&self, clock: &C) -> Option<u64> {
        let took = clock.now_ms().saturating_sub(self.read_at).max(0) as u64;
        (took > self.bound).then_some(took)
    }

    /// Waits until every racing write has landed, and `extra_ms` more.
    pub async fn settle<C: Clock, T: Sleep>(&self, clock: &C, sleep: &T, extra_ms: u64) {
        let until = self.read_at.saturating_add(2 * self.bound as i64 + 1);
        sleep.sleep(until.saturating_sub(clock.now_ms()).max(0) as u64 + extra_ms).await;
    }
}

/// A source of uniform random numbers in [0, 1), injectable for tests.
pub trait Random {
    /// A number in `[0, 1)`.
    fn next_f64(&self) -> f64;
}

/// A clock that only moves when told to, for deterministic tests.
#[derive(Debug, Default)]
pub struct FakeClock {
    now: Cell<i64>,
}

impl FakeClock {
    /// A clock standing at `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        FakeClock { now: Cell::new(now_ms) }
    }
    /// Moves the time on by `ms`.
    pub fn advance(&self, ms: i64) {
        self.now.set(self.now.get() + ms);
    }
    /// Sets the time.
    pub fn set(&self, now_ms: i64) {
        self.now.set(now_ms);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> i64 {
        self.now.get()
    }
}

impl<C: Clock + ?Sized> Clock for std::rc::Rc<C> {
    fn now_ms(&self) -> i64 {
        (**self).now_ms()
    }
}

/// The system's clock (native builds).
#[cfg(not(target_arch = "wasm32"))]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
}

/// Formats epoch milliseconds as an ISO-8601 UTC string with milliseconds,
/// exactly as JavaScript's `Date.prototype.toISOString` does, so records stay
/// readable (and comparable) by code that uses `new Date(...)`.
pub fn iso_from_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    if (0..=9999).contains(&y) {
        // Written digit by digit: formatting machinery costs more than the
        // rest of a lock record (every lock and claim write stamps one).
        let mut out = String::with_capacity(24);
        for (value, width, after) in [(y, 4, '-'), (m, 2, '-'), (d, 2, 'T'), (h, 2, ':'), (mi, 2, ':'), (s, 2, '.'), (milli, 3, 'Z')] {
            let mut scale = 10i64.pow(width - 1);
            while scale > 0 {
                out.push(char::from(b'0' + (value / scale % 10) as u8));
                scale /= 10;
            }
            out.push(after);
        }
        out
    } else {
        let sign = if y < 0 { '-' } else { '+' };
        format!("{sign}{:06}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z", y.abs())
    }
}

/// `YYYY-MM-DD` of the UTC day containing `ms`.
pub fn utc_date(ms: i64) -> String {
    iso_from_ms(ms)[..10].to_string()
}

/// Parses the ISO-8601 forms that `Date.toISOString()` and common writers
/// produce (`YYYY-MM-DD`, optional `THH:MM[:SS[.fff]]`, optional `Z` or
/// `±HH:MM`). Returns None for anything else, never panics.
pub fn ms_from_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let slice = b.get(from..from + len)?;
        if !slice.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(slice).ok()?.parse().ok()
    };
    let y = num(0, 4)?;
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (mo, d) = (num(5, 2)?, num(8, 2)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    let mut i = 10;
    if matches!(b.get(10), Some(b'T') | Some(b' ')) {
        let (h, mi) = (num(11, 2)?, num(14, 2)?);
        if b.get(13) != Some(&b':') || h > 23 || mi > 59 {
            return None;
        }
        ms += h * 3_600_000 + mi * 60_000;
        i = 16;
        if b.get(16) == Some(&b':') {
            let s = num(17, 2)?;
            if s > 60 {
                return None;
            }
            ms += s * 1000;
            i = 19;
            if b.get(19) == Some(&b'.') {
                let start = 20;
                let mut end = start;
                while b.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                if end == start {
                    return None;
                }
                let digits = &text[start..end.min(start + 3)];
                let frac: i64 = digits.parse().ok()?;
                ms += frac * 10_i64.pow(3 - digits.len() as u32);
                i = end;
            }
        }
        match b.get(i) {
            None => {}
            Some(b'Z') => i += 1,
            Some(&sign @ (b'+' | b'-')) => {
                let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
                let offset = (oh * 60 + om) * 60_000;
                ms += if sign == b'+' { -offset } else { offset };
                i += 6;
            }
            _ => return None,
        }
    }
    (i == b.len()).then_some(ms)
}

// Howard Hinnant's days-from-civil algorithms (public domain).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        for ms in [0, 1_700_000_000_123, 951_782_400_000, -1, 253_402_300_799_999] {
            let text = iso_from_ms(ms);
            assert_eq!(ms_from_iso(&text), Some(ms), "{text}");
        }
        assert_eq!(iso_from_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(utc_date(1_700_000_000_123), "2023-11-14");
    }

    #[test]
    fn iso_matches_the_formatted_form_across_four_digit_years() {
        let formatted = |ms: i64| {
            let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
            let rem = ms.rem_euclid(86_400_000);
            format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000)
        };
        let (first, last) = (-62_167_219_200_000i64, 253_402_300_799_999i64); // 0000-01-01 .. 9999-12-31T23:59:59.999
        let step = (last - first) / 20_011;
        for ms in (first..=last).step_by(step as usize).chain([first, last, -1, 0, 86_399_999, 951_782_400_000]) {
            assert_eq!(iso_from_ms(ms), formatted(ms), "{ms}");
        }
        assert_eq!(iso_from_ms(first), "0000-01-01T00:00:00.000Z");
        assert_eq!(iso_from_ms(last), "9999-12-31T23:59:59.999Z");
        assert_eq!(iso_from_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso_from_ms(first - 1), "-000001-12-31T23:59:59.999Z");
    }

    #[test]
    fn iso_parses_common_forms_and_rejects_junk() {
        assert_eq!(ms_from_iso("2023-11-14"), Some(1_699_920_000_000));
        assert_eq!(ms_from_iso("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(ms_from_iso("2023-11-14T23:13:20+01:00"), Some(1_700_000_000_000));
        assert_eq!(ms_from_iso("2023-11-14T22:13:20.5Z"), Some(1_700_000_000_500));
        for junk in ["", "x", "2023-13-01", "2023-11-14T", "2023-11-14T22:13:20.Z", "2023-11-14Zjunk", "２０２３"] {
            assert_eq!(ms_from_iso(junk), None, "{junk}");
        }
    }
}
