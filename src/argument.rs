//! Typed arguments: the data a task runs with, and their correction.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The type of an argument, with its bounds.
///
/// Serialized with a `type` tag, flattened into its spec:
/// `{"key":"years","type":"integer","min":1,"max":10}`.
///
/// ```
/// use taskstate::{ArgumentSpec, ArgumentType};
///
/// let spec: ArgumentSpec = serde_json::from_str(r#"{"key":"years","type":"integer","min":1,"max":10}"#)?;
/// assert_eq!(spec.kind, ArgumentType::Integer { min: 1, max: 10 });
/// assert_eq!(spec, ArgumentSpec::integer("years", 1, 10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArgumentType {
    /// Text of `min` to `max` characters.
    Text {
        /// The fewest characters.
        min: u32,
        /// The most characters.
        max: u32,
    },
    /// One of the accepted values (OVHcloud's accepted values list).
    OneOf {
        /// The accepted values.
        accepted: Vec<String>,
    },
    /// A whole number from `min` to `max`.
    Integer {
        /// The smallest value.
        min: i64,
        /// The largest value.
        max: i64,
    },
    /// `true` or `false`.
    Boolean,
    /// A calendar date.
    Date,
    /// An email address.
    Email,
    /// A phone number in international form: `+33.123456789` or
    /// `+33123456789`.
    Phone,
    /// Any JSON value.
    Json,
    /// The id of another resource (OVHcloud's `/me/contact` and
    /// `/me/document` arguments): text, checked as an id of that
    /// resource's form. Whether such a resource exists is the host's to
    /// check (the core does no I/O).
    Reference {
        /// The resource type, in the provider's words (`/me/contact`).
        resource: String,
        /// What its ids look like.
        id: IdFormat,
    },
}

/// What the ids of a resource look like, for a
/// [`Reference`](ArgumentType::Reference) argument.
///
/// ```
/// use taskstate::{ArgumentSpec, IdFormat};
///
/// let document = ArgumentSpec::reference("idCard", "/me/document", IdFormat::Uuid);
/// assert!(document.parse("8f1c0bd2-4c3e-4a8b-9f5e-2d7a6b1c0e9f").is_ok());
/// assert!(document.parse("12345678").is_err());
/// assert_eq!(serde_json::to_string(&IdFormat::Token)?, r#""token""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdFormat {
    /// A positive whole number in decimal digits, without a leading zero,
    /// up to `u64::MAX` (OVHcloud's contact ids).
    Number,
    /// A UUID, hyphenated (`8f1c0bd2-4c3e-4a8b-9f5e-2d7a6b1c0e9f`).
    Uuid,
    /// 1 to 128 ASCII letters, digits, `-`, `_`, `.` or `:`, without
    /// `..` (so it cannot climb a path).
    Token,
}

impl IdFormat {
    /// The format's name: `number`, `uuid` or `token`, as serialized and
    /// displayed.
    ///
    /// ```
    /// use taskstate::IdFormat;
    ///
    /// assert_eq!(IdFormat::Number.name(), "number");
    /// assert_eq!(IdFormat::Uuid.to_string(), "uuid");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            IdFormat::Number => "number",
            IdFormat::Uuid => "uuid",
            IdFormat::Token => "token",
        }
    }

    /// Whether `text` is an id of this form.
    ///
    /// ```
    /// use taskstate::IdFormat;
    ///
    /// assert!(IdFormat::Number.accepts("12345678"));
    /// assert!(!IdFormat::Number.accepts("0"));
    /// assert!(!IdFormat::Number.accepts("12 34"));
    /// assert!(IdFormat::Uuid.accepts("8f1c0bd2-4c3e-4a8b-9f5e-2d7a6b1c0e9f"));
    /// assert!(IdFormat::Token.accepts("doc_2026.11:a-1"));
    /// assert!(!IdFormat::Token.accepts("../etc/passwd"));
    /// ```
    pub fn accepts(self, text: &str) -> bool {
        match self {
            IdFormat::Number => {
                text.bytes().all(|b| b.is_ascii_digit())
                    && text.parse::<u64>().is_ok_and(|n| n > 0)
                    && !text.starts_with('0')
            }
            IdFormat::Uuid => text.len() == 36 && uuid::Uuid::try_parse(text).is_ok(),
            IdFormat::Token => {
                (1..=128).contains(&text.len())
                    && text.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':')
                    })
                    && !text.contains("..")
            }
        }
    }
}

impl fmt::Display for IdFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

crate::strict::strict_tagged!(
    ArgumentType,
    "type",
    ["boolean", "date", "email", "phone", "json"]
);

impl ArgumentType {
    /// The type's name: `text`, `one_of`, `integer`, `boolean`, `date`,
    /// `email`, `phone`, `json` or `reference`: its `type` tag.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentType};
    ///
    /// assert_eq!(ArgumentSpec::one_of("period", ["1y", "2y"]).kind.name(), "one_of");
    /// assert_eq!(ArgumentType::Phone.name(), "phone");
    /// ```
    pub const fn name(&self) -> &'static str {
        match self {
            ArgumentType::Reference { .. } => "reference",
            ArgumentType::Text { .. } => "text",
            ArgumentType::OneOf { .. } => "one_of",
            ArgumentType::Integer { .. } => "integer",
            ArgumentType::Boolean => "boolean",
            ArgumentType::Date => "date",
            ArgumentType::Email => "email",
            ArgumentType::Phone => "phone",
            ArgumentType::Json => "json",
        }
    }
}

