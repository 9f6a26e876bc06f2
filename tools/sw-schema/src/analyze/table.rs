//! Tables, columns and `ALTER TABLE` actions: what a column definition
//! says (type, default, NOT NULL, references, checks, generated or
//! identity) and what each action of an `ALTER TABLE` does, with type names
//! normalised so that `character varying(20)` and `varchar(20)` compare equal.

use super::{Cur, Stmt, split_top, t_at};
use crate::sql::Tok;

/// A column as a statement defines it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    /// Normalised type name (`integer`, `varchar(100)`, `timestamptz`).
    pub ty: String,
    /// The DEFAULT expression's tokens, if any.
    pub default: Option<Vec<Tok>>,
    pub not_null: bool,
    pub references: Option<String>,
    pub check: bool,
    /// `GENERATED ALWAYS AS (...) STORED`.
    pub generated_stored: bool,
    /// `GENERATED ... AS IDENTITY`, or a serial type.
    pub identity: bool,
}

/// One action of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    AddColumn(ColumnDef),
    AddForeignKey {
        references: String,
        not_valid: bool,
    },
    AddCheck {
        not_valid: bool,
    },
    AddUnique {
        using_index: bool,
    },
    ValidateConstraint,
    DropColumn(String),
    AlterType {
        column: String,
        ty: String,
        using: bool,
    },
    SetNotNull(String),
    RenameColumn {
        from: String,
        to: String,
    },
    RenameTable(String),
    /// SET STATISTICS, SET (storage parameters), CLUSTER ON, ATTACH PARTITION...
    ShareUpdateExclusive,
    /// ENABLE/DISABLE TRIGGER.
    ShareRowExclusive,
    /// Anything else: ACCESS EXCLUSIVE.
    Other,
}

pub(super) fn referenced(el: &[Tok]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, t) in el.iter().enumerate() {
        if t.is("REFERENCES") {
            let mut c = Cur { t: el, i: k + 1 };
            out.extend(c.name());
        }
    }
    out
}

const COLUMN_CONSTRAINTS: &[&str] = &[
    "CONSTRAINT",
    "NOT",
    "NULL",
    "DEFAULT",
    "PRIMARY",
    "UNIQUE",
    "CHECK",
    "REFERENCES",
    "GENERATED",
    "COLLATE",
];

/// A column definition: `name type [constraints...]`.
pub fn column_def(el: &[Tok]) -> Option<ColumnDef> {
    let name = el.first()?.ident()?;
    let mut k = 1;
    let mut depth = 0usize;
    while let Some(t) = el.get(k) {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth = depth.saturating_sub(1),
            _ if depth == 0 && COLUMN_CONSTRAINTS.iter().any(|c| t.is(c)) => break,
            _ => {}
        }
        k += 1;
    }
    let ty = norm_type(&el[1..k]);
    let rest = &el[k..];
    let mut col = ColumnDef {
        name,
        identity: ty.ends_with("serial"),
        ty,
        references: referenced(rest).into_iter().next(),
        ..ColumnDef::default()
    };
    for (j, t) in rest.iter().enumerate() {
        if t.is("NOT") && rest.get(j + 1).is_some_and(|n| n.is("NULL")) {
            col.not_null = true;
        } else if t.is("CHECK") {
            col.check = true;
        } else if t.is("DEFAULT") {
            let end = rest[j + 1..]
                .iter()
                .position(|x| COLUMN_CONSTRAINTS.iter().any(|c| x.is(c)) && !x.is("NULL"))
                .map_or(rest.len(), |p| j + 1 + p);
            col.default = Some(rest[j + 1..end].to_vec());
        } else if t.is("GENERATED") {
            col.identity |= rest[j..].iter().any(|x| x.is("IDENTITY"));
            col.generated_stored |= rest[j..].iter().any(|x| x.is("STORED"));
        }
    }
    Some(col)
}

