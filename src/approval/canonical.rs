//! The exact bytes an approval signs: its payload as canonical JSON, so a
//! signature made on one machine verifies on any other, whatever order or
//! spacing the file on disk has. Objects have their keys sorted, there is
//! no whitespace, strings are escaped as serde_json escapes them, and
//! numbers are integers (the payload has no fractions) — the subset of
//! RFC 8785 (JCS) that orch's payloads use.

use serde_json::Value;

/// `value` as canonical JSON bytes.
pub fn to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Value::String(k.clone()), out);
                out.push(b':');
                write(&map[k], out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(v, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Value, out: &mut Vec<u8>) {
    // Serialising a scalar into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_and_spacing_do_not_matter() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, "x"], "x": null}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#).unwrap();
        assert_eq!(to_vec(&a), to_vec(&b));
        assert_eq!(
            String::from_utf8(to_vec(&a)).unwrap(),
            r#"{"a":{"x":null,"y":[1,"x"]},"b":1}"#
        );
    }

    #[test]
    fn strings_are_escaped_once_and_unicode_kept() {
        let v = json!({"k": "quote \" and\nnewline, café"});
        assert_eq!(
            String::from_utf8(to_vec(&v)).unwrap(),
            "{\"k\":\"quote \\\" and\\nnewline, café\"}"
        );
    }
}
