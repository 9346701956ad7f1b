//! Closed vocabularies: a fieldless enum whose every variant has one word.
//!
//! [`Status`](crate::Status), [`Action`](crate::Action),
//! [`SubtaskStatus`](crate::SubtaskStatus),
//! [`SubtaskAction`](crate::subtask::SubtaskAction) and
//! [`Role`](crate::Role) are each declared once by [`vocabulary!`], which
//! writes from the list of `Variant => "word"` lines the enum itself,
//! `ALL`, `COUNT`, `as_str`, `Display` and, when asked, `index` and
//! `FromStr`. The words are written once, so the table of names, the text
//! shown and the text read cannot drift apart; a word given twice is an
//! unreachable pattern of `FromStr`, which the lints refuse.
//!
//! Serde stays a derive with `rename_all`; each module's tests check that
//! it writes the same words (`assert_words_agree`, in tests).
//!
//! This module names no other module of the crate (the layout is checked
//! by `tests/layout.rs`).

/// Declares a vocabulary enum and its words.
///
/// ```text
/// vocabulary! {
///     /// The enum's docs, derives (serde's with `rename_all`), ...
///     #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
///     pub enum Status("status", "statuses") {
///         /// Each variant's docs.
///         Pending => "pending",
///         Running => "running",
///     }
///     fn index;                                    // optional
///     impl FromStr<Err = ParseStatusError>;        // optional
/// }
/// ```
///
/// The two literals after the name are the noun and its plural, for the
/// docs of the generated items. Attributes pass through as written;
/// variants take no discriminant, so a variant's `as usize` is its
/// position in `ALL`. The enum gets:
///
/// - `ALL`, every variant in declaration order, and `COUNT`, their number;
/// - `as_str`, the variant's word; `Display` writes it;
/// - with `fn index;`, `index`, the variant's position in `ALL`;
/// - with `impl FromStr<Err = E>;`, `FromStr`, reading the words exactly
///   and refusing anything else with `E::new(text)`.
///
/// Each generated item's docs carry a runnable example written from the
/// enum's name and its first variant, which name the enum as
/// `taskstate::Name`: a public vocabulary must be re-exported at the
/// crate's root (all of them are), and `E` must implement
/// `std::error::Error`.
macro_rules! vocabulary {
    (@from_str [] $($rest:tt)*) => {};
    (
        @from_str [$err:ty] $name:ident $noun:literal
        $first:ident => $first_word:literal $(, $variant:ident => $word:literal)*
    ) => {
        impl ::core::str::FromStr for $name {
            type Err = $err;

            #[doc = concat!(
                "Parses the ", $noun, "'s name exactly, as [`as_str`](", stringify!($name),
                "::as_str) writes it; any other text is refused.\n\n",
                "# Errors\n\n",
                "The error type of this impl, naming the text read, for any text that ",
                "`as_str` does not write exactly (another case, surrounding spaces, an ",
                "unknown word).\n\n",
                "```\n",
                "use taskstate::", stringify!($name), ";\n\n",
                "let parsed: ", stringify!($name), " = \"", $first_word, "\".parse()?;\n",
                "assert_eq!(parsed, ", stringify!($name), "::", stringify!($first), ");\n",
                "assert!(\" ", $first_word, "\".parse::<", stringify!($name), ">().is_err());\n",
                "assert!(\"no such word\".parse::<", stringify!($name), ">().is_err());\n",
                "# Ok::<(), Box<dyn std::error::Error>>(())\n",
                "```"
            )]
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                match s {
                    $first_word => Ok($name::$first),
                    $($word => Ok($name::$variant),)*
                    _ => Err(<$err>::new(s)),
                }
            }
        }
    };
    (
        $(#[$attr:meta])*
        $vis:vis enum $name:ident($noun:literal, $plural:literal) {
            $(#[$first_attr:meta])*
            $first:ident => $first_word:literal
            $(,
                $(#[$variant_attr:meta])*
                $variant:ident => $word:literal
            )*
            $(,)?
        }
        $(fn $index:ident;)?
        $(impl FromStr<Err = $err:ty>;)?
    ) => {
        $(#[$attr])*
        $vis enum $name {
            $(#[$first_attr])*
            $first,
            $(
                $(#[$variant_attr])*
                $variant,
            )*
        }

        impl $name {
            #[doc = concat!(
                "Every ", $noun, ", in declaration order.\n\n",
                "```\n",
                "use taskstate::", stringify!($name), ";\n\n",
                "assert_eq!(", stringify!($name), "::ALL[0], ", stringify!($name), "::",
                stringify!($first), ");\n",
                "assert_eq!(", stringify!($name), "::ALL.len(), ", stringify!($name), "::COUNT);\n",
                "```"
            )]
            pub const ALL: [$name; Self::COUNT] = [$name::$first, $($name::$variant),*];

            #[doc = concat!(
                "The number of ", $plural, ".\n\n",
                "```\n",
                "use taskstate::", stringify!($name), ";\n\n",
                "// A table with one slot per ", $noun, ".\n",
                "let words: [&str; ", stringify!($name), "::COUNT] = ", stringify!($name),
                "::ALL.map(", stringify!($name), "::as_str);\n",
                "assert_eq!(words[0], \"", $first_word, "\");\n",
                "assert_eq!(words.len(), ", stringify!($name), "::ALL.len());\n",
                "```"
            )]
            pub const COUNT: usize = [$first_word, $($word),*].len();

            $(
                #[doc = concat!(
                    "The ", $noun, "'s position in [`", stringify!($name),
                    "::ALL`], a dense index for tables.\n\n",
                    "```\n",
                    "use taskstate::", stringify!($name), ";\n\n",
                    "assert_eq!(", stringify!($name), "::", stringify!($first), ".index(), 0);\n",
                    "for (position, value) in ", stringify!($name), "::ALL.into_iter().enumerate() {\n",
                    "    assert_eq!(value.index(), position);\n",
                    "}\n",
                    "```"
                )]
                #[inline]
                pub const fn $index(self) -> usize {
                    self as usize
                }
            )?

            #[doc = concat!(
                "The ", $noun, "'s name, as serialized and displayed: `\"", $first_word, "\"`",
                $(", `\"", $word, "\"`",)*
                ".\n\n",
                "```\n",
                "use taskstate::", stringify!($name), ";\n\n",
                "assert_eq!(", stringify!($name), "::", stringify!($first), ".as_str(), \"",
                $first_word, "\");\n",
                "assert_eq!(", stringify!($name), "::", stringify!($first), ".to_string(), \"",
                $first_word, "\");\n",
                "```"
            )]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $name::$first => $first_word,
                    $($name::$variant => $word,)*
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $crate::vocabulary::vocabulary!(
            @from_str [$($err)?] $name $noun $first => $first_word $(, $variant => $word)*
        );
    };
}

