//! What differs between the resource sw-alerts wants and the one Azure
//! has: every property of the wanted body, compared with the same property
//! of the GET answer. Properties Azure adds (ids, statuses, defaults) are
//! not differences; strings compare case-insensitively (ARM ids,
//! `PT5M`/`Pt5m`, `Global`/`global`); arrays compare element by element.

use serde_json::Value;

/// One property that differs: its path (`properties.threshold`), what is
/// wanted and what Azure has (null when it has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub property: String,
    pub want: Value,
    pub have: Value,
}

/// The differences of `have` from `want` (none: nothing to send).
pub fn diff(want: &Value, have: &Value) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(want, have, "", &mut out);
    out
}

fn walk(want: &Value, have: &Value, path: &str, out: &mut Vec<Difference>) {
    let at = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                let hv = h
                    .get(k)
                    .or_else(|| h.iter().find(|(hk, _)| hk.eq_ignore_ascii_case(k)).map(|(_, v)| v))
                    .unwrap_or(&Value::Null);
                walk(wv, hv, &at(k), out);
            }
        }
        (Value::Array(w), Value::Array(h)) if w.len() == h.len() => {
            for (i, (wv, hv)) in w.iter().zip(h).enumerate() {
                walk(wv, hv, &format!("{path}[{i}]"), out);
            }
        }
        (Value::String(w), Value::String(h)) if w.eq_ignore_ascii_case(h) => {}
        (Value::Number(w), Value::Number(h)) if w.as_f64() == h.as_f64() => {}
        (w, h) if w == h => {}
        // An empty object or array wanted, nothing there: the same.
        (Value::Object(w), Value::Null) if w.is_empty() => {}
        (Value::Array(w), Value::Null) if w.is_empty() => {}
        (w, h) => out.push(Difference {
            property: path.to_owned(),
            want: w.clone(),
            have: h.clone(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_wanted_properties_count_and_case_does_not() {
        let want = json!({"location": "global", "properties": {"windowSize": "PT5M", "threshold": 80,
            "actions": [{"actionGroupId": "/subscriptions/S/resourceGroups/G/x"}], "tags": {}}});
        let have = json!({"id": "x", "location": "Global", "properties": {"windowSize": "Pt5m", "threshold": 80.0,
            "actions": [{"actionGroupId": "/subscriptions/s/resourcegroups/g/x", "webhookProperties": {}}]}});
        assert_eq!(diff(&want, &have), Vec::new());
        let mut changed = have.clone();
        changed["properties"]["threshold"] = json!(90);
        let d = diff(&want, &changed);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].property.as_str(), &d[0].want, &d[0].have),
            ("properties.threshold", &json!(80), &json!(90))
        );
        let d = diff(&json!({"a": [1, 2]}), &json!({"a": [1]}));
        assert_eq!((d[0].property.as_str(), &d[0].have), ("a", &json!([1])));
        assert_eq!(diff(&json!({"a": 1}), &Value::Null)[0].property, "");
    }
}