/// The value of an argument.
///
/// Serialized with its type: `{"text":"…"}`, `{"integer":3}`,
/// `{"boolean":true}`, `{"date":"2026-11-23"}`, `{"json":…}`.
///
/// ```
/// use chrono::NaiveDate;
/// use taskstate::ArgumentValue;
///
/// let date = ArgumentValue::from(NaiveDate::from_ymd_opt(2026, 11, 23).ok_or("date")?);
/// assert_eq!(serde_json::to_string(&date)?, r#"{"date":"2026-11-23"}"#);
/// assert_eq!(date.to_string(), "2026-11-23");
/// assert_eq!(ArgumentValue::from(3_i64), ArgumentValue::Integer(3));
/// assert_eq!(ArgumentValue::from("alice"), ArgumentValue::Text("alice".into()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "snake_case")]
pub enum ArgumentValue {
    /// Text: for text, one-of, email and phone arguments.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A boolean.
    Boolean(bool),
    /// A calendar date.
    Date(NaiveDate),
    /// Any JSON value.
    Json(serde_json::Value),
}

impl ArgumentValue {
    /// The value's type name: `text`, `integer`, `boolean`, `date` or
    /// `json`.
    ///
    /// ```
    /// use taskstate::ArgumentValue;
    ///
    /// assert_eq!(ArgumentValue::from(true).type_name(), "boolean");
    /// assert_eq!(ArgumentValue::from(serde_json::json!({"ns": ["a", "b"]})).type_name(), "json");
    /// ```
    pub const fn type_name(&self) -> &'static str {
        match self {
            ArgumentValue::Text(_) => "text",
            ArgumentValue::Integer(_) => "integer",
            ArgumentValue::Boolean(_) => "boolean",
            ArgumentValue::Date(_) => "date",
            ArgumentValue::Json(_) => "json",
        }
    }

    /// The text, if this is a text value.
    ///
    /// ```
    /// use taskstate::ArgumentValue;
    ///
    /// assert_eq!(ArgumentValue::from("ns1.example.fr").as_str(), Some("ns1.example.fr"));
    /// assert_eq!(ArgumentValue::from(42_i64).as_str(), None); // shown as text by `Display`
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ArgumentValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

impl fmt::Display for ArgumentValue {
    /// The value as an API that speaks in strings shows it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgumentValue::Text(text) => f.write_str(text),
            ArgumentValue::Integer(n) => write!(f, "{n}"),
            ArgumentValue::Boolean(b) => write!(f, "{b}"),
            ArgumentValue::Date(d) => write!(f, "{d}"),
            ArgumentValue::Json(json) => write!(f, "{json}"),
        }
    }
}

impl From<&str> for ArgumentValue {
    fn from(text: &str) -> Self {
        ArgumentValue::Text(text.to_owned())
    }
}

impl From<String> for ArgumentValue {
    fn from(text: String) -> Self {
        ArgumentValue::Text(text)
    }
}

impl From<i64> for ArgumentValue {
    fn from(n: i64) -> Self {
        ArgumentValue::Integer(n)
    }
}

impl From<bool> for ArgumentValue {
    fn from(b: bool) -> Self {
        ArgumentValue::Boolean(b)
    }
}

impl From<NaiveDate> for ArgumentValue {
    fn from(d: NaiveDate) -> Self {
        ArgumentValue::Date(d)
    }
}

impl From<serde_json::Value> for ArgumentValue {
    fn from(json: serde_json::Value) -> Self {
        ArgumentValue::Json(json)
    }
}

/// The declaration of one argument of a kind.
///
/// # Arguments and their correction
///
/// Typed arguments: the data a task runs with, and their correction.
///
/// A kind declares the arguments of its tasks as [`ArgumentSpec`]s
/// ([`TaskKind::arguments`](crate::TaskKind::arguments)): a key, a type
/// with its bounds, whether it is read-only or required, and a description
/// a UI can show. A task holds the current [`ArgumentValue`] of each.
///
/// When a run fails for invalid or missing information, the failure flags
/// the keys to correct ([`Failure::fields`](crate::Failure::fields)); the
/// customer reads each one ([`Task::argument`](crate::Task::argument)),
/// sets a new value ([`Command::SetArgument`](crate::Command::SetArgument),
/// recorded with the old value and who changed it), and relaunches. Every
/// value is validated against its spec; a bad one is refused with an
/// [`ArgumentError`] that names the key and the [`Problem`], and the task
/// is left unchanged.
///
/// ## Example
///
/// ```
/// use taskstate::{ArgumentSpec, ArgumentValue, Problem};
///
/// let spec = ArgumentSpec::text("legitimacyAfnic", 10, 2000)
///     .required()
///     .describe("Why you may use this name (Afnic asks for it for city names)");
/// assert!(spec.check(&ArgumentValue::from("I am the mayor of this town")).is_ok());
///
/// let err = spec.check(&ArgumentValue::from("short")).err().ok_or("accepted")?;
/// assert_eq!(err.key, "legitimacyAfnic");
/// assert_eq!(err.problem, Problem::TooShort { min: 10 });
/// assert_eq!(err.to_string(), "argument legitimacyAfnic: shorter than 10 characters");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StoredSpec")]
pub struct ArgumentSpec {
    /// The argument's key (`legitimacyAfnic`, `authCode`).
    pub key: String,
    /// Its type and bounds.
    #[serde(flatten)]
    pub kind: ArgumentType,
    /// Whether nobody may change it after creation.
    #[serde(default)]
    pub read_only: bool,
    /// Whether it must always have a value.
    #[serde(default)]
    pub required: bool,
    /// How to fill it, for the customer.
    #[serde(default)]
    pub description: String,
    /// What a provider shows beside it to help fill it.
    #[serde(default, skip_serializing_if = "ArgumentHints::is_empty")]
    pub hints: ArgumentHints,
}

