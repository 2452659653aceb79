//! A corpus of awkward documents: mutations of our description (and of
//! the newest upstream version when `../shared` is there) that an upstream
//! update or an erratum can plausibly bring. Each must either build a client
//! that compiles or be refused naming a place below the root.
//!
//! The Workflow document has its own mutations ([`workflow_mutations`]),
//! each merged with our QStash description as the build merges them
//! ([`normalize_merged`], both names tables and errata): an operation both
//! documents state changed in one only, clashing components, a path
//! parameter the path has no place for, an operation the names table does
//! not know. A refusal there must name the place, and where the documents
//! disagree, both files.
//!
//! Every accepted mutation is generated into a module of one scratch crate
//! (`target/corpus/`), which is checked with `cargo check` once; a compile
//! error in generated code fails the test, naming the mutation.

use std::path::{Path, PathBuf};
use std::process::Command;

use qstash_codegen::{
    Names, Settings, Source, document, errata::Errata, generate, normalize, normalize_merged,
};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What a mutation must come to.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A client that compiles.
    Builds,
    /// A refusal whose pointer starts with this.
    Refused(&'static str),
    /// A client that compiles, with this method (an operation named from
    /// its method and path).
    BuildsWith(&'static str),
    /// A refusal whose pointer starts with this, naming both documents'
    /// files and the second pointer (what the two documents disagree on).
    RefusedInBoth(&'static str, &'static str),
}

struct Mutation {
    name: &'static str,
    expect: Expect,
    apply: fn(&mut Value),
}

fn schema<'a>(doc: &'a mut Value, name: &str) -> &'a mut Value {
    &mut doc["components"]["schemas"][name]
}

fn props<'a>(doc: &'a mut Value, name: &str) -> &'a mut serde_json::Map<String, Value> {
    schema(doc, name)["properties"]
        .as_object_mut()
        .expect("an object schema")
}

fn op<'a>(doc: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut doc["paths"][path][method]
}

