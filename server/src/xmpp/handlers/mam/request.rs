//! What a client asks of its archive, read from its `<query/>` (a
//! XEP-0004 form and a XEP-0059 `<set/>`) and `<prefs/>`; anything
//! malformed is `bad-request` with a text saying what, an RSM `<index/>`
//! is `feature-not-implemented`.

use jid::{BareJid, Jid};
use roost_common::config::ArchivePolicy;
use roost_common::time::parse_xep0082;
use roost_xml::Element;

use super::{DATA_FORMS, MAM, RSM};
use crate::services::archive::{Before, DEFAULT_PAGE, MAX_PAGE, Prefs, Query};
use crate::xmpp::stanza::{ErrorType, StanzaError};

fn bad(text: impl Into<String>) -> StanzaError {
    StanzaError::bad_request().with_text(text)
}

/// The query id (echoed in each result) and the query.
pub fn query(payload: &Element) -> Result<(Option<String>, Query), StanzaError> {
    let mut query = Query {
        max: DEFAULT_PAGE,
        ..Query::default()
    };
    let mut forms = payload.children().filter(|c| c.is("x", DATA_FORMS));
    if let Some(form) = forms.next() {
        if forms.next().is_some() {
            return Err(bad("one form per query"));
        }
        read_form(form, &mut query)?;
    }
    if let Some(set) = payload.child("set", RSM) {
        read_set(set, &mut query)?;
    }
    Ok((payload.attr("queryid").map(str::to_owned), query))
}

fn read_form(form: &Element, query: &mut Query) -> Result<(), StanzaError> {
    if form.attr("type").is_some_and(|t| t != "submit") {
        return Err(bad("the form must be submitted (type='submit')"));
    }
    for field in form.children().filter(|c| c.name() == "field") {
        let var = field.attr("var").unwrap_or_default();
        let values: Vec<String> = field
            .children()
            .filter(|c| c.name() == "value")
            .map(Element::text)
            .collect();
        let single = || -> Result<Option<&str>, StanzaError> {
            match values.as_slice() {
                [] => Ok(None),
                [one] if one.trim().is_empty() => Ok(None),
                [one] => Ok(Some(one.trim())),
                _ => Err(bad(format!("field '{var}' takes one value"))),
            }
        };
        match var {
            "FORM_TYPE" => {
                if single()? != Some(MAM) {
                    return Err(bad(format!("FORM_TYPE must be {MAM}")));
                }
            }
            "with" => {
                query.with = match single()? {
                    Some(text) => Some(
                        Jid::new(text)
                            .map_err(|_| bad(format!("'{text}' is not a JID")))?
                            .to_bare()
                            .to_string(),
                    ),
                    None => None,
                };
            }
            "start" | "end" => {
                let stamp = match single()? {
                    Some(text) => Some(
                        parse_xep0082(text)
                            .ok_or_else(|| bad(format!("'{text}' is not a XEP-0082 time")))?,
                    ),
                    None => None,
                };
                match var {
                    "start" => query.start_ms = stamp,
                    _ => query.end_ms = stamp,
                }
            }
            "after-id" => query.after_id = single()?.map(str::to_owned),
            "before-id" => query.before_id = single()?.map(str::to_owned),
            "ids" => {
                if values.len() > MAX_PAGE {
                    return Err(bad(format!("at most {MAX_PAGE} ids")));
                }
                query.ids = values.iter().map(|v| v.trim().to_owned()).collect();
            }
            other => return Err(bad(format!("unknown field '{other}'"))),
        }
    }
    Ok(())
}

fn read_set(set: &Element, query: &mut Query) -> Result<(), StanzaError> {
    for child in set.children() {
        let text = child.text();
        match child.name() {
            "max" => {
                let max: usize = text.trim().parse().map_err(|_| bad("<max/> is a number"))?;
                query.max = max.min(MAX_PAGE);
            }
            "after" if text.is_empty() => return Err(bad("<after/> needs an id")),
            "after" => query.after = Some(text),
            "before" if text.is_empty() => query.before = Some(Before::Last),
            "before" => query.before = Some(Before::Id(text)),
            "index" => {
                return Err(
                    StanzaError::new(ErrorType::Cancel, "feature-not-implemented")
                        .with_text("paging by index is not supported; use after and before"),
                );
            }
            _ => {}
        }
    }
    Ok(())
}