/// A type as written, normalised so that equal types compare equal.
pub fn norm_type(t: &[Tok]) -> String {
    let mut s = String::new();
    for tok in t {
        let piece = match tok {
            Tok::Word(w) => w.to_lowercase(),
            other => other.to_string(),
        };
        let glue = matches!(tok, Tok::Punct('(' | ')' | ',' | '[' | ']')) || s.ends_with('(') || s.ends_with(',');
        if !s.is_empty() && !glue {
            s.push(' ');
        }
        s.push_str(&piece);
    }
    let (head, args) = s.find('(').map_or((s.as_str(), ""), |p| s.split_at(p));
    let head = match head.trim() {
        "int" | "int4" | "integer" => "integer",
        "int8" | "bigint" => "bigint",
        "int2" | "smallint" => "smallint",
        "serial4" | "serial" => "serial",
        "serial8" | "bigserial" => "bigserial",
        "bool" | "boolean" => "boolean",
        "float8" | "double precision" => "double precision",
        "float4" | "real" => "real",
        "decimal" | "numeric" => "numeric",
        "character varying" | "varchar" => "varchar",
        "character" | "char" | "bpchar" => "char",
        "timestamptz" | "timestamp with time zone" => "timestamptz",
        "timestamp" | "timestamp without time zone" => "timestamp",
        "timetz" | "time with time zone" => "timetz",
        "time" | "time without time zone" => "time",
        other => return format!("{other}{args}"),
    };
    // `timestamp(3) with time zone`: the precision sits before the zone words.
    if let Some(zone) = args.find(')').map(|p| args[p + 1..].trim()).filter(|z| !z.is_empty()) {
        let p = &args[..=args.find(')').unwrap_or(0)];
        return match (head, zone) {
            ("timestamp", "with time zone") => format!("timestamptz{p}"),
            ("timestamp", "without time zone") => format!("timestamp{p}"),
            _ => format!("{head}{args}"),
        };
    }
    format!("{head}{args}")
}

pub(super) fn alter(c: &mut Cur<'_>) -> Stmt {
    if c.eat("INDEX") {
        c.eat_all(&["IF", "EXISTS"]);
        let Some(name) = c.name() else { return Stmt::Unknown };
        return Stmt::AlterIndex {
            name,
            rename: c.at("RENAME"),
        };
    }
    if !c.eat("TABLE") {
        return Stmt::Other;
    }
    c.eat_all(&["IF", "EXISTS"]);
    c.eat("ONLY");
    let Some(table) = c.name() else { return Stmt::Unknown };
    c.punct('*');
    let actions = split_top(c.rest()).into_iter().map(action).collect();
    Stmt::AlterTable { table, actions }
}

