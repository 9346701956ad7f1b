//! A share of the work done, as a provider reports it.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A percentage from 0 to 100, exact to the decimals it was given (up to
/// [`Percent::MAX_DECIMALS`]): what a provider that reports only a percentage
/// sends (Azure's `percentComplete`, VMware's `PercentComplete`), kept
/// with its precision rather than faked as steps.
///
/// Written as the decimal it was read (`55.5`, `100`, `0.25`); in JSON, a
/// number. Equal and ordered by value: `55.50` equals `55.5`.
///
/// ```
/// use taskstate::Percent;
///
/// let half: Percent = "55.5".parse()?;
/// assert_eq!(half.to_string(), "55.5");
/// assert_eq!(half.whole(), 55);
/// assert_eq!(half, Percent::from_parts(5550, 2)?);
/// assert!("100.5".parse::<Percent>().is_err());
/// assert!("-1".parse::<Percent>().is_err());
/// assert_eq!(serde_json::to_string(&half)?, "55.5");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Percent {
    /// The value times `10^decimals`.
    units: u64,
    decimals: u8,
}

/// Why a value is not a [`Percent`].
///
/// ```
/// use taskstate::{Percent, PercentError};
///
/// assert_eq!("1e2".parse::<Percent>(), Err(PercentError::NotADecimal("1e2".into())));
/// assert_eq!("0.1234567891".parse::<Percent>(), Err(PercentError::TooPrecise));
/// assert_eq!(Percent::from_parts(1001, 1), Err(PercentError::AboveHundred));
/// assert_eq!(PercentError::AboveHundred.to_string(), "above 100 percent");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PercentError {
    /// Not a decimal number (`55.5`, `100`): signs, exponents and other
    /// text are refused.
    #[error("`{0}` is not a decimal percentage")]
    NotADecimal(String),
    /// More decimals than [`Percent::MAX_DECIMALS`].
    #[error("more than {} decimals", Percent::MAX_DECIMALS)]
    TooPrecise,
    /// Above 100.
    #[error("above 100 percent")]
    AboveHundred,
}

impl Percent {
    /// The most decimals a percentage keeps.
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// assert!(Percent::from_parts(1, Percent::MAX_DECIMALS).is_ok());
    /// assert!(Percent::from_parts(1, Percent::MAX_DECIMALS + 1).is_err());
    /// ```
    pub const MAX_DECIMALS: u8 = 9;

    /// No work done.
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// assert_eq!(Percent::ZERO, "0.00".parse()?);
    /// assert_eq!(Percent::of_steps(0, 0), Percent::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const ZERO: Percent = Percent {
        units: 0,
        decimals: 0,
    };

    /// All the work done.
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// assert_eq!(Percent::HUNDRED, "100.0".parse()?);
    /// assert_eq!(Percent::of_steps(7, 7), Percent::HUNDRED);
    /// assert!("55.5".parse::<Percent>()? < Percent::HUNDRED);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub const HUNDRED: Percent = Percent {
        units: 100,
        decimals: 0,
    };

    /// `units / 10^decimals` percent.
    ///
    /// # Errors
    ///
    /// [`PercentError::TooPrecise`] beyond [`Percent::MAX_DECIMALS`],
    /// [`PercentError::AboveHundred`] above 100.
    ///
    /// ```
    /// use taskstate::{Percent, PercentError};
    ///
    /// let third = Percent::from_parts(33_333, 3)?; // 33.333
    /// assert_eq!(third.to_string(), "33.333");
    /// assert_eq!(Percent::from_parts(10_001, 2), Err(PercentError::AboveHundred));
    /// assert_eq!(Percent::from_parts(1, 10), Err(PercentError::TooPrecise));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_parts(units: u64, decimals: u8) -> Result<Percent, PercentError> {
        if decimals > Percent::MAX_DECIMALS {
            return Err(PercentError::TooPrecise);
        }
        let hundred = 100u64 * 10u64.pow(u32::from(decimals));
        if units > hundred {
            return Err(PercentError::AboveHundred);
        }
        Ok(Percent { units, decimals })
    }

    /// The whole percentage, rounded down: 55 for 55.9.
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// assert_eq!("55.9".parse::<Percent>()?.whole(), 55);
    /// assert_eq!(Percent::HUNDRED.whole(), 100);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn whole(self) -> u8 {
        let whole = self.units / 10u64.pow(u32::from(self.decimals));
        u8::try_from(whole).unwrap_or(100)
    }

    /// The value as a float (for display and arithmetic; the exact value
    /// is the decimal).
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// let share = "12.5".parse::<Percent>()?.as_f64() / 100.0;
    /// assert_eq!(share * 8.0, 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(self) -> f64 {
        self.units as f64 / 10f64.powi(i32::from(self.decimals))
    }

    /// The decimals it was given (kept, though equal values compare equal
    /// whatever their decimals).
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// let written: Percent = "55.50".parse()?;
    /// assert_eq!(written.decimals(), 2);
    /// assert_eq!(written, "55.5".parse()?);
    /// assert_eq!(written.to_string(), "55.50");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn decimals(self) -> u8 {
        self.decimals
    }

    /// `done` of `total` as a whole percentage, rounded down (0 of 0 is
    /// 0); more done than in all counts as all.
    ///
    /// ```
    /// use taskstate::Percent;
    ///
    /// assert_eq!(Percent::of_steps(2, 3).to_string(), "66");
    /// assert_eq!(Percent::of_steps(5, 3), Percent::HUNDRED);
    /// assert_eq!(Percent::of_steps(0, 0), Percent::ZERO);
    /// ```
    pub fn of_steps(done: u32, total: u32) -> Percent {
        if total == 0 {
            return Percent::ZERO;
        }
        let done = u64::from(done.min(total));
        Percent {
            units: done * 100 / u64::from(total),
            decimals: 0,
        }
    }

    /// Both values with the same number of decimals, for comparing.
    fn aligned(self, other: Percent) -> (u128, u128) {
        let decimals = self.decimals.max(other.decimals);
        let scale = |p: Percent| u128::from(p.units) * 10u128.pow(u32::from(decimals - p.decimals));
        (scale(self), scale(other))
    }
}