pub(crate) use vocabulary;

/// Checks that, for every value of `all`, `as_str`, `Display` and
/// `serde_json` write the same word, that serde reads it back, and that no
/// two values share a word.
#[cfg(test)]
pub(crate) fn assert_words_agree<T>(all: &[T], as_str: fn(T) -> &'static str)
where
    T: Copy
        + PartialEq
        + std::fmt::Debug
        + std::fmt::Display
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let mut seen = std::collections::BTreeSet::new();
    for &value in all {
        let word = as_str(value);
        assert!(seen.insert(word), "`{word}` names two values");
        assert_eq!(value.to_string(), word, "Display of {value:?}");
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, format!("\"{word}\""), "serde name of {value:?}");
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
    }
}

/// Checks that `FromStr` reads back every value's `as_str`, and refuses
/// a word in another case.
#[cfg(test)]
pub(crate) fn assert_words_parse<T>(all: &[T], as_str: fn(T) -> &'static str)
where
    T: Copy + PartialEq + std::fmt::Debug + std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    for &value in all {
        let word = as_str(value);
        assert_eq!(word.parse::<T>().unwrap(), value, "`{word}` reads back");
        assert!(
            word.to_uppercase().parse::<T>().is_err(),
            "`{word}` is exact"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq)]
    struct ParseColourError(String);

    impl ParseColourError {
        fn new(value: &str) -> Self {
            ParseColourError(value.to_owned())
        }
    }

    vocabulary! {
        /// A test vocabulary.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Colour("colour", "colours") {
            /// Red.
            Red => "red",
            /// Dark blue.
            DarkBlue => "dark_blue",
        }
        fn index;
        impl FromStr<Err = ParseColourError>;
    }

    vocabulary! {
        /// A vocabulary of one word, with neither `index` nor `FromStr`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Single("single", "singles") {
            /// The only one.
            Only => "only",
        }
    }

    #[test]
    fn the_macro_writes_the_words_once() {
        assert_eq!(Colour::COUNT, 2);
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        for (i, colour) in Colour::ALL.into_iter().enumerate() {
            assert_eq!(colour.index(), i);
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert_eq!("teal".parse::<Colour>(), Err(ParseColourError::new("teal")));
        assert_words_agree(&Colour::ALL, Colour::as_str);
        assert_words_parse(&Colour::ALL, Colour::as_str);
        assert_eq!(Single::ALL, [Single::Only]);
        assert_words_agree(&Single::ALL, Single::as_str);
    }
}