/// The preferences a client sets (XEP-0313 §6.1).
pub fn prefs(payload: &Element) -> Result<Prefs, StanzaError> {
    let default = payload
        .attr("default")
        .and_then(ArchivePolicy::parse)
        .ok_or_else(|| bad("default must be always, roster or never"))?;
    let list = |name: &str| -> Result<Vec<BareJid>, StanzaError> {
        let mut jids = Vec::new();
        if let Some(list) = payload.child(name, MAM) {
            for jid in list.children().filter(|c| c.is("jid", MAM)) {
                let text = jid.text();
                let parsed = BareJid::new(text.trim())
                    .map_err(|_| bad(format!("'{text}' is not a bare JID")))?;
                if !jids.contains(&parsed) {
                    jids.push(parsed);
                }
            }
        }
        Ok(jids)
    };
    Ok(Prefs {
        default,
        always: list("always")?,
        never: list("never")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(var: &str, values: &[&str]) -> Element {
        let mut field = Element::new("field", DATA_FORMS).with_attr("var", var);
        for value in values {
            field.push_child(Element::new("value", DATA_FORMS).with_text(*value));
        }
        field
    }

    fn form(fields: Vec<Element>) -> Element {
        let mut form = Element::new("x", DATA_FORMS).with_attr("type", "submit");
        form.push_child(field("FORM_TYPE", &[MAM]));
        for f in fields {
            form.push_child(f);
        }
        form
    }

    fn set(children: &[(&str, &str)]) -> Element {
        let mut set = Element::new("set", RSM);
        for (name, text) in children {
            set.push_child(Element::new(name, RSM).with_text(*text));
        }
        set
    }

    fn query_of(children: Vec<Element>) -> Result<(Option<String>, Query), StanzaError> {
        let mut payload = Element::new("query", MAM).with_attr("queryid", "q1");
        for c in children {
            payload.push_child(c);
        }
        query(&payload)
    }

    #[test]
    fn a_bare_query_asks_for_the_first_default_page() {
        let (id, q) = query_of(vec![]).unwrap();
        assert_eq!(id.as_deref(), Some("q1"));
        assert_eq!(
            q,
            Query {
                max: DEFAULT_PAGE,
                ..Query::default()
            }
        );
    }

    #[test]
    fn form_fields_and_paging_are_read() {
        let (_, q) = query_of(vec![
            form(vec![
                field("with", &["Bob@B.test/phone"]),
                field("start", &["2023-11-14T22:13:20Z"]),
                field("end", &["2023-11-14T23:13:20.5+01:00"]),
                field("after-id", &["a1"]),
                field("before-id", &["b1"]),
                field("ids", &["x", "y"]),
            ]),
            set(&[("max", "10"), ("after", "c1")]),
        ])
        .unwrap();
        assert_eq!(q.with.as_deref(), Some("bob@b.test"));
        assert_eq!(q.start_ms, Some(1_700_000_000_000));
        assert_eq!(q.end_ms, Some(1_700_000_000_500));
        assert_eq!(q.after_id.as_deref(), Some("a1"));
        assert_eq!(q.before_id.as_deref(), Some("b1"));
        assert_eq!(q.ids, vec!["x".to_owned(), "y".to_owned()]);
        assert_eq!(q.max, 10);
        assert_eq!(q.after.as_deref(), Some("c1"));
        assert_eq!(q.before, None);
    }

    #[test]
    fn before_empty_is_the_last_page_and_max_is_capped() {
        let (_, q) = query_of(vec![set(&[("max", "100000"), ("before", "")])]).unwrap();
        assert_eq!(q.before, Some(Before::Last));
        assert_eq!(q.max, MAX_PAGE);
        let (_, q) = query_of(vec![set(&[("before", "z9")])]).unwrap();
        assert_eq!(q.before, Some(Before::Id("z9".into())));
    }

    #[test]
    fn malformed_queries_are_bad_requests_and_index_is_not_implemented() {
        for bad in [
            vec![form(vec![field("colour", &["red"])])],
            vec![form(vec![field("start", &["yesterday"])])],
            vec![form(vec![field("with", &["a@"])])],
            vec![form(vec![field("with", &["a@b", "c@d"])])],
            vec![form(vec![]), form(vec![])],
            vec![
                Element::new("x", DATA_FORMS)
                    .with_attr("type", "submit")
                    .with_child(field("FORM_TYPE", &["urn:xmpp:mam:1"])),
            ],
            vec![set(&[("max", "-1")])],
            vec![set(&[("max", "ten")])],
            vec![set(&[("after", "")])],
        ] {
            let error = query_of(bad.clone()).unwrap_err();
            assert_eq!(error.condition, "bad-request", "{bad:?}");
        }
        let error = query_of(vec![set(&[("index", "3")])]).unwrap_err();
        assert_eq!(error.condition, "feature-not-implemented");
    }

    #[test]
    fn prefs_are_read_without_duplicates() {
        let list = |name: &str, jids: &[&str]| {
            let mut list = Element::new(name, MAM);
            for jid in jids {
                list.push_child(Element::new("jid", MAM).with_text(*jid));
            }
            list
        };
        let payload = Element::new("prefs", MAM)
            .with_attr("default", "roster")
            .with_child(list("always", &["a@x.test", "a@x.test"]))
            .with_child(list("never", &["b@x.test"]));
        let p = prefs(&payload).unwrap();
        assert_eq!(p.default, ArchivePolicy::Roster);
        assert_eq!(p.always, vec![BareJid::new("a@x.test").unwrap()]);
        assert_eq!(p.never, vec![BareJid::new("b@x.test").unwrap()]);
        for bad in [
            Element::new("prefs", MAM),
            Element::new("prefs", MAM).with_attr("default", "sometimes"),
            Element::new("prefs", MAM)
                .with_attr("default", "always")
                .with_child(list("never", &["b@x.test/res"])),
        ] {
            assert_eq!(prefs(&bad).unwrap_err().condition, "bad-request");
        }
    }
}
