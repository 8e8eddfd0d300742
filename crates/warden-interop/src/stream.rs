//! JSON documents read as a stream: a STIX bundle's objects and a MISP event's attributes
//! reach the caller one at a time while the document is parsed, so memory holds one object,
//! not the document (bundles and events of millions of entries are read in constant memory).

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::Read;

/// The error that ends a walk the caller stopped.
const STOP: &str = "the reader stopped";

/// Calls `each` with every object of the STIX bundle read from `r`, in order, until it
/// returns false. A document that is not JSON, or not an object, is an error (with its line
/// and column); a bundle without `objects` has none.
pub fn stix_objects<R: Read>(r: R, each: impl FnMut(Value) -> bool) -> Result<(), String> {
    let mut each = Stoppable::new(each);
    let res = walk(
        r,
        Field {
            key: "objects",
            each: &mut each.f(),
        },
        "a STIX bundle (a JSON object)",
    );
    each.result(res)
}

/// Calls `each` with every attribute of the MISP event read from `r` (`{"Event": {…}}` or
/// the event object itself): the event's own attributes and those of its objects, in the
/// order the document gives them, until it returns false.
pub fn misp_attributes<R: Read>(r: R, each: impl FnMut(Value) -> bool) -> Result<(), String> {
    let mut each = Stoppable::new(each);
    let res = walk(
        r,
        Event {
            each: &mut each.f(),
            top: true,
        },
        "a MISP event (a JSON object)",
    );
    each.result(res)
}

/// A callback that remembers whether it asked to stop: the walk then ends with an error
/// that is not the document's.
struct Stoppable<F> {
    each: F,
    stopped: bool,
}

impl<F: FnMut(Value) -> bool> Stoppable<F> {
    fn new(each: F) -> Self {
        Stoppable {
            each,
            stopped: false,
        }
    }

    fn f(&mut self) -> impl FnMut(Value) -> bool + '_ {
        |v| {
            let go = (self.each)(v);
            self.stopped |= !go;
            go
        }
    }

    fn result(self, res: Result<(), String>) -> Result<(), String> {
        if self.stopped { Ok(()) } else { res }
    }
}

fn walk<R: Read, S>(r: R, seed: S, what: &str) -> Result<(), String>
where
    S: for<'de> DeserializeSeed<'de, Value = ()>,
{
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(r));
    match seed.deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        Err(e) if e.is_io() => Err(format!("reading: {e}")),
        Err(e) => Err(format!("not {what}: {e}")),
    }
}

/// The elements of an array, each handed to the callback.
struct Each<'a, F>(&'a mut F);

impl<'de, F: FnMut(Value) -> bool> DeserializeSeed<'de> for Each<'_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Value) -> bool> Visitor<'de> for Each<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            if !(self.0)(v) {
                return Err(de::Error::custom(STOP));
            }
        }
        Ok(())
    }
}

/// An object whose one field `key` is an array handed on element by element (a bundle's
/// `objects`, a MISP object's `Attribute`); its other fields are skipped.
struct Field<'a, F> {
    key: &'static str,
    each: &'a mut F,
}

impl<'de, F: FnMut(Value) -> bool> DeserializeSeed<'de> for Field<'_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Value) -> bool> Visitor<'de> for Field<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<String>()? {
            if k == self.key {
                map.next_value_seed(Each(&mut *self.each))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A MISP event (`top`: or the document holding it under `Event`).
struct Event<'a, F> {
    each: &'a mut F,
    top: bool,
}

impl<'de, F: FnMut(Value) -> bool> DeserializeSeed<'de> for Event<'_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(Value) -> bool> Visitor<'de> for Event<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "Event" if self.top => map.next_value_seed(Event {
                    each: &mut *self.each,
                    top: false,
                })?,
                "Attribute" => map.next_value_seed(Each(&mut *self.each))?,
                "Object" => map.next_value_seed(Objects(&mut *self.each))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A MISP event's objects: each one's `Attribute` array.
struct Objects<'a, F>(&'a mut F);

impl<'de, F: FnMut(Value) -> bool> DeserializeSeed<'de> for Objects<'_, F> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Value) -> bool> Visitor<'de> for Objects<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of MISP objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq
            .next_element_seed(Field {
                key: "Attribute",
                each: &mut *self.0,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// (type, value) of every attribute of a MISP event held in memory (tests).
#[cfg(test)]
pub(crate) fn misp_pairs(ev: &Value) -> Vec<(String, String)> {
    let text = ev.to_string();
    let mut out = vec![];
    let read = misp_attributes(text.as_bytes(), |a| {
        let s = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        out.push((s("type"), s("value")));
        true
    });
    assert_eq!(read, Ok(()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(doc: &str) -> Result<Vec<Value>, String> {
        let mut out = vec![];
        stix_objects(doc.as_bytes(), |o| {
            out.push(o);
            true
        })?;
        Ok(out)
    }

    #[test]
    fn a_bundle_gives_its_objects_in_order() {
        let got = objects(
            r#"{"type": "bundle", "id": "bundle--1", "objects": [{"id": "a"}, {"id": "b", "x": [1, {"objects": []}]}], "extra": {"objects": [9]}}"#,
        )
        .unwrap();
        let ids: Vec<&str> = got.iter().filter_map(|o| o["id"].as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(
            objects(r#"{"type": "bundle"}"#).unwrap(),
            Vec::<Value>::new()
        );
    }

    #[test]
    fn broken_documents_say_where() {
        let e = objects(r#"{"objects": [{"id": "a"}, {"id": }]}"#).unwrap_err();
        assert!(
            e.starts_with("not a STIX bundle") && e.contains("line 1 column"),
            "{e}"
        );
        let e = objects("[1, 2]").unwrap_err();
        assert!(e.contains("a JSON object"), "{e}");
        let e = objects(r#"{"objects": []} trailing"#).unwrap_err();
        assert!(e.contains("trailing"), "{e}");
        let e = objects(r#"{"objects": 5}"#).unwrap_err();
        assert!(e.contains("an array"), "{e}");
    }

    #[test]
    fn the_reader_can_stop_early() {
        let mut n = 0;
        stix_objects(r#"{"objects": [1, 2, 3, 4]}"#.as_bytes(), |_| {
            n += 1;
            n < 2
        })
        .unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn misp_attributes_of_the_event_and_its_objects() {
        let doc = r#"{"Event": {"info": "x", "Object": [{"name": "o", "Attribute": [{"type": "hostname", "value": "a.example"}]}, {"name": "empty"}],
            "Attribute": [{"type": "ip-dst", "value": "192.0.2.1"}], "Tag": [{"Attribute": [{"type": "no"}]}]}}"#;
        let mut got = vec![];
        misp_attributes(doc.as_bytes(), |a| {
            got.push(a["value"].as_str().unwrap_or("").to_owned());
            true
        })
        .unwrap();
        assert_eq!(got, ["a.example", "192.0.2.1"]);
        // The event object itself, without the wrapper, reads the same.
        let bare =
            r#"{"Attribute": [{"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"}]}"#;
        let mut n = 0;
        misp_attributes(bare.as_bytes(), |_| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 1);
    }
}