/// What a provider shows beside an argument to help fill it (OVHcloud's
/// `acceptedFormats`, `minimumSize`, `maximumSize`, `fields`,
/// `template`). The crate does not check values against them: a
/// document's format and size are the host's to check when the document
/// is uploaded.
///
/// ```
/// use taskstate::{ArgumentHints, ArgumentSpec, IdFormat};
///
/// let hints = ArgumentHints::new().formats(["pdf", "jpg"]).sizes(1_024, 10_485_760);
/// let spec = ArgumentSpec::reference("idCard", "/me/document", IdFormat::Uuid).hints(hints);
/// assert_eq!(spec.hints.accepted_formats, ["pdf", "jpg"]);
/// let json = serde_json::to_value(&spec)?;
/// assert_eq!(json["hints"]["maximum_size"], 10_485_760);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgumentHints {
    /// The accepted formats of a document (`pdf`, `jpg`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted_formats: Vec<String>,
    /// The smallest size of the content, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_size: Option<u64>,
    /// The largest size of the content, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_size: Option<u64>,
    /// The fields of the referenced resource concerned (a contact's
    /// `address.city`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// A template of the content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl ArgumentHints {
    /// No hints: what a spec has unless given some.
    ///
    /// ```
    /// use taskstate::{ArgumentHints, ArgumentSpec};
    ///
    /// assert!(ArgumentHints::new().is_empty());
    /// assert_eq!(ArgumentSpec::text("city", 1, 64).hints, ArgumentHints::new());
    /// ```
    pub fn new() -> ArgumentHints {
        ArgumentHints::default()
    }

    /// Whether there are none (a spec then writes no `hints`).
    ///
    /// ```
    /// use taskstate::{ArgumentHints, ArgumentSpec};
    ///
    /// assert!(!ArgumentHints::new().template("Name, date, signature").is_empty());
    /// let json = serde_json::to_value(ArgumentSpec::text("city", 1, 64))?;
    /// assert!(json.get("hints").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        *self == ArgumentHints::default()
    }

    /// These hints, with the accepted formats (replacing any given before).
    ///
    /// ```
    /// use taskstate::ArgumentHints;
    ///
    /// let hints = ArgumentHints::new().formats(["png"]).formats(vec![String::from("pdf")]);
    /// assert_eq!(hints.accepted_formats, ["pdf"]);
    /// ```
    #[must_use]
    pub fn formats<S: Into<String>>(mut self, formats: impl IntoIterator<Item = S>) -> Self {
        self.accepted_formats = formats.into_iter().map(Into::into).collect();
        self
    }

    /// These hints, with the content's smallest and largest sizes, in
    /// bytes.
    ///
    /// ```
    /// use taskstate::ArgumentHints;
    ///
    /// let hints = ArgumentHints::new().sizes(1, 5 * 1024 * 1024);
    /// assert_eq!((hints.minimum_size, hints.maximum_size), (Some(1), Some(5_242_880)));
    /// ```
    #[must_use]
    pub fn sizes(mut self, minimum: u64, maximum: u64) -> Self {
        self.minimum_size = Some(minimum);
        self.maximum_size = Some(maximum);
        self
    }

    /// These hints, with the fields concerned (replacing any given before).
    ///
    /// ```
    /// use taskstate::ArgumentHints;
    ///
    /// let hints = ArgumentHints::new().fields(["address.city", "address.zip"]);
    /// assert_eq!(hints.fields, ["address.city", "address.zip"]);
    /// ```
    #[must_use]
    pub fn fields<S: Into<String>>(mut self, fields: impl IntoIterator<Item = S>) -> Self {
        self.fields = fields.into_iter().map(Into::into).collect();
        self
    }

    /// These hints, with a template of the content.
    ///
    /// ```
    /// use taskstate::ArgumentHints;
    ///
    /// let hints = ArgumentHints::new().template("I, the undersigned, …");
    /// assert_eq!(hints.template.as_deref(), Some("I, the undersigned, …"));
    /// ```
    #[must_use]
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }
}

/// An argument spec as stored: its own fields, and the rest for its
/// type, which refuses keys it does not know (`serde`'s `flatten` cannot
/// refuse them itself).
#[derive(Deserialize)]
struct StoredSpec {
    key: String,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    description: String,
    #[serde(default)]
    hints: ArgumentHints,
    #[serde(flatten)]
    kind: serde_json::Map<String, serde_json::Value>,
}

