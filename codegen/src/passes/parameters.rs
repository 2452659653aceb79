//! Parameters: one list per operation that the generator can turn into
//! builder methods.
//!
//! - path-item parameters are moved into each operation and `$ref`s inlined;
//! - duplicates (same name and location) are merged;
//! - wildcard names (`Upstash-Forward-*`, any name with `*`) are taken out and
//!   recorded for the hand-written layer, which sends them as header families;
//! - a deprecated parameter whose Rust name collides with a current one is
//!   dropped (two current ones colliding is refused);
//! - path parameters are made required, and must match the path template;
//! - constructs the generator cannot send (cookies, non-scalar headers,
//!   non-form query styles) are refused.

use serde_json::{Value, json};

use crate::document::{OperationKey, operation_keys, operation_mut, resolve};
use crate::report::{Refusal, Report, child};

const PASS: &str = "parameters";

/// A wildcard header parameter taken out of generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WildcardHeader {
    /// The operation that declared it.
    pub operation: OperationKey,
    /// The name as declared (`Upstash-Forward-*`).
    pub name: String,
    /// The part before the `*` (`Upstash-Forward-`).
    pub prefix: String,
    /// The declared description, if any.
    pub description: Option<String>,
}

/// The Rust identifier progenitor derives from a parameter name.
pub fn rust_name(name: &str) -> String {
    crate::idents::snake(name)
}

/// A parameter and the pointer it was declared at.
type Declared = (Value, String);

/// Runs the pass; returns the wildcard headers it took out.
pub fn run(doc: &mut Value, report: &mut Report) -> Result<Vec<WildcardHeader>, Refusal> {
    let original = doc.clone();
    let mut wildcards = Vec::new();
    for key in operation_keys(&original) {
        let params = gather(&original, &key)?;
        let params = take_wildcards(params, &key, &mut wildcards, report)?;
        for (p, at) in &params {
            check_supported(&original, p, at)?;
        }
        let params = merge_duplicates(params, report)?;
        let mut params = resolve_name_collisions(params, report)?;
        check_path_parameters(&mut params, &key, report)?;
        write_back(doc, &original, &key, params, report)?;
    }
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            if let Some(item) = item.as_object_mut() {
                item.remove("parameters");
            }
        }
    }
    Ok(wildcards)
}

/// The path item's parameters, then the operation's own, `$ref`s resolved.
fn gather(original: &Value, key: &OperationKey) -> Result<Vec<Declared>, Refusal> {
    let item_at = child("", ["paths", &key.path]);
    let mut params = Vec::new();
    for list_at in [
        child(&item_at, ["parameters"]),
        child(&key.pointer(), ["parameters"]),
    ] {
        let Some(list) = original.pointer(&list_at) else {
            continue;
        };
        let list = list
            .as_array()
            .ok_or_else(|| Refusal::new(&list_at, "`parameters` is not a list"))?;
        for (i, p) in list.iter().enumerate() {
            let at = child(&list_at, [i.to_string()]);
            let (resolved, _) = resolve(original, p, &at)?;
            for field in ["name", "in"] {
                if !resolved.get(field).is_some_and(Value::is_string) {
                    return Err(Refusal::new(&at, format!("parameter without `{field}`")));
                }
            }
            params.push((resolved.clone(), at));
        }
    }
    Ok(params)
}

fn name_of(p: &Value) -> &str {
    p["name"].as_str().unwrap_or_default()
}

fn location_of(p: &Value) -> &str {
    p["in"].as_str().unwrap_or_default()
}

/// Wildcard names (`Upstash-Forward-*`) are header families the layer
/// sends: taken out and recorded.
fn take_wildcards(
    params: Vec<Declared>,
    key: &OperationKey,
    wildcards: &mut Vec<WildcardHeader>,
    report: &mut Report,
) -> Result<Vec<Declared>, Refusal> {
    let mut kept = Vec::new();
    for (p, at) in params {
        let name = name_of(&p).to_string();
        if !name.contains('*') {
            kept.push((p, at));
            continue;
        }
        let location = location_of(&p);
        if location != "header" {
            return Err(Refusal::new(
                &at,
                format!(
                    "wildcard parameter `{name}` in {location}: only header families are supported"
                ),
            ));
        }
        report.record(
            PASS,
            &at,
            format!("wildcard header `{name}` taken out for the hand-written layer"),
        );
        wildcards.push(WildcardHeader {
            operation: key.clone(),
            description: p
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            prefix: name.split('*').next().unwrap_or_default().to_string(),
            name,
        });
    }
    Ok(kept)
}

