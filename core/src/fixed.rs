//! Floats as fixed-point text for the readable formats (`explain`, the report table), without
//! `core`'s float formatter: `{}` or `{:.1}` on an `f64` links its Grisu and Dragon code, about
//! 8.5 KB of the mobile library (size-optimised arm64), for a few numbers people read.
//!
//! Pure formatting: one short `String` per number.

use std::fmt;

/// `value` rounded to `decimals` places (at most 9); with `trim`, without trailing zeros (and
/// without the point when nothing follows it). Honours width and alignment (`{:>10}`). Values
/// that are not finite, negative or too large for 19 digits print as `?`: the readable formats
/// never hold such values (weights, rates and sums of weights are finite and non-negative).
pub(crate) struct Fixed {
    pub(crate) value: f64,
    pub(crate) decimals: u32,
    pub(crate) trim: bool,
}

impl fmt::Display for Fixed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = self.decimals.min(9);
        let scale = 10u64.pow(decimals);
        let scaled = (self.value * scale as f64).round();
        if !(0.0..1e19).contains(&scaled) {
            return formatter.pad("?");
        }
        // In range and rounded, so the conversion is exact.
        let units = scaled as u64;
        let mut text = (units / scale).to_string();
        if decimals > 0 {
            let fraction = format!("{:0width$}", units % scale, width = decimals as usize);
            let fraction = if self.trim { fraction.trim_end_matches('0') } else { &fraction };
            if !fraction.is_empty() {
                text.push('.');
                text.push_str(fraction);
            }
        }
        formatter.pad(&text)
    }
}

/// A weight or rate as people read it: up to six decimals, no trailing zeros (`4`, `0.001`).
pub(crate) fn short(value: f64) -> Fixed {
    Fixed { value, decimals: 6, trim: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_pads_and_trims() {
        assert_eq!(short(4.0).to_string(), "4");
        assert_eq!(short(0.001).to_string(), "0.001");
        assert_eq!(short(1.0 / 3.0).to_string(), "0.333333");
        assert_eq!(format!("{:>6}", Fixed { value: 2.0, decimals: 1, trim: false }), "   2.0");
        assert_eq!(Fixed { value: 2.96, decimals: 1, trim: false }.to_string(), "3.0");
        assert_eq!(short(f64::NAN).to_string(), "?");
        assert_eq!(short(-1.0).to_string(), "?");
    }
}