impl TryFrom<StoredSpec> for ArgumentSpec {
    type Error = serde_json::Error;

    fn try_from(stored: StoredSpec) -> Result<Self, Self::Error> {
        let kind =
            <ArgumentType as Deserialize>::deserialize(serde_json::Value::Object(stored.kind))?;
        Ok(ArgumentSpec {
            key: stored.key,
            kind,
            read_only: stored.read_only,
            required: stored.required,
            description: stored.description,
            hints: stored.hints,
        })
    }
}

impl ArgumentSpec {
    /// An optional, editable argument of type `kind`, with no description.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentType, ArgumentValue};
    ///
    /// let dnssec = ArgumentSpec::new("dnssec", ArgumentType::Boolean);
    /// assert!(!dnssec.required && !dnssec.read_only);
    /// assert_eq!(dnssec.parse("true")?, ArgumentValue::Boolean(true));
    /// assert!(dnssec.check(&ArgumentValue::from("yes")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(key: impl Into<String>, kind: ArgumentType) -> Self {
        ArgumentSpec {
            key: key.into(),
            kind,
            read_only: false,
            required: false,
            description: String::new(),
            hints: ArgumentHints::new(),
        }
    }

    /// The id of a resource of type `resource` (`/me/contact`), whose ids
    /// have the form `id`.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, IdFormat, Problem};
    ///
    /// let contact = ArgumentSpec::reference("newOwner", "/me/contact", IdFormat::Number);
    /// assert!(contact.parse("12345678").is_ok());
    /// let refused = contact.parse("john.doe").err().ok_or("accepted")?;
    /// assert!(matches!(refused.problem, Problem::NotAnId { .. }));
    /// assert_eq!(refused.to_string(), "argument newOwner: not an id of /me/contact (a number)");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn reference(key: impl Into<String>, resource: impl Into<String>, id: IdFormat) -> Self {
        ArgumentSpec::new(
            key,
            ArgumentType::Reference {
                resource: resource.into(),
                id,
            },
        )
    }

    /// This spec, with what a provider shows beside it.
    ///
    /// ```
    /// use taskstate::{ArgumentHints, ArgumentSpec, IdFormat};
    ///
    /// let proof = ArgumentSpec::reference("proofOfAddress", "/me/document", IdFormat::Uuid)
    ///     .hints(ArgumentHints::new().formats(["pdf"]).fields(["address.city"]));
    /// assert_eq!(proof.hints.fields, ["address.city"]);
    /// ```
    #[must_use]
    pub fn hints(mut self, hints: ArgumentHints) -> Self {
        self.hints = hints;
        self
    }

    /// Text of `min` to `max` characters (characters, not bytes).
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentValue, Problem};
    ///
    /// let city = ArgumentSpec::text("city", 2, 5);
    /// assert!(city.check(&ArgumentValue::from("Sète")).is_ok()); // 4 characters, 5 bytes
    /// let err = city.check(&ArgumentValue::from("Marseille")).err().ok_or("accepted")?;
    /// assert_eq!(err.problem, Problem::TooLong { max: 5 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn text(key: impl Into<String>, min: u32, max: u32) -> Self {
        ArgumentSpec::new(key, ArgumentType::Text { min, max })
    }

    /// One of the `accepted` values, compared exactly.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, Problem};
    ///
    /// let period = ArgumentSpec::one_of("period", ["1y", "2y", "5y"]);
    /// assert!(period.parse("2y").is_ok());
    /// let err = period.parse("3y").err().ok_or("accepted")?;
    /// assert!(matches!(err.problem, Problem::NotAccepted { ref accepted } if accepted.len() == 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn one_of<S: Into<String>>(
        key: impl Into<String>,
        accepted: impl IntoIterator<Item = S>,
    ) -> Self {
        let accepted = accepted.into_iter().map(Into::into).collect();
        ArgumentSpec::new(key, ArgumentType::OneOf { accepted })
    }

    /// A whole number from `min` to `max`, both included.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentValue, Problem};
    ///
    /// let years = ArgumentSpec::integer("years", 1, 10);
    /// assert!(years.check(&ArgumentValue::from(10_i64)).is_ok());
    /// let err = years.check(&ArgumentValue::from(0_i64)).err().ok_or("accepted")?;
    /// assert_eq!(err.problem, Problem::BelowMinimum { min: 1 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn integer(key: impl Into<String>, min: i64, max: i64) -> Self {
        ArgumentSpec::new(key, ArgumentType::Integer { min, max })
    }

    /// This spec, read-only after creation: no correction may change it,
    /// nor may a failure flag it.
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, NamedKind, Rules, Status, StatusSet};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::with_rules("DomainCreate", Rules::new().edit(StatusSet::of(&[Status::Pending])))
    ///     .argument(ArgumentSpec::text("domain", 1, 253).read_only());
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr")).argument("domain", "example.fr");
    /// let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
    /// assert!(!task.can_edit("domain", &Actor::customer("alice"), now));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// This spec, required: it must always have a value (from creation
    /// on; a correction may not clear it).
    ///
    /// ```
    /// # use chrono::{TimeZone, Utc};
    /// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
    /// use taskstate::{ArgumentSpec, NamedKind, Problem, Rejection};
    /// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
    /// let kind = NamedKind::new("DomainTrade").argument(ArgumentSpec::text("authCode", 6, 32).required());
    /// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
    /// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr"));
    /// let refused = Task::create(new.clone(), Actor::customer("alice"), now);
    /// assert!(matches!(refused, Err(Rejection::InvalidArgument(e)) if e.problem == Problem::Required));
    /// assert!(Task::create(new.argument("authCode", "X7#kd82!"), Actor::customer("alice"), now).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// This spec, with a description for the customer.
    ///
    /// ```
    /// use taskstate::ArgumentSpec;
    ///
    /// let code = ArgumentSpec::text("authCode", 6, 32).describe("The transfer code your registrar gave you");
    /// assert_eq!(code.description, "The transfer code your registrar gave you");
    /// ```
    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// The accepted values, for a one-of argument; empty for any other.
    ///
    /// ```
    /// use taskstate::ArgumentSpec;
    ///
    /// assert_eq!(ArgumentSpec::one_of("period", ["1y", "2y"]).accepted_values(), ["1y", "2y"]);
    /// assert!(ArgumentSpec::text("city", 1, 64).accepted_values().is_empty());
    /// ```
    pub fn accepted_values(&self) -> &[String] {
        match &self.kind {
            ArgumentType::OneOf { accepted } => accepted,
            _ => &[],
        }
    }

    /// Checks `value` against this spec's type and bounds (not against
    /// `read_only`, which concerns edits).
    ///
    /// # Errors
    ///
    /// An [`ArgumentError`] naming this spec's key and the [`Problem`]:
    /// [`WrongType`](Problem::WrongType), [`TooShort`](Problem::TooShort),
    /// [`TooLong`](Problem::TooLong), [`NotAccepted`](Problem::NotAccepted),
    /// [`BelowMinimum`](Problem::BelowMinimum),
    /// [`AboveMaximum`](Problem::AboveMaximum),
    /// [`InvalidEmail`](Problem::InvalidEmail),
    /// [`InvalidPhone`](Problem::InvalidPhone),
    /// [`NotAnId`](Problem::NotAnId) or [`TooDeep`](Problem::TooDeep).
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentType, ArgumentValue, Problem};
    ///
    /// let email = ArgumentSpec::new("contactEmail", ArgumentType::Email);
    /// assert!(email.check(&ArgumentValue::from("alice@example.fr")).is_ok());
    /// let err = email.check(&ArgumentValue::from(7_i64)).err().ok_or("accepted")?;
    /// assert_eq!(err.problem, Problem::WrongType { expected: "email", found: "integer" });
    /// assert!(email.check(&ArgumentValue::from("alice@localhost")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self, value: &ArgumentValue) -> Result<(), ArgumentError> {
        self.problem_with(value)
            .map_or(Ok(()), |problem| Err(self.error(problem)))
    }

    fn problem_with(&self, value: &ArgumentValue) -> Option<Problem> {
        use ArgumentType as T;
        use ArgumentValue as V;
        match (&self.kind, value) {
            (T::Text { min, max }, V::Text(text)) => {
                let chars = text.chars().count();
                if chars < *min as usize {
                    Some(Problem::TooShort { min: *min })
                } else if chars > *max as usize {
                    Some(Problem::TooLong { max: *max })
                } else {
                    None
                }
            }
            (T::OneOf { accepted }, V::Text(text)) => {
                (!accepted.iter().any(|a| a == text)).then(|| Problem::NotAccepted {
                    accepted: accepted.clone(),
                })
            }
            (T::Integer { min, .. }, V::Integer(n)) if n < min => {
                Some(Problem::BelowMinimum { min: *min })
            }
            (T::Integer { max, .. }, V::Integer(n)) if n > max => {
                Some(Problem::AboveMaximum { max: *max })
            }
            (T::Email, V::Text(text)) => (!is_email(text)).then_some(Problem::InvalidEmail),
            (T::Reference { resource, id }, V::Text(text)) => {
                (!id.accepts(text)).then(|| Problem::NotAnId {
                    resource: resource.clone(),
                    id: *id,
                })
            }
            (T::Phone, V::Text(text)) => (!is_phone(text)).then_some(Problem::InvalidPhone),
            (T::Json, V::Json(json)) if nested_deeper_than(json, MAX_JSON_DEPTH) => {
                Some(Problem::TooDeep {
                    max: MAX_JSON_DEPTH,
                })
            }
            (T::Integer { .. }, V::Integer(_))
            | (T::Boolean, V::Boolean(_))
            | (T::Date, V::Date(_))
            | (T::Json, V::Json(_)) => None,
            (kind, value) => Some(Problem::WrongType {
                expected: kind.name(),
                found: value.type_name(),
            }),
        }
    }

    /// Reads a value for this spec from text, as APIs that speak in
    /// strings send it (`"42"` for an integer, `"2026-11-23"` for a date,
    /// `"true"` for a boolean, JSON text for a JSON argument), then checks
    /// it.
    ///
    /// ```
    /// use taskstate::{ArgumentSpec, ArgumentValue};
    ///
    /// let years = ArgumentSpec::integer("duration", 1, 10);
    /// assert_eq!(years.parse("2")?, ArgumentValue::Integer(2));
    /// assert!(years.parse("two").is_err());
    /// # Ok::<(), taskstate::ArgumentError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Problem::Unparsable`] when the text does not read as the type,
    /// then the errors of [`check`](ArgumentSpec::check).
    pub fn parse(&self, text: &str) -> Result<ArgumentValue, ArgumentError> {
        let unparsable = || {
            self.error(Problem::Unparsable {
                expected: self.kind.name(),
            })
        };
        let value = match &self.kind {
            ArgumentType::Integer { .. } => {
                ArgumentValue::Integer(text.trim().parse().map_err(|_| unparsable())?)
            }
            ArgumentType::Boolean => {
                ArgumentValue::Boolean(text.trim().parse().map_err(|_| unparsable())?)
            }
            ArgumentType::Date => {
                ArgumentValue::Date(text.trim().parse().map_err(|_| unparsable())?)
            }
            ArgumentType::Json => {
                ArgumentValue::Json(serde_json::from_str(text).map_err(|_| unparsable())?)
            }
            ArgumentType::Text { .. }
            | ArgumentType::OneOf { .. }
            | ArgumentType::Email
            | ArgumentType::Phone
            | ArgumentType::Reference { .. } => ArgumentValue::from(text),
        };
        self.check(&value)?;
        Ok(value)
    }

    pub(crate) fn error(&self, problem: Problem) -> ArgumentError {
        ArgumentError {
            key: self.key.clone(),
            problem,
        }
    }
}

