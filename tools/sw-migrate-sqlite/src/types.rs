//! Declared SQLite type names to PostgreSQL types, with the reason for
//! each choice.

/// The PostgreSQL type chosen for a declared SQLite type, or `None` when it
/// must be chosen from the stored values.
pub fn map_declared(decl: &str) -> Option<(String, String)> {
    let raw = decl.trim();
    let upper = raw.to_uppercase();
    let (base, args) = match upper.find('(') {
        Some(p) => (upper[..p].trim().to_owned(), parse_args(&upper[p..])),
        None => (upper.clone(), Vec::new()),
    };
    let words: Vec<&str> = base
        .split_whitespace()
        .filter(|w| !matches!(*w, "UNSIGNED" | "SIGNED" | "NATIVE" | "VARYING" | "SHORT"))
        .collect();
    let name = words.join(" ");
    let why = |s: &str| s.to_owned();
    let t = |ty: &str, r: &str| Some((ty.to_owned(), why(r)));
    if name.is_empty() || name == "ANY" || is_geometry(&name) {
        return None;
    }
    match name.as_str() {
        "TINYINT" | "SMALLINT" | "INT2" => {
            return t("smallint", "small integer type; values outside smallint are rejected");
        }
        "BOOLEAN" | "BOOL" => return t("boolean", "BOOLEAN: 0/1 and 't'/'f'/'true'/'false' become false/true"),
        "REAL" | "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "FLOAT8" | "FLOAT4" => {
            return t(
                "double precision",
                "SQLite REAL is an 8-byte IEEE double: double precision keeps every bit",
            );
        }
        "DATE" => {
            return t(
                "date",
                "DATE: ISO text, Unix epoch integers and Julian-day reals are read as dates",
            );
        }
        "DATETIME" | "DATETIME2" | "TIMESTAMP" | "SMALLDATETIME" => {
            return t(
                "timestamp without time zone",
                "DATETIME: ISO text, Unix epoch integers and Julian-day reals, in UTC (SQLite keeps no zone)",
            );
        }
        "TIMESTAMPTZ" | "TIMESTAMP WITH TIME ZONE" => {
            return t(
                "timestamp with time zone",
                "timestamp with zone; values without an offset are UTC",
            );
        }
        "JSON" | "JSONB" => {
            return t(
                "jsonb",
                "JSON: validated and stored as jsonb; an object with a duplicate key is rejected (jsonb keeps one)",
            );
        }
        "UUID" | "GUID" | "UNIQUEIDENTIFIER" => return t("uuid", "UUID: text or 16-byte values"),
        "BLOB" | "BYTEA" | "BINARY" | "VARBINARY" | "BYTE[]" | "IMAGE" | "LONGBLOB" | "MEDIUMBLOB" => {
            return t("bytea", "binary data");
        }
        "NUMERIC" | "DECIMAL" | "NUMBER" | "MONEY" => return Some(numeric(&name, &args)),
        "VARCHAR" | "NVARCHAR" | "VARCHAR2" | "NVARCHAR2" | "CHARACTER" | "CHAR" | "NCHAR" | "CHARACTER VARYING"
        | "NATIONAL CHARACTER" | "NATIONAL CHAR" => return Some(varchar(&name, &args)),
        "TEXT" | "CLOB" | "STRING" | "MEDIUMTEXT" | "LONGTEXT" | "TINYTEXT" | "NTEXT" => {
            return t("text", "text");
        }
        _ => {}
    }
    affinity(&name)
}