/// The same name and location declared twice: merged when the schemas
/// agree (required if either is), refused otherwise.
fn merge_duplicates(params: Vec<Declared>, report: &mut Report) -> Result<Vec<Declared>, Refusal> {
    let mut kept: Vec<Declared> = Vec::new();
    for (p, at) in params {
        let (name, location) = (name_of(&p), location_of(&p));
        let Some((existing, first_at)) = kept
            .iter_mut()
            .find(|(k, _)| name_of(k) == name && location_of(k) == location)
        else {
            kept.push((p, at));
            continue;
        };
        if existing.get("schema") != p.get("schema") {
            return Err(Refusal::new(
                &at,
                format!(
                    "{location} parameter `{name}` is declared twice with different schemas (first at {first_at})"
                ),
            ));
        }
        if p.get("required") == Some(&Value::Bool(true)) {
            existing["required"] = json!(true);
        }
        report.record(
            PASS,
            &at,
            format!("duplicate {location} parameter `{name}` merged into {first_at}"),
        );
    }
    Ok(kept)
}

/// Parameters whose Rust names meet: the rule of [`crate::idents`] (a
/// deprecated twin, or one spelled another way, gives way); refused when
/// the twins are different parameters.
fn resolve_name_collisions(
    mut kept: Vec<Declared>,
    report: &mut Report,
) -> Result<Vec<Declared>, Refusal> {
    let mut i = 0;
    while i < kept.len() {
        let name_i = rust_name(name_of(&kept[i].0));
        let clash = (0..kept.len()).find(|&j| j != i && rust_name(name_of(&kept[j].0)) == name_i);
        let Some(j) = clash else {
            i += 1;
            continue;
        };
        let deprecated = |v: &Value| v.get("deprecated") == Some(&Value::Bool(true));
        let (a, b) = (
            name_of(&kept[i].0).to_string(),
            name_of(&kept[j].0).to_string(),
        );
        let twins = [
            (a.as_str(), deprecated(&kept[i].0)),
            (b.as_str(), deprecated(&kept[j].0)),
        ];
        let one_name = crate::idents::same_spelling(&[&a, &b])
            && kept[i].0.get("schema") == kept[j].0.get("schema")
            && kept[i].0["in"] == kept[j].0["in"];
        let drop = if twins[0].1 != twins[1].1 || one_name {
            if crate::idents::canonical(&twins) == a {
                j
            } else {
                i
            }
        } else {
            return Err(Refusal::new(
                &kept[j].1,
                format!(
                    "parameters `{a}` and `{b}` both become the Rust name `{name_i}`, neither is deprecated, and they are not one name spelled two ways"
                ),
            ));
        };
        let other = if drop == i { b } else { a };
        let (dropped, at) = kept.remove(drop);
        let why = if deprecated(&dropped) {
            "deprecated parameter"
        } else {
            "parameter spelled another way:"
        };
        report.record(
            PASS,
            at,
            format!(
                "{why} `{}` dropped: its Rust name `{name_i}` is taken by `{other}`",
                name_of(&dropped)
            ),
        );
        i = 0;
    }
    Ok(kept)
}

/// Path parameters are required, and exactly the template's variables.
fn check_path_parameters(
    kept: &mut [Declared],
    key: &OperationKey,
    report: &mut Report,
) -> Result<(), Refusal> {
    let template_vars = template_variables(&key.path);
    for (p, at) in kept.iter_mut() {
        if p["in"] != "path" {
            continue;
        }
        let name = name_of(p).to_string();
        if !template_vars.contains(&name) {
            return Err(Refusal::new(
                at.as_str(),
                format!("path parameter `{name}` does not appear in the path template"),
            ));
        }
        if p.get("required") != Some(&Value::Bool(true)) {
            p["required"] = json!(true);
            report.record(
                PASS,
                at.as_str(),
                format!("path parameter `{name}` made required"),
            );
        }
    }
    for var in &template_vars {
        if !kept
            .iter()
            .any(|(p, _)| p["in"] == "path" && p["name"] == var.as_str())
        {
            return Err(Refusal::new(
                key.pointer(),
                format!("path variable `{{{var}}}` has no path parameter"),
            ));
        }
    }
    Ok(())
}

