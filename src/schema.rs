//! JSON Schemas for the files orch reads and writes (`orch schema`), derived
//! from the same Rust types serde uses to read them, so a schema cannot
//! drift from the code. This module only adds what serde's types leave
//! open: the shape of each validation type, and room for plugin types.

use std::collections::BTreeMap;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::{Value, json};

use crate::contract::{
    ArtifactSpec, BUILTIN_TYPES, ContainsTextSpec, ContentCheckSpec, FrontmatterSpec, HeadingsSpec,
    MetricSpec, MinFileCountSpec, MinSourcesAnyOfSpec, MinSourcesSpec, NotContainsSpec,
    RawContract, RegexCountSpec, RegexSpec, Severity, TargetSpec, UrlSpec,
};
use crate::record::{AttemptFile, RunRecord};
use crate::workflow::RawWorkflow;

/// The file kinds `orch schema` knows.
pub const KINDS: [&str; 4] = ["contract", "workflow", "run", "attempt"];

/// A validation: `type`, the fields of that type, and the common fields.
#[derive(JsonSchema)]
pub(crate) struct ValidationSchema {
    /// `error` (default) fails the gate; `warning` is reported only.
    #[serde(default)]
    #[allow(dead_code)]
    severity: Option<Severity>,
    /// What the check is for, in words; shown in reports and packets.
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(flatten)]
    #[allow(dead_code)]
    check: CheckSchema,
}

/// The built-in validation types (FORMATS.md, "Validation types").
#[derive(JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[allow(dead_code)]
enum CheckSchema {
    /// The target exists (a path, `any_of` or `all_required`).
    FileExists(TargetSpec),
    /// The target is a folder.
    DirExists(TargetSpec),
    /// The folder holds at least the threshold's number of matching files.
    MinFileCount(MinFileCountSpec),
    /// The file lists at least the threshold's number of sources.
    MinSources(MinSourcesSpec),
    /// The best of the files lists at least the threshold's number of sources.
    MinSourcesAnyOf(MinSourcesAnyOfSpec),
    /// Every required heading appears in the file.
    ContainsHeadings(HeadingsSpec),
    /// Every pattern appears in the file.
    ContainsText(ContainsTextSpec),
    /// The pattern does not appear in the file.
    NotContains(NotContainsSpec),
    /// The regex matches the file (or, with must_not_match, does not).
    RegexMatch(RegexSpec),
    /// The regex matches the file at least min_count times.
    MinRegexCount(RegexCountSpec),
    /// The file's frontmatter passes every check.
    FrontmatterStatus(FrontmatterSpec),
    /// The file's URLs answer HTTP requests.
    UrlReachable(UrlSpec),
    MetricThreshold(MetricSpec),
    ArtifactExists(ArtifactSpec),
    ContentCheck(ContentCheckSpec),
}

/// A string, or a list of strings.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A value the frontmatter field must equal, or `{"not": value}`, or `{"min": number}`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum FrontmatterCheckSchema {
    Equals(Scalar),
    Not {
        /// The field must not equal this value.
        not: Scalar,
    },
    Min {
        /// The field must be a number at least this.
        min: f64,
    },
}

/// A string, a number or a boolean.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum Scalar {
    Text(String),
    Number(f64),
    Flag(bool),
}

fn generate<T: JsonSchema>(title: &str) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let schema: Schema = generator.root_schema_for::<T>();
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert("title".into(), json!(title));
    }
    value
}

/// The schema for one file kind, as pretty JSON with a trailing newline.
pub fn render(kind: &str) -> Option<String> {
    let value = match kind {
        "contract" => allow_plugin_types(generate::<RawContract>("orch gate contract")),
        "workflow" => generate::<RawWorkflow>("orch workflow"),
        "run" => accept_aliases(generate::<RunRecord>("orch run record (RUN.json)")),
        "attempt" => {
            generate::<AttemptFile>("orch gate attempt (record/gates/<gate>/attempt-<n>.json)")
        }
        "notify" => generate::<crate::notify::Config>(
            "orch notification targets (orchestration/notify.json)",
        ),
        _ => return None,
    };
    Some(crate::json::to_pretty_string(&value))
}