/// A structural email check: one `@`, a non-empty local part, a domain
/// with a dot and no empty label, no white space, at most 254 characters.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| !label.is_empty())
        && !text.chars().any(char::is_whitespace)
}

/// An international phone number: `+`, a country code of one to three
/// digits not starting with 0, an optional `.` after it, and digits; 8 to
/// 15 digits in all (E.164).
fn is_phone(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('+') else {
        return false;
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let (code_ok, digits) = match rest.split_once('.') {
        Some((code, number)) => (
            (1..=3).contains(&code.len()) && all_digits(code) && all_digits(number),
            code.len() + number.len(),
        ),
        None => (all_digits(rest), rest.len()),
    };
    code_ok && !rest.starts_with('0') && (8..=15).contains(&digits)
}

/// The deepest nesting of arrays and objects a JSON argument may have.
///
/// A task's record holds its arguments a few levels down (in its history:
/// the event, its command, the arguments, the value), and `serde_json`
/// refuses to read a document nested more than 128 levels. A value nested
/// close to that limit could be accepted and stored, yet make the record
/// unreadable; this bound leaves the record, and a host's envelope around
/// it, ample room.
///
/// ```
/// use serde_json::json;
/// use taskstate::{ArgumentSpec, ArgumentType, ArgumentValue, Problem, MAX_JSON_DEPTH};
///
/// let nested = |depth| (0..depth).fold(json!(1), |inner, _| json!([inner]));
/// let spec = ArgumentSpec::new("records", ArgumentType::Json);
/// assert!(spec.check(&ArgumentValue::from(nested(MAX_JSON_DEPTH))).is_ok());
/// let err = spec.check(&ArgumentValue::from(nested(MAX_JSON_DEPTH + 1))).err().ok_or("accepted")?;
/// assert_eq!(err.problem, Problem::TooDeep { max: MAX_JSON_DEPTH });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MAX_JSON_DEPTH: usize = 64;

/// Whether `json` nests arrays and objects more than `max` levels deep
/// (a scalar is 0 levels, `[]` one). Without recursion, so that any value
/// built in memory can be checked.
fn nested_deeper_than(json: &serde_json::Value, max: usize) -> bool {
    use serde_json::Value;
    let mut open: Vec<(&Value, usize)> = vec![(json, 0)];
    while let Some((value, depth)) = open.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        if depth >= max {
            return true;
        }
        open.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

/// What is wrong with an argument value.
///
/// ```
/// use taskstate::{ArgumentSpec, ArgumentType, Problem};
///
/// let phone = ArgumentSpec::new("phone", ArgumentType::Phone);
/// let err = phone.parse("01 23 45 67 89").err().ok_or("accepted")?;
/// assert_eq!(err.problem, Problem::InvalidPhone);
/// assert_eq!(err.problem.to_string(), "not an international phone number (+CC.NNNNNNNN)");
/// assert!(phone.parse("+33.123456789").is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Problem {
    /// The kind declares no argument with this key.
    #[error("not an argument of this kind")]
    UnknownKey,
    /// The argument is read-only after creation.
    #[error("read-only")]
    ReadOnly,
    /// A required argument left without a value.
    #[error("required")]
    Required,
    /// The value's type is not the argument's.
    #[error("expected a value of type {expected}, found one of type {found}")]
    WrongType {
        /// The argument's type.
        expected: &'static str,
        /// The value's type.
        found: &'static str,
    },
    /// Text that does not read as the argument's type.
    #[error("does not read as a value of type {expected}")]
    Unparsable {
        /// The argument's type.
        expected: &'static str,
    },
    /// Text shorter than the minimum.
    #[error("shorter than {min} characters")]
    TooShort {
        /// The fewest characters.
        min: u32,
    },
    /// Text longer than the maximum.
    #[error("longer than {max} characters")]
    TooLong {
        /// The most characters.
        max: u32,
    },
    /// A number below the minimum.
    #[error("below the minimum {min}")]
    BelowMinimum {
        /// The smallest value.
        min: i64,
    },
    /// A number above the maximum.
    #[error("above the maximum {max}")]
    AboveMaximum {
        /// The largest value.
        max: i64,
    },
    /// Not one of the accepted values.
    #[error("not an accepted value (accepted: {})", accepted.join(", "))]
    NotAccepted {
        /// The accepted values.
        accepted: Vec<String>,
    },
    /// Not an email address.
    #[error("not an email address")]
    InvalidEmail,
    /// Not an international phone number.
    #[error("not an international phone number (+CC.NNNNNNNN)")]
    InvalidPhone,
    /// Not an id of the referenced resource's form.
    #[error("not an id of {resource} (a {id})")]
    NotAnId {
        /// The resource type.
        resource: String,
        /// The form of its ids.
        id: IdFormat,
    },
    /// JSON nested deeper than [`MAX_JSON_DEPTH`]: a record holding it
    /// could not be read back.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The deepest nesting allowed.
        max: usize,
    },
}