/// An OGC geometry type name, as SpatiaLite and GeoPackage declare their
/// geometry columns (`POINT`, `MULTIPOLYGON`, `GEOMETRY`, with a Z/M/ZM
/// suffix): their blobs are kept by the data, not by SQLite's affinity
/// rules (`POINT` has INTEGER affinity, which blobs ignore).
fn is_geometry(name: &str) -> bool {
    let base = ["ZM", "Z", "M"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .map_or(name, str::trim_end);
    matches!(
        base,
        "GEOMETRY"
            | "POINT"
            | "LINESTRING"
            | "POLYGON"
            | "MULTIPOINT"
            | "MULTILINESTRING"
            | "MULTIPOLYGON"
            | "GEOMETRYCOLLECTION"
    )
}

fn numeric(name: &str, args: &[u32]) -> (String, String) {
    if let [p, s] = args[..]
        && (1..=1000).contains(&p)
        && s <= p
    {
        return (
            format!("numeric({p},{s})"),
            format!("{name}({p},{s}): exact decimal; values needing rounding are rejected"),
        );
    }
    if let [p] = args[..]
        && (1..=1000).contains(&p)
    {
        return (format!("numeric({p},0)"), format!("{name}({p}): exact decimal"));
    }
    ("numeric".into(), "exact decimal without a declared precision".into())
}

fn varchar(name: &str, args: &[u32]) -> (String, String) {
    if let [n] = args[..]
        && (1..=10_485_760).contains(&n)
    {
        return (
            format!("character varying({n})"),
            format!("{name}({n}): varchar keeps values unpadded; longer values are rejected"),
        );
    }
    ("text".into(), "character type without a length".into())
}

/// SQLite's affinity rules for every other name.
fn affinity(name: &str) -> Option<(String, String)> {
    if name.contains("INT") {
        return Some((
            "bigint".into(),
            format!("{name}: INTEGER affinity holds 64-bit integers"),
        ));
    }
    if name.contains("CHAR") || name.contains("CLOB") || name.contains("TEXT") {
        return Some(("text".into(), format!("{name}: TEXT affinity")));
    }
    if name.contains("BLOB") {
        return Some(("bytea".into(), format!("{name}: BLOB affinity")));
    }
    if name.contains("REAL") || name.contains("FLOA") || name.contains("DOUB") {
        return Some((
            "double precision".into(),
            format!("{name}: REAL affinity (8-byte double)"),
        ));
    }
    None
}

fn parse_args(s: &str) -> Vec<u32> {
    s.trim_start_matches('(')
        .split(')')
        .next()
        .unwrap_or("")
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// Storage classes seen in a column without a usable declared type.
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    pub integer: u64,
    pub real: u64,
    pub text: u64,
    pub blob: u64,
    /// Every integer lies within ±2^53 (exact as a double).
    pub ints_fit_double: bool,
}

/// Choose a type from the values.
pub fn from_data(decl: &str, s: Seen) -> (String, String) {
    let what = if decl.trim().is_empty() {
        "no declared type".to_owned()
    } else if is_geometry(&decl.trim().to_uppercase()) {
        format!("{decl} is a geometry type (SpatiaLite, GeoPackage)")
    } else {
        format!("type name {decl} is not known")
    };
    let (ty, why) = match (s.integer > 0, s.real > 0, s.text > 0, s.blob > 0) {
        (false, false, false, false) => ("text", "no values: text"),
        (true, false, false, false) => ("bigint", "all values are integers"),
        (_, true, false, false) if s.integer == 0 || s.ints_fit_double => {
            ("double precision", "reals (and integers exact as doubles)")
        }
        (_, true, false, false) => ("numeric", "reals and integers beyond 2^53: numeric keeps both exactly"),
        (false, false, false, true) => ("bytea", "all values are blobs"),
        (_, _, true, false) => ("text", "text values (numbers written in decimal)"),
        _ => (
            "bytea",
            "blob values mixed with others: the others are stored as the bytes SQLite's CAST(x AS BLOB) gives (their text)",
        ),
    };
    (ty.to_owned(), format!("{what}; chosen from the data: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_real_names() {
        assert_eq!(map_declared("INT8").unwrap().0, "bigint");
        assert_eq!(map_declared("UNSIGNED BIG INT").unwrap().0, "bigint");
        assert_eq!(map_declared("VARCHAR2(20)").unwrap().0, "character varying(20)");
        assert_eq!(map_declared("NUMERIC(10,2)").unwrap().0, "numeric(10,2)");
        assert_eq!(map_declared("real").unwrap().0, "double precision");
        assert_eq!(map_declared("DATETIME2").unwrap().0, "timestamp without time zone");
        assert_eq!(map_declared("byte[]").unwrap().0, "bytea");
        assert_eq!(map_declared("MEDIUMTEXT").unwrap().0, "text");
        assert!(map_declared("").is_none());
        assert!(map_declared("ANY").is_none());
        // Geometry columns hold blobs, whatever the name's affinity.
        assert!(map_declared("POINT").is_none());
        assert!(map_declared("MultiPolygon Z").is_none());
        assert!(map_declared("POINTM").is_none());
        assert_eq!(map_declared("PINT").unwrap().0, "bigint");
    }
}