/// A validation may also have a type provided by a validator plugin: any
/// other `type` is accepted, so a known type with wrong fields still fails.
fn allow_plugin_types(mut schema: Value) -> Value {
    let known = BUILTIN_TYPES;
    if let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut)
        && let Some(mut builtin) = defs.remove("ValidationSchema")
    {
        // Hovering over `"type": "min_sources"` says what the check does.
        for branch in builtin["oneOf"].as_array_mut().into_iter().flatten() {
            if let Some(about) = branch.get("description").cloned() {
                branch["properties"]["type"]["description"] = about;
            }
        }
        defs.insert("BuiltinValidation".into(), builtin);
        defs.insert(
            "ValidationSchema".into(),
            json!({
                "description": "A validation: a built-in type, or a type provided by an executable orchestration/validators/<type>.",
                "anyOf": [
                    { "$ref": "#/$defs/BuiltinValidation" },
                    {
                        "type": "object",
                        "required": ["type"],
                        "properties": { "type": {
                            "type": "string",
                            "not": { "enum": known },
                            "description": "A type provided by the executable orchestration/validators/<type> (see README, \"Validator plugins\")."
                        } }
                    }
                ]
            }),
        );
    }
    schema
}

/// serde accepts the Node runner's `invocation_id` for `id`; schemars does
/// not model aliases, so the schema says it here.
fn accept_aliases(mut schema: Value) -> Value {
    if let Some(inv) = schema
        .pointer_mut("/$defs/Invocation")
        .and_then(Value::as_object_mut)
    {
        if let Some(required) = inv.get_mut("required").and_then(Value::as_array_mut) {
            required.retain(|r| r != "id");
        }
        if let Some(props) = inv.get_mut("properties").and_then(Value::as_object_mut) {
            props.insert(
                "invocation_id".into(),
                json!({ "type": "string", "description": "The Node runner's name for `id`." }),
            );
        }
        inv.insert(
            "anyOf".into(),
            json!([{ "required": ["id"] }, { "required": ["invocation_id"] }]),
        );
    }
    schema
}

/// The property names a built-in validation type accepts, from its schema
/// (for `lint`'s unknown-key warnings).
pub fn validation_fields() -> BTreeMap<String, Vec<String>> {
    let schema = generate::<ValidationSchema>("validation");
    let mut out = BTreeMap::new();
    let common: Vec<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for variant in schema["oneOf"].as_array().into_iter().flatten() {
        let Some(kind) = variant["properties"]["type"]["const"].as_str() else {
            continue;
        };
        let mut fields: Vec<String> = common.clone();
        for part in [variant, resolve(&schema, variant)] {
            fields.extend(
                part["properties"]
                    .as_object()
                    .into_iter()
                    .flat_map(|p| p.keys().cloned()),
            );
        }
        fields.sort();
        fields.dedup();
        out.insert(kind.to_string(), fields);
    }
    out
}

fn resolve<'a>(root: &'a Value, v: &'a Value) -> &'a Value {
    match v
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => &root["$defs"][name],
        None => v,
    }
}

/// The top-level property names of a file kind (for unknown-key warnings).
pub fn top_level_fields(kind: &str) -> Vec<String> {
    let schema = match kind {
        "contract" => generate::<RawContract>(""),
        "workflow" => generate::<RawWorkflow>(""),
        _ => return Vec::new(),
    };
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_type_has_a_schema_with_its_fields() {
        let fields = validation_fields();
        for kind in BUILTIN_TYPES {
            let got = fields
                .get(kind)
                .unwrap_or_else(|| panic!("no schema for {kind}: {fields:?}"));
            for f in ["type", "severity", "description"] {
                assert!(
                    got.iter().any(|g| g == f),
                    "{kind}: schema lacks {f}: {got:?}"
                );
            }
        }
        assert_eq!(
            fields["url_reachable"],
            [
                "description",
                "max_failures",
                "sample_size",
                "severity",
                "target",
                "type",
                "url_pattern"
            ]
        );
        assert_eq!(fields.len(), BUILTIN_TYPES.len());
    }

    #[test]
    fn every_kind_renders() {
        for kind in KINDS {
            let text = render(kind).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                v["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{kind}"
            );
        }
        assert!(render("nope").is_none());
    }
}