fn action(t: &[Tok]) -> Action {
    let mut c = Cur { t, i: 0 };
    if c.eat("ADD") {
        if c.eat("CONSTRAINT") {
            c.name();
        }
        let not_valid = t.windows(2).any(|w| w[0].is("NOT") && w[1].is("VALID"));
        if c.at("FOREIGN") {
            let references = referenced(t).into_iter().next().unwrap_or_default();
            return Action::AddForeignKey { references, not_valid };
        }
        if c.at("CHECK") {
            return Action::AddCheck { not_valid };
        }
        if c.at("UNIQUE") || c.at("PRIMARY") {
            let using_index = t.windows(2).any(|w| w[0].is("USING") && w[1].is("INDEX"));
            return Action::AddUnique { using_index };
        }
        if c.at("EXCLUDE") {
            return Action::Other;
        }
        c.eat("COLUMN");
        c.eat_all(&["IF", "NOT", "EXISTS"]);
        return column_def(c.rest()).map_or(Action::Other, Action::AddColumn);
    }
    if c.eat_all(&["VALIDATE", "CONSTRAINT"]) {
        return Action::ValidateConstraint;
    }
    if c.eat("DROP") {
        if c.at("CONSTRAINT") {
            return Action::Other;
        }
        c.eat("COLUMN");
        c.eat_all(&["IF", "EXISTS"]);
        return c.name().map_or(Action::Other, Action::DropColumn);
    }
    if c.eat("RENAME") {
        if c.eat("TO") {
            return c.name().map_or(Action::Other, Action::RenameTable);
        }
        if c.at("CONSTRAINT") {
            return Action::Other;
        }
        c.eat("COLUMN");
        let from = c.name().unwrap_or_default();
        c.eat("TO");
        let to = c.name().unwrap_or_default();
        return Action::RenameColumn { from, to };
    }
    if c.eat("ALTER") {
        c.eat("COLUMN");
        let column = c.name().unwrap_or_default();
        if c.eat_all(&["SET", "DATA", "TYPE"]) || c.eat("TYPE") {
            let rest = c.rest();
            let end = rest
                .iter()
                .position(|x| x.is("USING") || x.is("COLLATE"))
                .unwrap_or(rest.len());
            let using = rest.iter().any(|x| x.is("USING"));
            return Action::AlterType {
                column,
                ty: norm_type(&rest[..end]),
                using,
            };
        }
        if c.eat_all(&["SET", "NOT", "NULL"]) {
            return Action::SetNotNull(column);
        }
        if c.eat_all(&["SET", "STATISTICS"]) || (c.at("SET") && t_at(&c, 1) == Some(&Tok::Punct('('))) || c.at("RESET")
        {
            return Action::ShareUpdateExclusive;
        }
        return Action::Other;
    }
    if (c.at("SET") || c.at("RESET")) && t_at(&c, 1) == Some(&Tok::Punct('(')) {
        return Action::ShareUpdateExclusive;
    }
    if c.eat_all(&["CLUSTER", "ON"]) || c.eat_all(&["SET", "WITHOUT", "CLUSTER"]) || c.eat_all(&["ATTACH", "PARTITION"])
    {
        return Action::ShareUpdateExclusive;
    }
    if (c.eat("ENABLE") || c.eat("DISABLE")) && c.at("TRIGGER") {
        return Action::ShareRowExclusive;
    }
    if c.eat_all(&["DETACH", "PARTITION"]) && c.rest().iter().any(|x| x.is("CONCURRENTLY")) {
        return Action::ShareUpdateExclusive;
    }
    Action::Other
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::analyze;

    fn an(sql: &str) -> Stmt {
        analyze(&crate::sql::split(sql).unwrap()[0].tokens)
    }

    #[test]
    fn create_table_columns_and_references() {
        let s = an(
            "CREATE TABLE IF NOT EXISTS app.sessions (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
                    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE, bytes_in bigint NOT NULL DEFAULT 0, \
                    at timestamp(3) with time zone, CONSTRAINT fk FOREIGN KEY (x) REFERENCES public.vpn_servers)",
        );
        let Stmt::CreateTable {
            name,
            columns,
            references,
        } = s
        else {
            panic!("{s:?}")
        };
        assert_eq!(name, "app.sessions");
        assert_eq!(references, ["users", "public.vpn_servers"]);
        assert_eq!(columns.len(), 4);
        assert!(columns[0].identity);
        assert_eq!(columns[1].ty, "uuid");
        assert!(columns[1].not_null);
        assert_eq!(columns[2].default, Some(vec![Tok::Num("0".into())]));
        assert_eq!(columns[3].ty, "timestamptz(3)");
    }

    #[test]
    fn alter_table_actions() {
        let s = an(
            "ALTER TABLE ONLY users ADD COLUMN n int NOT NULL DEFAULT random(), ALTER COLUMN email TYPE varchar(300) USING email::varchar, \
                    ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES b (id) NOT VALID, VALIDATE CONSTRAINT f, ALTER email SET NOT NULL, \
                    RENAME COLUMN a TO b, DROP COLUMN IF EXISTS c, SET (fillfactor = 70)",
        );
        let Stmt::AlterTable { table, actions } = s else {
            panic!("{s:?}")
        };
        assert_eq!(table, "users");
        let Action::AddColumn(col) = &actions[0] else {
            panic!("{actions:?}")
        };
        assert!(col.not_null);
        assert!(col.default.as_ref().unwrap()[0].is("random"));
        assert_eq!(
            actions[1],
            Action::AlterType {
                column: "email".into(),
                ty: "varchar(300)".into(),
                using: true
            }
        );
        assert_eq!(
            actions[2],
            Action::AddForeignKey {
                references: "b".into(),
                not_valid: true
            }
        );
        assert_eq!(actions[3], Action::ValidateConstraint);
        assert_eq!(actions[4], Action::SetNotNull("email".into()));
        assert_eq!(
            actions[5],
            Action::RenameColumn {
                from: "a".into(),
                to: "b".into()
            }
        );
        assert_eq!(actions[6], Action::DropColumn("c".into()));
        assert_eq!(actions[7], Action::ShareUpdateExclusive);
    }

    #[test]
    fn type_names_normalise() {
        let ty = |s: &str| norm_type(&crate::sql::split(s).unwrap()[0].tokens);
        assert_eq!(ty("character varying(20)"), "varchar(20)");
        assert_eq!(ty("INT"), "integer");
        assert_eq!(ty("timestamp with time zone"), "timestamptz");
        assert_eq!(ty("numeric(10, 2)"), "numeric(10,2)");
        assert_eq!(ty("text[]"), "text[]");
    }
}