impl PartialEq for Percent {
    fn eq(&self, other: &Percent) -> bool {
        let (a, b) = self.aligned(*other);
        a == b
    }
}

impl Eq for Percent {}

impl PartialOrd for Percent {
    fn partial_cmp(&self, other: &Percent) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Percent {
    fn cmp(&self, other: &Percent) -> Ordering {
        let (a, b) = self.aligned(*other);
        a.cmp(&b)
    }
}

impl std::hash::Hash for Percent {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Equal values hash alike: the value at the most decimals.
        let (scaled, _) = self.aligned(Percent {
            units: 0,
            decimals: Percent::MAX_DECIMALS,
        });
        scaled.hash(state);
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scale = 10u64.pow(u32::from(self.decimals));
        let (whole, fraction) = (self.units / scale, self.units % scale);
        if self.decimals == 0 {
            write!(f, "{whole}")
        } else {
            let width = usize::from(self.decimals);
            write!(f, "{whole}.{fraction:0width$}")
        }
    }
}

impl FromStr for Percent {
    type Err = PercentError;

    /// Reads a decimal from 0 to 100: digits, optionally a `.` and up to
    /// [`Percent::MAX_DECIMALS`] more digits.
    ///
    /// # Errors
    ///
    /// [`PercentError::NotADecimal`] for anything else (a sign, an
    /// exponent, spaces, a `.` without digits after it),
    /// [`PercentError::TooPrecise`] beyond [`Percent::MAX_DECIMALS`]
    /// decimals, [`PercentError::AboveHundred`] above 100.
    ///
    /// ```
    /// use taskstate::{Percent, PercentError};
    ///
    /// assert_eq!("007.25".parse::<Percent>()?.to_string(), "7.25");
    /// assert!(matches!("+5".parse::<Percent>(), Err(PercentError::NotADecimal(_))));
    /// assert!(matches!("5.".parse::<Percent>(), Err(PercentError::NotADecimal(_))));
    /// assert_eq!("100.01".parse::<Percent>(), Err(PercentError::AboveHundred));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn from_str(text: &str) -> Result<Percent, PercentError> {
        let not_decimal = || PercentError::NotADecimal(text.chars().take(40).collect());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || (text.contains('.') && fraction.is_empty())
        {
            return Err(not_decimal());
        }
        let decimals = u8::try_from(fraction.len()).map_err(|_| PercentError::TooPrecise)?;
        if decimals > Percent::MAX_DECIMALS {
            return Err(PercentError::TooPrecise);
        }
        // Leading zeros aside, a whole part of more than three digits is
        // above 100.
        let whole = whole.trim_start_matches('0');
        if whole.len() > 3 {
            return Err(PercentError::AboveHundred);
        }
        // At most 3 + 9 digits: the units fit a u64.
        let joined = format!("{whole}{fraction}");
        let significant = joined.trim_start_matches('0');
        let units = if significant.is_empty() {
            0
        } else {
            significant.parse().map_err(|_| not_decimal())?
        };
        Percent::from_parts(units, decimals)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A JSON number, written as the decimal it is.
        let number: serde_json::Number = self
            .to_string()
            .parse()
            .map_err(serde::ser::Error::custom)?;
        number.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Percent, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        let text = number.to_string();
        text.parse()
            .map_err(|error| serde::de::Error::custom(format_args!("percentage {text}: {error}")))
    }
}
