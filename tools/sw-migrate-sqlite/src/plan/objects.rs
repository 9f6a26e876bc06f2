//! Indexes and views translated: the column list or expressions and the
//! WHERE clause of CREATE INDEX, and the body of CREATE VIEW, through the
//! expression translator with the table's (or every table's) names.

use sw_core::pg::quote_ident;

use crate::sql::{self, NameMap, Tok};

/// A translated CREATE INDEX.
pub(super) struct IndexSql {
    pub unique: bool,
    /// Has a WHERE clause.
    pub partial: bool,
    /// Indexes an expression.
    pub expression: bool,
    /// `(columns) [WHERE ...]`.
    pub body: String,
}

/// Translate CREATE INDEX.
pub(super) fn index(sqltext: &str, map: &NameMap) -> Result<IndexSql, String> {
    let toks = sql::tokenize(sqltext)?;
    let unique = toks.iter().take(3).any(|t| t.is_kw("unique"));
    let open = toks.iter().position(|t| *t == Tok::LParen).ok_or("no column list")?;
    let (cols, after) = sql::group(&toks, open).ok_or("unbalanced parentheses")?;
    let mut parts = Vec::new();
    let mut expression = false;
    for item in sql::split_commas(cols) {
        let mut item = item;
        let mut dir = "";
        if let Some(last) = item.last() {
            if last.is_kw("desc") {
                dir = " DESC";
                item.pop();
            } else if last.is_kw("asc") {
                item.pop();
            }
        }
        let is_plain = matches!(item.as_slice(), [Tok::Ident { .. }])
            || matches!(item.as_slice(), [Tok::Ident { .. }, c, _] if c.is_kw("collate"));
        let body = sql::translate(&item, map)?;
        if is_plain {
            parts.push(format!("{body}{dir}"));
        } else {
            expression = true;
            parts.push(format!("({body}){dir}"));
        }
    }
    let rest = &toks[after..];
    let mut out = format!("({})", parts.join(", "));
    let mut partial = false;
    if let Some(w) = rest.first() {
        if !w.is_kw("where") {
            return Err("unexpected text after the column list".into());
        }
        let cond = sql::translate(&rest[1..], map)?;
        out.push_str(&format!(" WHERE {cond}"));
        partial = true;
    }
    Ok(IndexSql {
        unique,
        partial,
        expression,
        body: out,
    })
}

/// Translate CREATE VIEW to "[(columns)] AS body".
pub(super) fn view(sqltext: &str, map: &NameMap) -> Result<String, String> {
    let toks = sql::tokenize(sqltext)?;
    let mut i = 0;
    let mut cols = String::new();
    while i < toks.len() && !toks[i].is_kw("as") {
        if toks[i] == Tok::LParen {
            let (g, next) = sql::group(&toks, i).ok_or("unbalanced parentheses")?;
            let names: Vec<String> = sql::split_commas(g)
                .iter()
                .map(|c| match c.as_slice() {
                    [Tok::Ident { text, .. }] => Ok(quote_ident(&sql::shorten(text))),
                    _ => Err("unexpected view column list".to_owned()),
                })
                .collect::<Result<_, _>>()?;
            cols = format!("({}) ", names.join(", "));
            i = next;
            continue;
        }
        i += 1;
    }
    if i >= toks.len() {
        return Err("no AS in the view definition".into());
    }
    Ok(format!("{cols}AS {}", sql::translate(&toks[i + 1..], map)?))
}