fn mutations() -> Vec<Mutation> {
    use Expect::*;
    vec![
        Mutation {
            name: "unchanged",
            expect: Builds,
            apply: |_| {},
        },
        Mutation {
            name: "case_twins_callerIp_callerIP",
            expect: Builds,
            apply: |d| {
                // `Message` has `callerIP`; its twin arrives beside it.
                props(d, "Message").insert("callerIp".into(), json!({"type": "string"}));
            },
        },
        Mutation {
            // Would need regress, chrono and uuid, which the client does not
            // depend on (nor does the crate this corpus compiles in).
            name: "patterns_and_strict_string_formats",
            expect: Builds,
            apply: |d| {
                let p = props(d, "Message");
                p.insert(
                    "sentAt".into(),
                    json!({"type": "string", "format": "date-time"}),
                );
                p.insert("day".into(), json!({"type": "string", "format": "date"}));
                p.insert(
                    "traceId".into(),
                    json!({"type": "string", "format": "uuid"}),
                );
                p.insert("hostIp".into(), json!({"type": "string", "format": "ipv4"}));
                p.insert(
                    "code".into(),
                    json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
                );
            },
        },
        Mutation {
            name: "case_twins_of_different_types",
            expect: Refused("/components/schemas/Message/properties/"),
            apply: |d| {
                props(d, "Message").insert("callerIp".into(), json!({"type": "integer"}));
            },
        },
        Mutation {
            name: "keyword_properties_self_Self_type_async",
            expect: Builds,
            apply: |d| {
                let p = props(d, "Queue");
                for k in ["self", "Self", "type", "async", "gen", "crate"] {
                    p.insert(k.into(), json!({"type": "string"}));
                }
            },
        },
        Mutation {
            name: "separator_twins_a.b_a-b_a_b",
            expect: Builds,
            apply: |d| {
                let p = props(d, "Queue");
                for k in ["rate.limit", "rate-limit", "rate_limit", "rate limit"] {
                    p.insert(k.into(), json!({"type": "integer"}));
                }
            },
        },
        Mutation {
            name: "response_enum_twins_fast-lane_fast_lane",
            expect: Builds,
            apply: |d| {
                let state = &mut props(d, "LogEntry")["state"]["enum"];
                state
                    .as_array_mut()
                    .unwrap()
                    .extend([json!("fast-lane"), json!("fast_lane")]);
            },
        },
        Mutation {
            name: "request_enum_twins",
            expect: Builds,
            apply: |d| {
                let params = op(d, "/v2/logs", "get")["parameters"]
                    .as_array_mut()
                    .unwrap();
                let state = params.iter_mut().find(|p| p["name"] == "state").unwrap();
                state["schema"]["enum"]
                    .as_array_mut()
                    .unwrap()
                    .extend([json!("cancel-requested"), json!("Cancel_Requested")]);
            },
        },
        Mutation {
            name: "enum_values_meeting_without_one_spelling",
            expect: Refused("/components/schemas/BulkAction/properties/kind"),
            apply: |d| {
                props(d, "BulkAction")["kind"]["enum"] = json!(["cancel", "1a", "x1a"]);
            },
        },
        Mutation {
            name: "dangling_reference",
            expect: Refused("/components/schemas/DLQMessage/properties/nope"),
            apply: |d| {
                props(d, "DLQMessage")
                    .insert("nope".into(), json!({"$ref": "#/components/schemas/Nope"}));
            },
        },
        Mutation {
            name: "schema_only_a_reference_to_itself",
            expect: Refused("/components/schemas/Loop"),
            apply: |d| {
                *schema(d, "Loop") = json!({"$ref": "#/components/schemas/Loop"});
                props(d, "Queue")
                    .insert("loop".into(), json!({"$ref": "#/components/schemas/Loop"}));
            },
        },
        Mutation {
            name: "two_schemas_referring_to_each_other_only",
            expect: Refused("/components/schemas/P"),
            apply: |d| {
                *schema(d, "Ping") = json!({"$ref": "#/components/schemas/Pong"});
                *schema(d, "Pong") = json!({"$ref": "#/components/schemas/Ping"});
            },
        },
        Mutation {
            name: "recursive_tree",
            expect: Builds,
            apply: |d| {
                let p = props(d, "Endpoint");
                p.insert(
                    "children".into(),
                    json!({"type": "array", "items": {"$ref": "#/components/schemas/Endpoint"}}),
                );
                p.insert(
                    "parent".into(),
                    json!({"$ref": "#/components/schemas/Endpoint"}),
                );
            },
        },
        Mutation {
            name: "component_type_names_meeting",
            expect: Builds,
            apply: |d| {
                *schema(d, "queue") =
                    json!({"type": "object", "properties": {"x": {"type": "string"}}});
                *schema(d, "my-type") = json!({"type": "string"});
                *schema(d, "MyType") = json!({"type": "integer"});
                props(d, "Queue").insert(
                    "other".into(),
                    json!({"$ref": "#/components/schemas/queue"}),
                );
                props(d, "Queue").insert(
                    "mine".into(),
                    json!({"$ref": "#/components/schemas/my-type"}),
                );
            },
        },
        Mutation {
            name: "path_with_a_trailing_slash",
            expect: Builds,
            apply: |d| {
                let list = d["paths"]["/v2/queues"]["get"].clone();
                d["paths"]["/v2/queues/"] = json!({"get": list});
            },
        },
        Mutation {
            name: "empty_content",
            expect: Builds,
            apply: |d| {
                op(d, "/v2/keys", "get")["responses"]["200"]["content"] = json!({});
                op(d, "/v2/keys/rotate", "post")["requestBody"] = json!({"content": {}});
            },
        },
        Mutation {
            name: "operation_without_responses",
            expect: Builds,
            apply: |d| {
                op(d, "/v2/keys/rotate", "post")["responses"] = json!({});
            },
        },
        Mutation {
            name: "parameter_twins_spelled_two_ways",
            expect: Builds,
            apply: |d| {
                let params = op(d, "/v2/dlq", "get")["parameters"]
                    .as_array_mut()
                    .unwrap();
                params.push(json!({"name": "queue_name", "in": "query",
                    "schema": {"type": "array", "items": {"type": "string"}}}));
            },
        },
        Mutation {
            name: "parameters_meeting_with_different_schemas",
            expect: Refused("/paths/~1v2~1dlq/get/parameters/"),
            apply: |d| {
                let params = op(d, "/v2/dlq", "get")["parameters"]
                    .as_array_mut()
                    .unwrap();
                params.push(
                    json!({"name": "queue_name", "in": "query", "schema": {"type": "integer"}}),
                );
            },
        },
        Mutation {
            name: "property_named_like_its_type_and_digits",
            expect: Builds,
            apply: |d| {
                let p = props(d, "Queue");
                p.insert("queue".into(), json!({"type": "string"}));
                p.insert("2fa".into(), json!({"type": "boolean"}));
                p.insert("".into(), json!({"type": "string"}));
            },
        },
        Mutation {
            name: "inline_object_twins_in_a_response",
            expect: Builds,
            apply: |d| {
                let s = &mut op(d, "/v2/dlq", "get")["responses"]["200"]["content"]["application/json"]
                    ["schema"];
                s["properties"]["nextCursor"] = json!({"type": "string"});
                s["properties"]["next_cursor"] = json!({"type": "string"});
            },
        },
    ]
}