/// An argument value refused: which key, and why.
///
/// ```
/// use taskstate::{ArgumentError, ArgumentSpec, Problem};
///
/// let err: ArgumentError = ArgumentSpec::integer("years", 1, 10).parse("ten").err().ok_or("accepted")?;
/// assert_eq!((err.key.as_str(), &err.problem), ("years", &Problem::Unparsable { expected: "integer" }));
/// assert_eq!(err.to_string(), "argument years: does not read as a value of type integer");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("argument {key}: {problem}")]
pub struct ArgumentError {
    /// The argument's key.
    pub key: String,
    /// What is wrong.
    pub problem: Problem,
}

/// The current values of a task's arguments, by key.
///
/// ```
/// use taskstate::{ArgumentValue, Arguments, Command, NamedKind};
///
/// let mut corrections = Arguments::new();
/// corrections.insert("authCode".into(), ArgumentValue::from("X7#kd82!"));
/// let relaunch: Command<NamedKind> = Command::Relaunch { arguments: corrections };
/// assert_eq!(relaunch.summary(), "authCode = X7#kd82!");
/// ```
pub type Arguments = BTreeMap<String, ArgumentValue>;

/// One argument as a UI shows it: its spec and its current value.
///
/// ```
/// # use chrono::{TimeZone, Utc};
/// # use taskstate::{Actor, IdGenerator, NewTask, Owner, ResourceRef, Task};
/// use taskstate::{ArgumentSpec, ArgumentValue, NamedKind};
/// # let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().ok_or("time")?;
/// let kind = NamedKind::new("DomainCreate")
///     .argument(ArgumentSpec::one_of("period", ["1y", "2y"]).describe("How long to register it"))
///     .argument(ArgumentSpec::text("legitimacyAfnic", 10, 2000));
/// # let new = NewTask::new(IdGenerator::seeded(1).next_id(now), kind,
/// #     Owner::new("alice"), ResourceRef::new("domain", "example.fr")).argument("period", "1y");
/// # let (task, _) = Task::create(new, Actor::customer("alice"), now)?;
/// let period = task.argument("period").ok_or("undeclared")?;
/// assert_eq!(period.spec.description, "How long to register it");
/// assert_eq!(period.value, Some(&ArgumentValue::from("1y")));
/// // Declared, but without a value yet.
/// assert_eq!(task.argument("legitimacyAfnic").map(|view| view.value), Some(None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ArgumentView<'a> {
    /// The declaration: type, bounds, accepted values, description.
    pub spec: &'a ArgumentSpec,
    /// The current value, if it has one.
    pub value: Option<&'a ArgumentValue>,
}

