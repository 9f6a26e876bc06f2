//! A tiny XML reader for the two documents the Blob service sends us: List
//! Blobs results and `<Error>` bodies.
//!
//! Both are flat, namespace-free and small per element, so a full XML
//! crate would be dead weight: this reads elements and their text into a
//! tree, decoding the five predefined entities, numeric character
//! references and CDATA, and skipping the declaration, comments and
//! attributes (none of which we need).

use crate::error::{Error, Result};

/// One element: its name, text (concatenated) and children.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    /// Every child named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn bad(what: &str) -> Error {
    Error::unavailable(format!("the Blob service sent malformed XML ({what})"))
}

/// Parse a document into its root element.
pub(super) fn parse(doc: &str) -> Result<Element> {
    let mut stack: Vec<Element> = vec![Element::default()];
    let mut rest = doc.trim_start_matches('\u{feff}');
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            append_text(&mut stack, rest)?;
            break;
        };
        append_text(&mut stack, &rest[..lt])?;
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<![CDATA[") {
            let end = r.find("]]>").ok_or_else(|| bad("unterminated CDATA"))?;
            top(&mut stack)?.text.push_str(&r[..end]);
            rest = &r[end + 3..];
        } else if let Some(r) = rest.strip_prefix("<!--") {
            let end = r.find("-->").ok_or_else(|| bad("unterminated comment"))?;
            rest = &r[end + 3..];
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            let end = rest.find('>').ok_or_else(|| bad("unterminated declaration"))?;
            rest = &rest[end + 1..];
        } else if let Some(r) = rest.strip_prefix("</") {
            let end = r.find('>').ok_or_else(|| bad("unterminated end tag"))?;
            let el = stack.pop().ok_or_else(|| bad("unbalanced end tag"))?;
            if el.name != r[..end].trim() || stack.is_empty() {
                return Err(bad("mismatched end tag"));
            }
            top(&mut stack)?.children.push(el);
            rest = &r[end + 1..];
        } else {
            let end = rest.find('>').ok_or_else(|| bad("unterminated tag"))?;
            let inner = &rest[1..end];
            let self_closing = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let name = inner.split(|c: char| c.is_whitespace()).next().unwrap_or("").to_owned();
            if name.is_empty() {
                return Err(bad("empty tag name"));
            }
            let el = Element {
                name,
                ..Element::default()
            };
            if self_closing {
                top(&mut stack)?.children.push(el);
            } else {
                stack.push(el);
            }
            rest = &rest[end + 1..];
        }
    }
    if stack.len() != 1 {
        return Err(bad("unclosed element"));
    }
    let mut doc = stack.pop().ok_or_else(|| bad("empty document"))?;
    if doc.children.len() != 1 {
        return Err(bad("not exactly one root element"));
    }
    Ok(doc.children.remove(0))
}

fn top(stack: &mut [Element]) -> Result<&mut Element> {
    stack.last_mut().ok_or_else(|| bad("no open element"))
}

fn append_text(stack: &mut [Element], raw: &str) -> Result<()> {
    if raw.is_empty() {
        return Ok(());
    }
    let depth = stack.len();
    let el = top(stack)?;
    if depth == 1 {
        // Whitespace between the declaration and the root.
        return if raw.trim().is_empty() {
            Ok(())
        } else {
            Err(bad("text outside the root"))
        };
    }
    el.text.push_str(&decode(raw)?);
    Ok(())
}

/// Decode entity and character references.
fn decode(raw: &str) -> Result<String> {
    if !raw.contains('&') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let r = &rest[amp + 1..];
        let semi = r.find(';').ok_or_else(|| bad("unterminated entity"))?;
        let ent = &r[..semi];
        let c = match ent {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    ent.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32).ok_or_else(|| bad("unknown entity"))?
            }
        };
        out.push(c);
        rest = &r[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_results_parse() {
        let doc = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<EnumerationResults ServiceEndpoint=\"x\" \
                   ContainerName=\"c\"><Prefix>a/</Prefix><Marker /><Blobs><Blob><Name>a/1&amp;2 &#x41;&#66;</Name>\
                   <Properties><Content-Length>12</Content-Length></Properties></Blob><BlobPrefix><Name>a/b/</Name>\
                   </BlobPrefix></Blobs><NextMarker><![CDATA[m<1>]]></NextMarker><!-- done --></EnumerationResults>";
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "EnumerationResults");
        let blobs = root.child("Blobs").unwrap();
        let b = blobs.children_named("Blob").next().unwrap();
        assert_eq!(b.child_text("Name"), Some("a/1&2 AB"));
        assert_eq!(b.child("Properties").unwrap().child_text("Content-Length"), Some("12"));
        assert_eq!(blobs.child("BlobPrefix").unwrap().child_text("Name"), Some("a/b/"));
        assert_eq!(root.child_text("Marker"), Some(""));
        assert_eq!(root.child_text("NextMarker"), Some("m<1>"));
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in ["<a><b></a>", "<a>", "text", "<a>&bogus;</a>", "<a></a><b></b>", ""] {
            assert!(parse(doc).is_err(), "{doc}");
        }
    }
}
