//! The answer's JSON read straight into the few things kept (contact keys,
//! names, group names), skipping everything else as it streams past: a
//! `serde_json::Value` tree of a hostile 4 MiB answer (`[0,0,0,…]`) would
//! cost tens of bytes per input byte, this costs at most the strings kept.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// The top level: entries in the order given.
pub struct Answer(pub Vec<(String, Details)>);

/// What one entry's value turned out to be.
pub enum Details {
    Object {
        /// `None` when absent or null; `Some(Err(kind))` when not a string.
        name: Option<Result<String, &'static str>>,
        groups: Vec<String>,
        unknown: Vec<String>,
    },
    /// Not an object: what it was.
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnswerVisitor)
    }
}

struct AnswerVisitor;

impl<'de> Visitor<'de> for AnswerVisitor {
    type Value = Answer;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of contacts")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Answer, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Details>()?));
        }
        Ok(Answer(entries))
    }

    /// `[]` is an empty roster, as Prosody reads it; any other array is not.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Answer, A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "a JSON object was expected, not an array",
            ));
        }
        Ok(Answer(Vec::new()))
    }
}

impl<'de> Deserialize<'de> for Details {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DetailsVisitor)
    }
}

struct DetailsVisitor;

impl<'de> Visitor<'de> for DetailsVisitor {
    type Value = Details;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a contact's details")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Details, A::Error> {
        let (mut name, mut groups, mut unknown) = (None, Vec::new(), Vec::new());
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "name" => name = map.next_value::<Loose>()?.0,
                "groups" => groups = map.next_value::<Groups>()?.0,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    unknown.push(field);
                }
            }
        }
        Ok(Details::Object {
            name,
            groups,
            unknown,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Details, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Details::Other("an array"))
    }

    fn visit_unit<E>(self) -> Result<Details, E> {
        Ok(Details::Other("null"))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Details, E> {
        Ok(Details::Other("a boolean"))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Details, E> {
        Ok(Details::Other("a number"))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Details, E> {
        Ok(Details::Other("a number"))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Details, E> {
        Ok(Details::Other("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<Details, E> {
        Ok(Details::Other("a string"))
    }
}

/// A string, or what else was there (consumed and dropped).
struct Loose(Option<Result<String, &'static str>>);

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E>(self, s: &str) -> Result<Loose, E> {
        Ok(Loose(Some(Ok(s.to_owned()))))
    }

    fn visit_unit<E>(self) -> Result<Loose, E> {
        Ok(Loose(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Loose, E> {
        Ok(Loose(Some(Err("a boolean"))))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Loose, E> {
        Ok(Loose(Some(Err("a number"))))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Loose, E> {
        Ok(Loose(Some(Err("a number"))))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Loose, E> {
        Ok(Loose(Some(Err("a number"))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose(Some(Err("an array"))))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose(Some(Err("an object"))))
    }
}

/// Group names: an object's keys (Prosody's form) or an array's strings;
/// anything else is no groups.
struct Groups(Vec<String>);

impl<'de> Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(GroupsVisitor)
    }
}

struct GroupsVisitor;

impl<'de> Visitor<'de> for GroupsVisitor {
    type Value = Groups;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("groups")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Groups, A::Error> {
        let mut groups = Vec::new();
        while let Some(group) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            groups.push(group);
        }
        Ok(Groups(groups))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Groups, A::Error> {
        let mut groups = Vec::new();
        while let Some(group) = seq.next_element::<Loose>()? {
            if let Some(Ok(group)) = group.0 {
                groups.push(group);
            }
        }
        Ok(Groups(groups))
    }

    fn visit_unit<E>(self) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }

    fn visit_str<E>(self, _: &str) -> Result<Groups, E> {
        Ok(Groups(Vec::new()))
    }
}