/// The operation's one list of parameters (path-item ones moved in).
fn write_back(
    doc: &mut Value,
    original: &Value,
    key: &OperationKey,
    kept: Vec<Declared>,
    report: &mut Report,
) -> Result<(), Refusal> {
    let op_at = key.pointer();
    let had_item_params = original
        .pointer(&child("", ["paths", &key.path, "parameters"]))
        .is_some();
    let new_list: Vec<Value> = kept.into_iter().map(|(p, _)| p).collect();
    let op = operation_mut(doc, key).ok_or_else(|| Refusal::new(&op_at, "operation vanished"))?;
    if new_list.is_empty() {
        op.remove("parameters");
    } else {
        op.insert("parameters".into(), Value::Array(new_list));
    }
    if had_item_params {
        report.record(
            PASS,
            &op_at,
            "path-item parameters moved into the operation",
        );
    }
    Ok(())
}

fn template_variables(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// Refuses what the generator cannot send (cookies, non-scalar headers,
/// non-form query styles, `content` instead of `schema`).
fn check_supported(doc: &Value, p: &Value, at: &str) -> Result<(), Refusal> {
    let (name, location) = (name_of(p), location_of(p));
    if p.get("content").is_some() {
        return Err(Refusal::new(
            at,
            format!("{location} parameter `{name}` uses `content` instead of `schema`"),
        ));
    }
    let schema = p
        .get("schema")
        .ok_or_else(|| Refusal::new(at, format!("{location} parameter `{name}` has no schema")))?;
    let (schema, _) = resolve(doc, schema, &child(at, ["schema"]))?;
    let kind = schema.get("type").and_then(Value::as_str);
    let style = p.get("style").and_then(Value::as_str);
    match location {
        "cookie" => Err(Refusal::new(
            at,
            format!("cookie parameter `{name}` is not supported"),
        )),
        "header" if matches!(kind, Some("array" | "object")) => Err(Refusal::new(
            at,
            format!(
                "header parameter `{name}` must be a scalar, not {}",
                kind.unwrap_or_default()
            ),
        )),
        "query" if style.is_some_and(|s| s != "form") => Err(Refusal::new(
            at,
            format!(
                "query parameter `{name}` uses style `{}`; only `form` is supported",
                style.unwrap_or_default()
            ),
        )),
        "path" if style.is_some_and(|s| s != "simple") => Err(Refusal::new(
            at,
            format!(
                "path parameter `{name}` uses style `{}`; only `simple` is supported",
                style.unwrap_or_default()
            ),
        )),
        "query" | "header" | "path" => Ok(()),
        other => Err(Refusal::new(
            at,
            format!("parameter `{name}` has unknown location `{other}`"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(path: &str, op: Value) -> Value {
        json!({"openapi": "3.0.3", "paths": {path: {"post": op}}})
    }

    fn params(doc: &Value, path: &str) -> Vec<Value> {
        doc["paths"][path]["post"]["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn s() -> Value {
        json!({"type": "string"})
    }

    #[test]
    fn rust_names_follow_progenitor() {
        assert_eq!(rust_name("callerIp"), "caller_ip");
        assert_eq!(rust_name("callerIP"), "caller_ip");
        assert_eq!(
            rust_name("Upstash-Flow-Control-Key"),
            "upstash_flow_control_key"
        );
        assert_eq!(rust_name("queueName"), "queue_name");
    }

    #[test]
    fn duplicate_path_parameter_is_merged() {
        let mut d = doc(
            "/q/{queueName}",
            json!({"parameters": [
            {"name": "queueName", "in": "path", "required": true, "schema": s()},
            {"name": "queueName", "in": "path", "required": true, "schema": s()}]}),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(params(&d, "/q/{queueName}").len(), 1);
        assert_eq!(
            report.changes()[0].pointer,
            "/paths/~1q~1{queueName}/post/parameters/1"
        );
        assert!(report.changes()[0].what.contains("merged"));
    }

    #[test]
    fn duplicates_with_different_schemas_are_refused() {
        let mut d = doc(
            "/a",
            json!({"parameters": [
            {"name": "x", "in": "query", "schema": s()},
            {"name": "x", "in": "query", "schema": {"type": "integer"}}]}),
        );
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert_eq!(err.pointer, "/paths/~1a/post/parameters/1");
        assert!(err.construct.contains("different schemas"));
    }

    #[test]
    fn wildcard_headers_are_taken_out_and_recorded() {
        let mut d = doc(
            "/a",
            json!({"parameters": [
            {"name": "Upstash-Forward-*", "in": "header", "description": "fwd", "schema": s()},
            {"name": "Upstash-Callback-*", "in": "header", "schema": s()},
            {"name": "X-Other-*", "in": "header", "schema": s()},
            {"name": "Upstash-Delay", "in": "header", "schema": s()}]}),
        );
        let mut report = Report::default();
        let wild = run(&mut d, &mut report).unwrap();
        assert_eq!(
            params(&d, "/a"),
            vec![json!({"name": "Upstash-Delay", "in": "header", "schema": s()})]
        );
        let prefixes: Vec<_> = wild.iter().map(|w| w.prefix.as_str()).collect();
        assert_eq!(
            prefixes,
            ["Upstash-Forward-", "Upstash-Callback-", "X-Other-"]
        );
        assert_eq!(wild[0].description.as_deref(), Some("fwd"));
        assert_eq!(wild[0].operation.label(), "POST /a");
        assert_eq!(report.changes().len(), 3);
    }

    #[test]
    fn wildcard_outside_headers_is_refused() {
        let mut d = doc(
            "/a",
            json!({"parameters": [{"name": "f-*", "in": "query", "schema": s()}]}),
        );
        assert!(
            run(&mut d, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("only header families")
        );
    }

    #[test]
    fn deprecated_collision_is_dropped() {
        let mut d = doc(
            "/a",
            json!({"parameters": [
            {"name": "callerIP", "in": "query", "deprecated": true, "schema": s()},
            {"name": "callerIp", "in": "query", "schema": s()}]}),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let p = params(&d, "/a");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0]["name"], "callerIp");
        assert_eq!(report.changes()[0].pointer, "/paths/~1a/post/parameters/0");
        assert!(
            report.changes()[0]
                .what
                .contains("deprecated parameter `callerIP` dropped")
        );
    }

    #[test]
    fn current_twins_spelled_two_ways_keep_the_canonical_one() {
        let mut d = doc(
            "/a",
            json!({"parameters": [
            {"name": "callerIP", "in": "query", "schema": s()},
            {"name": "callerIp", "in": "query", "schema": s()}]}),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        let params = params(&d, "/a");
        assert_eq!(params.len(), 1);
        assert_eq!(params[0]["name"], "callerIp");
        assert!(
            report
                .changes()
                .iter()
                .any(|c| c.what.contains("`callerIP` dropped")
                    && c.what.contains("taken by `callerIp`")),
            "{report:?}"
        );
    }

    #[test]
    fn current_collision_of_different_parameters_is_refused() {
        let mut d = doc(
            "/a",
            json!({"parameters": [
            {"name": "callerIP", "in": "query", "schema": {"type": "integer"}},
            {"name": "callerIp", "in": "query", "schema": s()}]}),
        );
        let err = run(&mut d, &mut Report::default()).unwrap_err();
        assert!(err.construct.contains("caller_ip"), "{err}");
        assert!(err.construct.contains("not one name"), "{err}");
    }

    #[test]
    fn deprecated_without_collision_is_kept() {
        let mut d = doc(
            "/a",
            json!({"parameters": [{"name": "count", "in": "query", "deprecated": true, "schema": s()}]}),
        );
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(params(&d, "/a").len(), 1);
    }

    #[test]
    fn path_parameters_become_required() {
        let mut d = doc(
            "/m/{id}",
            json!({"parameters": [{"name": "id", "in": "path", "schema": s()}]}),
        );
        let mut report = Report::default();
        run(&mut d, &mut report).unwrap();
        assert_eq!(params(&d, "/m/{id}")[0]["required"], true);
        assert!(report.changes()[0].what.contains("made required"));
    }

    #[test]
    fn path_item_parameters_move_into_operations() {
        let mut d = json!({"paths": {"/m/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": s()}],
            "get": {}, "delete": {"parameters": [{"name": "x", "in": "query", "schema": s()}]}}}});
        run(&mut d, &mut Report::default()).unwrap();
        let item = &d["paths"]["/m/{id}"];
        assert!(item.get("parameters").is_none());
        assert_eq!(item["get"]["parameters"][0]["name"], "id");
        assert_eq!(item["delete"]["parameters"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn parameter_refs_are_inlined() {
        let mut d = json!({"components": {"parameters": {"Id": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}}},
            "paths": {"/m/{id}": {"get": {"parameters": [{"$ref": "#/components/parameters/Id"}]}}}});
        run(&mut d, &mut Report::default()).unwrap();
        assert_eq!(d["paths"]["/m/{id}"]["get"]["parameters"][0]["name"], "id");
    }

    #[test]
    fn template_and_parameters_must_agree() {
        let mut d = doc("/m/{id}", json!({}));
        assert!(
            run(&mut d, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("`{id}` has no path parameter")
        );
        let mut d = doc(
            "/m",
            json!({"parameters": [{"name": "id", "in": "path", "schema": s()}]}),
        );
        assert!(
            run(&mut d, &mut Report::default())
                .unwrap_err()
                .construct
                .contains("does not appear")
        );
    }

    #[test]
    fn unsupported_parameters_are_refused_with_pointer() {
        for (p, needle) in [
            (
                json!({"name": "c", "in": "cookie", "schema": s()}),
                "cookie",
            ),
            (
                json!({"name": "h", "in": "header", "schema": {"type": "array", "items": s()}}),
                "scalar",
            ),
            (
                json!({"name": "q", "in": "query", "style": "deepObject", "schema": {"type": "object"}}),
                "deepObject",
            ),
            (json!({"name": "q", "in": "query"}), "no schema"),
        ] {
            let mut d = doc("/a", json!({"parameters": [p]}));
            let err = run(&mut d, &mut Report::default()).unwrap_err();
            assert_eq!(err.pointer, "/paths/~1a/post/parameters/0");
            assert!(err.construct.contains(needle), "{err}");
        }
    }

    /// One concern per function: each step on its own.
    #[test]
    fn each_concern_is_a_function_of_its_own() {
        let key = OperationKey {
            method: "get".into(),
            path: "/v2/q/{id}".into(),
        };
        let p = |v: Value, at: &str| (v, at.to_string());
        let mut report = Report::default();

        let mut wild = Vec::new();
        let kept = take_wildcards(
            vec![
                p(json!({"name": "Upstash-Forward-*", "in": "header"}), "/0"),
                p(json!({"name": "id", "in": "path", "schema": s()}), "/1"),
            ],
            &key,
            &mut wild,
            &mut report,
        )
        .unwrap();
        assert_eq!(
            (kept.len(), wild[0].prefix.as_str()),
            (1, "Upstash-Forward-")
        );

        let merged = merge_duplicates(
            vec![
                p(json!({"name": "a", "in": "query", "schema": s()}), "/0"),
                p(
                    json!({"name": "a", "in": "query", "schema": s(), "required": true}),
                    "/1",
                ),
            ],
            &mut report,
        )
        .unwrap();
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].0["required"], true);

        let mut path = vec![p(json!({"name": "id", "in": "path", "schema": s()}), "/0")];
        check_path_parameters(&mut path, &key, &mut report).unwrap();
        assert_eq!(path[0].0["required"], true);
        let err = check_path_parameters(&mut [], &key, &mut report).unwrap_err();
        assert!(
            err.construct.contains("`{id}` has no path parameter"),
            "{err}"
        );
    }
}