/// Checks a full set of values against the specs: every key declared,
/// every value valid, every required argument present.
pub(crate) fn check_all(specs: &[ArgumentSpec], values: &Arguments) -> Result<(), ArgumentError> {
    for (key, value) in values {
        spec_of(specs, key)?.check(value)?;
    }
    match specs
        .iter()
        .find(|spec| spec.required && !values.contains_key(&spec.key))
    {
        Some(spec) => Err(spec.error(Problem::Required)),
        None => Ok(()),
    }
}

/// The spec of `key`.
pub(crate) fn spec_of<'a>(
    specs: &'a [ArgumentSpec],
    key: &str,
) -> Result<&'a ArgumentSpec, ArgumentError> {
    specs
        .iter()
        .find(|spec| spec.key == key)
        .ok_or_else(|| ArgumentError {
            key: key.to_owned(),
            problem: Problem::UnknownKey,
        })
}

/// Checks an edit of `key` to `value` (`None` clears it).
pub(crate) fn check_edit(
    specs: &[ArgumentSpec],
    key: &str,
    value: Option<&ArgumentValue>,
) -> Result<(), ArgumentError> {
    let spec = spec_of(specs, key)?;
    if spec.read_only {
        return Err(spec.error(Problem::ReadOnly));
    }
    match value {
        Some(value) => spec.check(value),
        None if spec.required => Err(spec.error(Problem::Required)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(spec: &ArgumentSpec, value: impl Into<ArgumentValue>) -> Option<Problem> {
        spec.check(&value.into()).err().map(|e| {
            assert_eq!(e.key, spec.key);
            e.problem
        })
    }

    #[test]
    fn every_type_checks_its_values() {
        let text = ArgumentSpec::text("name", 2, 4);
        assert_eq!(problem(&text, "ab"), None);
        assert_eq!(problem(&text, "é"), Some(Problem::TooShort { min: 2 }));
        assert_eq!(problem(&text, "abcde"), Some(Problem::TooLong { max: 4 }));
        assert_eq!(problem(&text, "éééé"), None, "length counts characters");

        let one_of = ArgumentSpec::one_of("use", ["personal", "business"]);
        assert_eq!(problem(&one_of, "business"), None);
        assert_eq!(
            problem(&one_of, "other"),
            Some(Problem::NotAccepted {
                accepted: vec!["personal".into(), "business".into()]
            })
        );

        let int = ArgumentSpec::integer("years", 1, 10);
        assert_eq!(problem(&int, 10), None);
        assert_eq!(problem(&int, 0), Some(Problem::BelowMinimum { min: 1 }));
        assert_eq!(problem(&int, 11), Some(Problem::AboveMaximum { max: 10 }));
        assert_eq!(
            problem(&int, "3"),
            Some(Problem::WrongType {
                expected: "integer",
                found: "text"
            })
        );

        let boolean = ArgumentSpec::new("owo", ArgumentType::Boolean);
        assert_eq!(problem(&boolean, true), None);
        let date = ArgumentSpec::new("birth", ArgumentType::Date);
        assert_eq!(
            problem(&date, NaiveDate::from_ymd_opt(2000, 1, 1).unwrap()),
            None
        );
        assert!(matches!(problem(&date, 3), Some(Problem::WrongType { .. })));
        let json = ArgumentSpec::new("extra", ArgumentType::Json);
        assert_eq!(problem(&json, serde_json::json!({"a": [1]})), None);

        let email = ArgumentSpec::new("email", ArgumentType::Email);
        assert_eq!(problem(&email, "a@example.fr"), None);
        for bad in [
            "a",
            "@example.fr",
            "a@b",
            "a@b..fr",
            "a b@example.fr",
            "a@b@c.fr",
        ] {
            assert_eq!(problem(&email, bad), Some(Problem::InvalidEmail), "{bad}");
        }
        let phone = ArgumentSpec::new("phone", ArgumentType::Phone);
        for good in ["+33.123456789", "+33123456789", "+1.4155550100"] {
            assert_eq!(problem(&phone, good), None, "{good}");
        }
        for bad in [
            "0123456789",
            "+33.12",
            "+33.12345678901234",
            "+3a.123456789",
            "+1234.56789012",
            "+.12345678",
            "+0.00000000",
        ] {
            assert_eq!(problem(&phone, bad), Some(Problem::InvalidPhone), "{bad}");
        }
    }

    #[test]
    fn parse_reads_text_as_the_type() {
        let date = ArgumentSpec::new("d", ArgumentType::Date);
        assert_eq!(
            date.parse("2026-11-23").unwrap(),
            ArgumentValue::Date(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap())
        );
        assert_eq!(
            date.parse("23/11/2026").unwrap_err().problem,
            Problem::Unparsable { expected: "date" }
        );
        let flag = ArgumentSpec::new("b", ArgumentType::Boolean);
        assert_eq!(flag.parse("true").unwrap(), ArgumentValue::Boolean(true));
        let json = ArgumentSpec::new("j", ArgumentType::Json);
        assert!(json.parse("{").is_err());
        assert_eq!(
            ArgumentSpec::integer("n", 0, 5)
                .parse("9")
                .unwrap_err()
                .problem,
            Problem::AboveMaximum { max: 5 }
        );
    }

    #[test]
    fn edits_respect_read_only_and_required() {
        let specs = [
            ArgumentSpec::text("domain", 1, 255).read_only().required(),
            ArgumentSpec::text("note", 0, 10),
            ArgumentSpec::text("contact", 1, 10).required(),
        ];
        let edit = |key, value: Option<ArgumentValue>| {
            check_edit(&specs, key, value.as_ref()).map_err(|e| e.problem)
        };
        assert_eq!(edit("domain", Some("x".into())), Err(Problem::ReadOnly));
        assert_eq!(edit("nope", Some("x".into())), Err(Problem::UnknownKey));
        assert_eq!(edit("note", None), Ok(()));
        assert_eq!(edit("contact", None), Err(Problem::Required));
        let mut values = Arguments::new();
        values.insert("domain".into(), "example.fr".into());
        assert_eq!(check_all(&specs, &values).unwrap_err().key, "contact");
        values.insert("contact".into(), "c1".into());
        assert_eq!(check_all(&specs, &values), Ok(()));
        values.insert("other".into(), "x".into());
        assert_eq!(
            check_all(&specs, &values).unwrap_err().problem,
            Problem::UnknownKey
        );
    }

    #[test]
    fn values_and_specs_serialize_with_their_type() {
        let value = ArgumentValue::Integer(3);
        assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"integer":3}"#);
        let spec = ArgumentSpec::one_of("use", ["a"]).required();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"key": "use", "type": "one_of", "accepted": ["a"], "read_only": false, "required": true, "description": ""})
        );
        assert_eq!(serde_json::from_value::<ArgumentSpec>(json).unwrap(), spec);
    }
}