/// Mutations of `openapi/workflow/openapi.yaml`, merged with our QStash
/// description.
fn workflow_mutations() -> Vec<Mutation> {
    use Expect::*;
    vec![
        Mutation {
            name: "wf_unchanged",
            expect: Builds,
            apply: |_| {},
        },
        Mutation {
            // `GET /v2/globalParallelism` is in both documents: one answer
            // more in the Workflow one is a disagreement.
            name: "wf_shared_operation_changed_in_one_document",
            expect: RefusedInBoth(
                "/paths/~1v2~1globalParallelism/get",
                "/paths/~1v2~1globalParallelism/get/responses",
            ),
            apply: |d| {
                op(d, "/v2/globalParallelism", "get")["responses"]["404"] =
                    json!({"description": "gone"});
            },
        },
        Mutation {
            // A `Message` of its own: renamed `WorkflowMessage`, with its
            // reference, beside QStash's.
            name: "wf_component_clash_renamed",
            expect: BuildsWith("WorkflowMessage"),
            apply: |d| {
                *schema(d, "Message") =
                    json!({"type": "object", "properties": {"stepId": {"type": "integer"}}});
                props(d, "WorkflowRun").insert(
                    "message".into(),
                    json!({"$ref": "#/components/schemas/Message"}),
                );
            },
        },
        Mutation {
            name: "wf_component_clash_with_the_new_name_taken",
            expect: RefusedInBoth("/components/schemas/Message", "/components/schemas/Message"),
            apply: |d| {
                *schema(d, "Message") = json!({"type": "string"});
                *schema(d, "WorkflowMessage") = json!({"type": "integer"});
            },
        },
        Mutation {
            name: "wf_security_scheme_clash",
            expect: RefusedInBoth(
                "/components/securitySchemes/bearerAuth",
                "/components/securitySchemes/bearerAuth",
            ),
            apply: |d| {
                d["components"]["securitySchemes"]["bearerAuth"] =
                    json!({"type": "apiKey", "in": "header", "name": "X-Key"});
            },
        },
        Mutation {
            // As upstream's `GET /v2/keys/rotate`: a path parameter the path
            // has no place for.
            name: "wf_bogus_path_parameter",
            expect: Refused("/paths/~1v2~1waiters~1{eventId}/get/parameters/"),
            apply: |d| {
                op(d, "/v2/waiters/{eventId}", "get")["parameters"]
                    .as_array_mut()
                    .unwrap()
                    .push(
                        json!({"name": "flowControlKey", "in": "path", "required": true,
                        "schema": {"type": "string"}}),
                    );
            },
        },
        Mutation {
            // Upstream's own form of it: the erratum removes it again.
            name: "wf_upstream_keys_rotate_lookup_removed_by_the_erratum",
            expect: Builds,
            apply: |d| {
                d["paths"]["/v2/keys/rotate"]["get"] = json!({
                    "operationId": "getFlowControlKey",
                    "parameters": [{"name": "flowControlKey", "in": "path", "required": true,
                        "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "ok"}},
                });
            },
        },
        Mutation {
            name: "wf_operation_missing_from_the_names_table",
            expect: BuildsWith("pub fn get_workflows_brand_new(&self)"),
            apply: |d| {
                d["paths"]["/v2/workflows/brand-new"] = json!({"get": {
                    "responses": {"200": {"description": "ok", "content": {"application/json":
                        {"schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}}}},
                }});
            },
        },
    ]
}

fn names() -> Names {
    Names::parse(&std::fs::read_to_string(root().join("openapi/qstash/operations.yaml")).unwrap())
        .unwrap()
}

fn errata() -> Errata {
    Errata::parse(&std::fs::read_to_string(root().join("openapi/qstash/errata.yaml")).unwrap())
        .unwrap()
}

/// The bases: our description, and the newest upstream one if present.
fn bases() -> Vec<(&'static str, Value)> {
    let read = |p: PathBuf| document::parse(&std::fs::read_to_string(p).unwrap()).unwrap();
    let mut out = vec![("ours", read(root().join("openapi/qstash/openapi.yaml")))];
    let latest = root().join("../shared/qstash-openapi/upstream/latest.yaml");
    if latest.exists() {
        out.push(("latest", read(latest)));
    } else {
        eprintln!(
            "SKIPPED: {} is missing; the corpus runs on our description only",
            latest.display()
        );
    }
    out
}

#[test]
fn every_awkward_document_builds_a_compiling_client_or_is_refused_naming_its_place() {
    let crate_dir = root().join("target/corpus");
    let src = crate_dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).unwrap();
    let mut modules = Vec::new();
    let mut failures = Vec::new();
    for (base_name, base) in bases() {
        for m in mutations() {
            let label = format!("{base_name}/{}", m.name);
            let mut doc = base.clone();
            (m.apply)(&mut doc);
            // Errata apply as in the build; on a mutated document a target
            // may be missing, which only warns.
            let _ = errata().apply(&mut doc);
            let module = format!("m{}", modules.len());
            let settings = Settings {
                enums_module: Some(format!("corpus::{module}::enums")),
                ..Settings::default()
            };
            let result = normalize(doc, &names()).and_then(|n| generate(&n, &settings));
            match (result, m.expect) {
                (Ok(code), Expect::Builds | Expect::BuildsWith(_)) => {
                    std::fs::write(src.join(format!("{module}.rs")), code).unwrap();
                    modules.push((module, label));
                }
                (Ok(_), Expect::Refused(at) | Expect::RefusedInBoth(at, _)) => {
                    failures.push(format!("{label}: built, but should be refused at {at}"))
                }
                (Err(e), expect) => {
                    if e.pointer.is_empty() || e.pointer == "/" {
                        failures.push(format!("{label}: refused at the root: {e}"));
                    } else if let Expect::Refused(at) | Expect::RefusedInBoth(at, _) = expect {
                        if !e.pointer.starts_with(at) {
                            failures.push(format!(
                                "{label}: refused at {}, expected {at}: {e}",
                                e.pointer
                            ));
                        } else {
                            eprintln!("refused as expected: {label}: {e}");
                        }
                    } else if base_name == "ours" {
                        failures.push(format!("{label}: refused, but should build: {e}"));
                    } else {
                        eprintln!("refused (naming its place): {label}: {e}");
                    }
                }
            }
        }
    }
    workflow_corpus(&crate_dir, &mut modules, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    compile(&crate_dir, &modules);
}

/// The Workflow mutations, each written to a file and merged with our QStash
/// description as the build does.
fn workflow_corpus(dir: &Path, modules: &mut Vec<(String, String)>, failures: &mut Vec<String>) {
    let read = |p: PathBuf| document::parse(&std::fs::read_to_string(p).unwrap()).unwrap();
    let base = read(root().join("openapi/workflow/openapi.yaml"));
    let qstash = Source {
        spec: root().join("openapi/qstash/openapi.yaml"),
        names: root().join("openapi/qstash/operations.yaml"),
        errata: Some(root().join("openapi/qstash/errata.yaml")),
    };
    for m in workflow_mutations() {
        let label = format!("workflow/{}", m.name);
        let mut doc = base.clone();
        (m.apply)(&mut doc);
        let spec = dir.join(format!("{}.json", m.name));
        std::fs::write(&spec, serde_json::to_string(&doc).unwrap()).unwrap();
        let workflow = Source {
            spec: spec.clone(),
            names: root().join("openapi/workflow/operations.yaml"),
            errata: Some(root().join("openapi/workflow/errata.yaml")),
        };
        let module = format!("m{}", modules.len());
        let settings = Settings {
            enums_module: Some(format!("corpus::{module}::enums")),
            ..Settings::default()
        };
        let result = normalize_merged(&qstash, &workflow).and_then(|n| generate(&n, &settings));
        match (result, m.expect) {
            (Ok(code), Expect::Builds | Expect::BuildsWith(_)) => {
                if let Expect::BuildsWith(needle) = m.expect
                    && !code.contains(needle)
                {
                    failures.push(format!("{label}: built without `{needle}`"));
                }
                std::fs::write(dir.join(format!("src/{module}.rs")), code).unwrap();
                modules.push((module, label));
            }
            (Ok(_), expect) => failures.push(format!("{label}: built, expected {expect:?}")),
            (Err(e), Expect::Refused(at) | Expect::RefusedInBoth(at, _))
                if e.pointer.starts_with(at) =>
            {
                let text = e.to_string();
                let named = |file: &Path| text.contains(&file.display().to_string());
                match m.expect {
                    Expect::RefusedInBoth(_, theirs)
                        if !(named(&qstash.spec)
                            && named(&spec)
                            && text.contains(&format!("at {theirs}"))) =>
                    {
                        failures.push(format!(
                            "{label}: the refusal should name both files and {theirs}: {text}"
                        ));
                    }
                    Expect::Refused(_) if !named(&spec) => {
                        failures.push(format!(
                            "{label}: the refusal should name {}: {text}",
                            spec.display()
                        ));
                    }
                    _ => eprintln!("refused as expected: {label}: {text}"),
                }
            }
            (Err(e), expect) => failures.push(format!("{label}: expected {expect:?}, got: {e}")),
        }
    }
}

/// `cargo check` of the scratch crate holding every accepted mutation.
fn compile(dir: &Path, modules: &[(String, String)]) {
    let lib: String = std::iter::once(
        "// @generated by codegen/tests/corpus.rs\n#![allow(warnings, clippy::all)]\nextern crate self as corpus;\n"
            .to_string(),
    )
    .chain(modules.iter().map(|(m, label)| format!("/// {label}\npub mod {m};\n")))
    .collect();
    std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        r#"[package]
name = "corpus"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
progenitor-client = "0.15"
reqwest = { version = "0.13", default-features = false, features = ["json", "query", "stream"] }
serde = { version = "1", features = ["derive"] }
serde_json = "1"
futures = "0.3"
bytes = "1"
"#,
    )
    .unwrap();
    // The workspace's versions, so nothing new is downloaded.
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .args(["check", "--quiet", "--message-format=short"])
        .env("CARGO_TARGET_DIR", root().join("target/corpus-target"))
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let named: Vec<String> = stderr
            .lines()
            .filter(|l| l.contains("error"))
            .map(|l| {
                let module = l
                    .strip_prefix("src/")
                    .and_then(|rest| rest.split(".rs").next())
                    .unwrap_or_default();
                let label = modules
                    .iter()
                    .find(|(m, _)| m == module)
                    .map_or("?", |(_, label)| label.as_str());
                format!("{label}: {l}")
            })
            .collect();
        panic!("generated code does not compile:\n{}", named.join("\n"));
    }
    eprintln!("{} accepted documents compile", modules.len());
}
