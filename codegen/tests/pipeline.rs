//! The whole pipeline on real and synthetic documents: parse, normalize,
//! generate, format. Compiling the output is `tests/contract/upstream_versions.rs` of
//! the `qstash` crate.

use std::path::{Path, PathBuf};

use qstash_codegen::build_script::{BuildPaths, Overrides, build};
use qstash_codegen::{Names, Settings, document, generate, normalize, normalize_files};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn names() -> Names {
    Names::parse(&std::fs::read_to_string(root().join("openapi/qstash/operations.yaml")).unwrap())
        .unwrap()
}

fn errata() -> PathBuf {
    root().join("openapi/qstash/errata.yaml")
}

fn upstream_dir() -> Option<PathBuf> {
    let dir = root().join("../shared/qstash-openapi/upstream");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: {} is missing; upstream versions not checked",
            dir.display()
        );
        None
    }
}

fn generate_text(text: &str) -> Result<String, qstash_codegen::Refusal> {
    let n = normalize(document::parse(text)?, &names())?;
    generate(&n, &Settings::default())
}

#[test]
fn vendored_spec_generates_every_named_operation() {
    let n = normalize_files(
        &root().join("openapi/qstash/openapi.yaml"),
        &root().join("openapi/qstash/operations.yaml"),
        Some(&errata()),
    )
    .unwrap();
    assert_eq!(n.operations.len(), 42);
    let tally = qstash_codegen::errata::Tally::of(&n.errata);
    assert_eq!(
        (tally.already_true, tally.missing),
        (0, 0),
        "every erratum applies to our description: {:#?}",
        n.errata
    );
    assert!(tally.applied >= 14, "{tally}");
    assert!(
        n.unknown_operations.is_empty(),
        "{:?}",
        n.unknown_operations
    );
    assert!(n.stale_names.is_empty(), "{:?}", n.stale_names);
    assert!(
        n.unsupported_pagination.is_empty(),
        "{:?}",
        n.unsupported_pagination
    );
    let paginated: Vec<_> = n.paginated.iter().map(|p| p.method.as_str()).collect();
    assert_eq!(
        paginated,
        [
            "list_bulk_actions",
            "list_dlq_messages",
            "delete_dlq_messages",
            "retry_dlq_messages",
            "list_logs"
        ]
    );
    let code = generate(&n, &Settings::default()).unwrap();
    for (_, name) in &n.operations {
        assert!(
            code.contains(&format!("pub fn {name}(&self)")),
            "no method {name}"
        );
    }
}

#[test]
fn every_upstream_version_normalizes_and_generates() {
    let Some(dir) = upstream_dir() else { return };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "expected the 15 published versions");
    for file in files {
        let n = normalize_files(
            &file,
            &root().join("openapi/qstash/operations.yaml"),
            Some(&errata()),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        eprintln!(
            "{}: errata {}",
            file.file_name().unwrap().to_string_lossy(),
            qstash_codegen::errata::Tally::of(&n.errata)
        );
        assert!(
            n.unknown_operations.is_empty(),
            "{}: {:?}",
            file.display(),
            n.unknown_operations
        );
        let code = generate(&n, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
        assert!(code.contains("pub struct Client"), "{}", file.display());
    }
}

#[test]
fn generation_is_deterministic() {
    let text = std::fs::read_to_string(root().join("openapi/qstash/openapi.yaml")).unwrap();
    assert_eq!(generate_text(&text).unwrap(), generate_text(&text).unwrap());
}

/// The 3.1 forms upstream does not use yet, end to end.
#[test]
fn openapi_31_forms_generate() {
    let text = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /v2/things/{id}:
    get:
      parameters:
        - {name: id, in: path, schema: {type: string}}
        - {name: limit, in: query, schema: {type: [integer, "null"], exclusiveMinimum: 0}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Thing"}
components:
  schemas:
    Thing:
      type: object
      required: [kind]
      properties:
        kind: {const: thing}
        parent:
          oneOf:
            - {$ref: "#/components/schemas/Thing"}
            - {type: "null"}
        note: {type: [string, "null"], examples: ["a"]}
        size: {type: number, exclusiveMaximum: 10}
        owner: {$ref: "#/components/schemas/Owner", description: "who"}
    Owner:
      type: object
      properties:
        name: {type: string}
"##;
    let n = normalize(document::parse(text).unwrap(), &names()).unwrap();
    assert_eq!(n.document["openapi"], "3.0.3");
    assert_eq!(n.unknown_operations[0].1, "get_things_by_id");
    let thing = &n.document["components"]["schemas"]["Thing"]["properties"];
    assert_eq!(thing["kind"]["enum"][0], "thing");
    assert_eq!(thing["parent"]["nullable"], true);
    assert_eq!(thing["size"]["exclusiveMaximum"], true);
    let code = generate(&n, &Settings::default()).unwrap();
    assert!(code.contains("pub fn get_things_by_id(&self)"));
    assert!(
        code.contains("pub parent: ::std::option::Option<::std::boxed::Box<Thing>>"),
        "nullable self-reference"
    );
    assert!(code.contains("pub note: ::std::option::Option<::std::string::String>"));
}

#[test]
fn malformed_documents_are_refused_naming_file_and_place() {
    let dir = std::env::temp_dir().join(format!("qstash-codegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = root().join("openapi/qstash/operations.yaml");
    let cases = [
        (
            "broken.yaml",
            "openapi: 3.1.0\npaths: {a: [\n",
            "not valid YAML",
        ),
        (
            "tuple.yaml",
            "openapi: 3.1.0\npaths: {}\ncomponents: {schemas: {T: {type: array, prefixItems: [{type: string}]}}}\n",
            "/components/schemas/T/prefixItems",
        ),
        (
            "cookie.yaml",
            "openapi: 3.1.0\npaths: {/a: {get: {parameters: [{name: c, in: cookie, schema: {type: string}}], responses: {'200': {description: ok}}}}}\n",
            "/paths/~1a/get/parameters/0",
        ),
        ("swagger.yaml", "swagger: '2.0'\npaths: {}\n", "/openapi"),
    ];
    for (file, text, needle) in cases {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        let err = normalize_files(&path, &table, None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.contains(needle), "{file}: {err}");
    }
}

#[test]
fn build_script_writes_the_client_and_declares_its_inputs() {
    let dir = std::env::temp_dir().join(format!("qstash-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("spec.yaml");
    std::fs::write(
        &spec,
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /v2/queues:\n    get:\n      responses: {'200': {description: ok}}\n  /v2/brand/new:\n    post:\n      responses: {'200': {description: ok}}\n",
    )
    .unwrap();
    let errata = dir.join("errata.yaml");
    std::fs::write(
        &errata,
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: \"$.paths['/v2/queues'].get\"\n    description: summary\n    update: {summary: listed}\n  - target: $.paths.nowhere\n    description: Gone.\n    remove: true\n",
    )
    .unwrap();
    let paths = BuildPaths {
        default_spec: root().join("openapi/qstash/openapi.yaml"),
        names: root().join("openapi/qstash/operations.yaml"),
        errata: errata.clone(),
        workflow: None,
        out_file: dir.join("client.rs"),
    };
    let overrides = Overrides {
        spec: Some(spec.clone()),
        workflow_spec: None,
    };
    let lines = build(&paths, &overrides, &Settings::default()).unwrap();
    let rerun: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("cargo::rerun-if"))
        .collect();
    assert_eq!(rerun.len(), 5, "{lines:?}");
    assert!(lines.contains(&format!("cargo::rerun-if-changed={}", errata.display())));
    assert!(lines.contains(&"cargo::rerun-if-env-changed=QSTASH_OPENAPI_SPEC".to_string()));
    assert!(lines.contains(&format!("cargo::rerun-if-changed={}", spec.display())));
    let warnings: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("cargo::warning="))
        .collect();
    assert_eq!(warnings.len(), 2, "{lines:?}");
    assert!(warnings[0].contains("`POST /v2/brand/new`"));
    assert!(warnings[0].contains("`post_brand_new`"));
    assert!(
        warnings[1].contains("erratum 1 of") && warnings[1].contains("`$.paths.nowhere` (Gone.)"),
        "{lines:?}"
    );
    // One cfg per operation generated, checked against every name of the
    // table (and the unnamed operation's derived name).
    assert!(lines.contains(&r#"cargo::rustc-cfg=qstash_operation="list_queues""#.to_string()));
    assert!(lines.contains(&r#"cargo::rustc-cfg=qstash_operation="post_brand_new""#.to_string()));
    let check = lines
        .iter()
        .find(|l| l.starts_with("cargo::rustc-check-cfg=cfg(qstash_operation, values("))
        .expect("a check-cfg line");
    assert!(
        check.contains(r#""publish""#) && check.contains(r#""post_brand_new""#),
        "{check}"
    );
    let code = std::fs::read_to_string(dir.join("client.rs")).unwrap();
    assert!(code.starts_with("// @generated by qstash-codegen"));
    assert!(code.contains("pub fn list_queues(&self)"));
    assert!(code.contains("pub fn post_brand_new(&self)"));

    // Unchanged output is not rewritten (the crate is not recompiled). The
    // file is dated in the past first, so a rewrite shows whatever the
    // filesystem's timestamp resolution.
    let long_ago = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(dir.join("client.rs"))
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    build(&paths, &overrides, &Settings::default()).unwrap();
    let after = std::fs::metadata(dir.join("client.rs"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(after, long_ago, "an unchanged client was rewritten");
    // A changed one is.
    std::fs::write(dir.join("client.rs"), "stale").unwrap();
    build(&paths, &overrides, &Settings::default()).unwrap();
    assert!(
        std::fs::read_to_string(dir.join("client.rs"))
            .unwrap()
            .starts_with("// @generated")
    );

    // A refused spec fails with the file, the pointer and the construct.
    std::fs::write(
        &spec,
        "openapi: 3.1.0\npaths: {}\ncomponents: {schemas: {N: {type: 'null'}}}\n",
    )
    .unwrap();
    let err = build(&paths, &overrides, &Settings::default()).unwrap_err();
    assert!(err.contains(&spec.display().to_string()), "{err}");
    assert!(err.contains("/components/schemas/N/type"), "{err}");
    assert!(err.contains("only allows null"), "{err}");

    // A malformed errata file fails the build naming the file and the action.
    std::fs::write(
        &spec,
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
    )
    .unwrap();
    std::fs::write(
        &errata,
        "overlay: 1.0.0\ninfo: {title: t, version: '1'}\nactions:\n  - target: $.a\n    description: d\n    remove: true\n  - target: '$.b['\n    description: d\n    remove: true\n",
    )
    .unwrap();
    let err = build(&paths, &overrides, &Settings::default()).unwrap_err();
    assert!(err.starts_with(&errata.display().to_string()), "{err}");
    assert!(err.contains("/actions/1/target"), "{err}");
    assert!(err.contains("not a JSONPath"), "{err}");
}

/// Response enums become tolerant types; request enums stay strict.
#[test]
fn response_enums_are_generated_tolerant_and_request_enums_strict() {
    let text = r##"
openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /v2/logs:
    get:
      parameters:
        - {name: state, in: query, schema: {type: string, enum: [CREATED, CANCELLED]}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  logs: {type: array, items: {$ref: "#/components/schemas/LogEntry"}}
components:
  schemas:
    LogEntry:
      type: object
      properties:
        state: {type: string, enum: [CREATED, CANCELLED], description: The state.}
"##;
    let n = normalize(document::parse(text).unwrap(), &names()).unwrap();
    let settings = Settings {
        enums_module: Some("mycrate::enums".into()),
        ..Settings::default()
    };
    let code = generate(&n, &settings).unwrap();
    assert!(code.contains("pub mod enums {"), "{code}");
    assert!(code.contains("pub enum LogEntryState {"));
    assert!(code.contains("Unknown(::std::string::String)"));
    assert!(
        code.contains(r#""CANCELLED" | "CANCELED" => Self::Cancelled"#),
        "{code}"
    );
    assert!(code.contains("::std::option::Option<::mycrate::enums::LogEntryState>"));
    // The query parameter's enum is a strict generated type.
    assert!(code.contains("pub enum ListLogsState {"), "{code}");
    // Without the setting, every enum is strict.
    let strict = generate(&n, &Settings::default()).unwrap();
    assert!(!strict.contains("pub mod enums"));
}

/// Our Workflow description and every stored upstream version, with the
/// Workflow errata, normalize with every operation named by the Workflow
/// table and generate a client; on ours every erratum applies.
#[test]
fn workflow_documents_with_their_errata_generate_every_named_operation() {
    let names = root().join("openapi/workflow/operations.yaml");
    let errata = root().join("openapi/workflow/errata.yaml");
    let mut specs = vec![root().join("openapi/workflow/openapi.yaml")];
    let dir = root().join("../shared/workflow-openapi/upstream");
    if dir.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        assert!(files.len() >= 7, "expected the 7 stored versions");
        specs.extend(files);
    } else {
        eprintln!(
            "SKIPPED: {} is missing; upstream Workflow versions not checked",
            dir.display()
        );
    }
    for (i, spec) in specs.iter().enumerate() {
        let n = normalize_files(spec, &names, Some(&errata)).unwrap_or_else(|e| panic!("{e}"));
        let tally = qstash_codegen::errata::Tally::of(&n.errata);
        eprintln!("{}: errata {tally}", spec.display());
        if i == 0 {
            assert_eq!(n.operations.len(), 28);
            assert_eq!(
                (tally.applied, tally.already_true, tally.missing),
                (n.errata.len(), 0, 0),
                "every erratum applies to our description: {:#?}",
                n.errata
            );
            assert!(n.stale_names.is_empty(), "{:?}", n.stale_names);
        }
        assert!(
            n.unknown_operations.is_empty(),
            "{}: {:?}",
            spec.display(),
            n.unknown_operations
        );
        assert!(
            !n.operations
                .iter()
                .any(|(k, _)| k.label() == "GET /v2/keys/rotate"),
            "{}: the bogus key lookup survived the errata",
            spec.display()
        );
        let code = generate(&n, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
        for (_, name) in &n.operations {
            assert!(
                code.contains(&format!("pub fn {name}(")),
                "{}: no method {name}",
                spec.display()
            );
        }
    }
}

fn qstash_source() -> qstash_codegen::Source {
    qstash_codegen::Source {
        spec: root().join("openapi/qstash/openapi.yaml"),
        names: root().join("openapi/qstash/operations.yaml"),
        errata: Some(errata()),
    }
}

fn workflow_source() -> qstash_codegen::Source {
    qstash_codegen::Source {
        spec: root().join("openapi/workflow/openapi.yaml"),
        names: root().join("openapi/workflow/operations.yaml"),
        errata: Some(root().join("openapi/workflow/errata.yaml")),
    }
}

/// Our two descriptions make one client: every operation named by its own
/// table, the ten both state once, one `FlowControlKey`.
#[test]
fn the_two_vendored_documents_make_one_client() {
    let n = qstash_codegen::normalize_merged(&qstash_source(), &workflow_source())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n.operations.len(), 42 + 28 - 10);
    assert!(
        n.unknown_operations.is_empty(),
        "{:?}",
        n.unknown_operations
    );
    assert!(n.stale_names.is_empty(), "{:?}", n.stale_names);
    let m = n.merge.as_deref().unwrap();
    assert_eq!(m.merged.shared.len(), 10);
    assert!(m.merged.renamed.is_empty(), "{:?}", m.merged.renamed);
    assert!(
        m.merged
            .same_components
            .contains(&("schemas".into(), "FlowControlKey".into()))
    );
    let tally = qstash_codegen::errata::Tally::of(&m.second_errata);
    assert_eq!((tally.applied, tally.missing), (7, 0), "{tally}");
    let name = |label: &str| {
        n.operations
            .iter()
            .find(|(k, _)| k.label() == label)
            .map(|(_, name)| name.as_str())
    };
    assert_eq!(
        name("POST /v2/trigger/{workflowUrl}"),
        Some("trigger_workflow")
    );
    assert_eq!(
        name("DELETE /v2/workflows/dlq"),
        Some("delete_workflow_dlq_entries")
    );
    assert_eq!(name("GET /v2/dlq"), Some("list_dlq_messages"));
    let bulk: Vec<&str> = n.bulk.iter().map(|b| b.method.as_str()).collect();
    assert_eq!(
        bulk,
        [
            "cancel_messages",
            "delete_dlq_messages",
            "retry_dlq_messages",
            "cancel_workflow_runs",
            "delete_workflow_dlq_entries",
            "resume_workflow_dlq_entries",
            "restart_workflow_dlq_entries"
        ]
    );
    let cancel = n
        .bulk
        .iter()
        .find(|b| b.method == "cancel_workflow_runs")
        .unwrap();
    assert!(cancel.filters.contains(&"label".to_string()));
    for not_a_filter in ["count", "workflowUrlExactMatch", "cursor"] {
        assert!(!cancel.filters.contains(&not_a_filter.to_string()));
    }
    // Trigger and notify are never sent twice.
    for name in [
        "trigger_workflow",
        "trigger_workflows",
        "notify_event",
        "notify_workflow_run",
    ] {
        assert!(!n.idempotent.contains(&name.to_string()), "{name}");
        assert!(!n.creates_messages.contains(&name.to_string()), "{name}");
    }
    let code = generate(&n, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    for method in [
        "trigger_workflow",
        "cancel_workflow_runs",
        "notify_event",
        "list_workflow_logs",
        "publish",
    ] {
        assert!(
            code.contains(&format!("pub fn {method}(&self)")),
            "{method}"
        );
    }
}

/// The published Workflow description (without our errata) states the flow
/// control key otherwise than QStash's: the build is refused, naming both.
#[test]
fn a_genuinely_conflicting_pair_is_refused_naming_both_documents() {
    let mut published = workflow_source();
    published.errata = None;
    let err = qstash_codegen::normalize_merged(&qstash_source(), &published).unwrap_err();
    let text = err.to_string();
    let qstash = root().join("openapi/qstash/openapi.yaml");
    let workflow = root().join("openapi/workflow/openapi.yaml");
    assert_eq!(err.file.as_deref(), Some(qstash.as_path()));
    assert!(
        err.pointer
            .starts_with("/components/schemas/FlowControlKey/properties"),
        "{text}"
    );
    assert!(
        text.contains("`GET /v2/flowControl` is stated in both documents with different facts"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "in {}: at /components/schemas/FlowControlKey/properties",
            workflow.display()
        )),
        "{text}"
    );
}

/// A names table that gives an operation both documents state another
/// name is refused in that table's file.
#[test]
fn names_tables_that_disagree_are_refused_in_the_second_table() {
    let dir = std::env::temp_dir().join(format!("qstash-merge-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("operations.yaml");
    let text = std::fs::read_to_string(root().join("openapi/workflow/operations.yaml"))
        .unwrap()
        .replace(": get_signing_keys", ": read_signing_keys");
    std::fs::write(&table, text).unwrap();
    let mut second = workflow_source();
    second.names = table.clone();
    let err = qstash_codegen::normalize_merged(&qstash_source(), &second).unwrap_err();
    assert_eq!(err.file.as_deref(), Some(table.as_path()));
    assert_eq!(err.pointer, "/operations/GET ~1v2~1keys");
    assert!(
        err.construct
            .contains("`read_signing_keys` here and `get_signing_keys`"),
        "{err}"
    );
}

/// `build` with a Workflow document: both documents' rerun lines and
/// variable, the override, and warnings naming the right table.
#[test]
fn build_merges_the_workflow_document() {
    let dir = std::env::temp_dir().join(format!("qstash-build-wf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wf = dir.join("workflow.yaml");
    let text = std::fs::read_to_string(root().join("openapi/workflow/openapi.yaml")).unwrap();
    let text = text.replacen(
        "  /v2/waiters/{eventId}:",
        "  /v2/workflows/brand-new:\n    get:\n      responses:\n        \"200\":\n          description: ok\n  /v2/waiters/{eventId}:",
        1,
    );
    std::fs::write(&wf, text).unwrap();
    let paths = BuildPaths {
        default_spec: root().join("openapi/qstash/openapi.yaml"),
        names: root().join("openapi/qstash/operations.yaml"),
        errata: errata(),
        workflow: Some(qstash_codegen::build_script::DocumentPaths {
            default_spec: root().join("openapi/workflow/openapi.yaml"),
            names: root().join("openapi/workflow/operations.yaml"),
            errata: root().join("openapi/workflow/errata.yaml"),
        }),
        out_file: dir.join("client.rs"),
    };
    let overrides = Overrides {
        spec: None,
        workflow_spec: Some(wf.clone()),
    };
    let lines = build(&paths, &overrides, &Settings::default()).unwrap_or_else(|e| panic!("{e}"));
    for expected in [
        "cargo::rerun-if-env-changed=QSTASH_OPENAPI_SPEC".to_string(),
        "cargo::rerun-if-env-changed=QSTASH_WORKFLOW_OPENAPI_SPEC".to_string(),
        format!(
            "cargo::rerun-if-changed={}",
            root().join("openapi/workflow/errata.yaml").display()
        ),
        format!(
            "cargo::rerun-if-changed={}",
            root().join("openapi/workflow/operations.yaml").display()
        ),
        format!("cargo::rerun-if-changed={}", wf.display()),
    ] {
        assert!(lines.contains(&expected), "{expected}: {lines:?}");
    }
    let warnings: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("cargo::warning="))
        .collect();
    assert_eq!(warnings.len(), 1, "{lines:?}");
    assert!(
        warnings[0].contains("`GET /v2/workflows/brand-new` is not in")
            && warnings[0].contains("openapi/workflow/operations.yaml"),
        "{warnings:?}"
    );
    let code = std::fs::read_to_string(dir.join("client.rs")).unwrap();
    assert!(code.contains(&format!("and {}", wf.display())), "header");
    assert!(code.contains("pub fn notify_event(&self)"));
    assert!(code.contains("pub fn get_workflows_brand_new(&self)"));

    // A conflicting Workflow document fails the build naming both files.
    let text = std::fs::read_to_string(&wf).unwrap().replacen(
        "  /v2/globalParallelism:\n    get:",
        "  /v2/globalParallelism:\n    get:\n      deprecated: true",
        1,
    );
    std::fs::write(&wf, text).unwrap();
    let err = build(&paths, &overrides, &Settings::default()).unwrap_err();
    assert!(
        err.contains("`GET /v2/globalParallelism` is stated in both documents"),
        "{err}"
    );
    assert!(err.contains(&wf.display().to_string()), "{err}");
    assert!(
        err.contains("openapi/qstash/openapi.yaml: at /paths/~1v2~1globalParallelism/get"),
        "{err}"
    );
}

/// `.all()` sends the names table's count for an operation, 100 otherwise;
/// a count above the `count` parameter's maximum is refused at it.
#[test]
fn all_sends_a_count_the_operation_takes() {
    let doc = |maximum: &str| {
        document::parse(&format!(
            r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}}, "paths": {{
              "/a": {{"delete": {{"parameters": [
                {{"in": "query", "name": "label", "schema": {{"type": "string"}}}},
                {{"in": "query", "name": "count", "schema": {{"type": "integer"{maximum}}}}}],
                "responses": {{"200": {{"description": "ok"}}}}}}}},
              "/b": {{"delete": {{"parameters": [
                {{"in": "query", "name": "label", "schema": {{"type": "string"}}}}],
                "responses": {{"200": {{"description": "ok"}}}}}}}}}}}}"#
        ))
        .unwrap()
    };
    let names = |counts: &str| {
        Names::parse(&format!(
            "operations: {{\"DELETE /a\": a, \"DELETE /b\": b}}\nbulk: {{operations: [a, b], not_filters: [count]{counts}}}\n"
        ))
        .unwrap()
    };
    let n = normalize(doc(""), &names(", all_count: {a: 50}")).unwrap();
    let counts: Vec<(&str, u32)> = n
        .bulk
        .iter()
        .map(|b| (b.method.as_str(), b.all_count))
        .collect();
    assert_eq!(counts, [("a", 50), ("b", 100)]);
    assert_eq!(n.bulk[0].filters, ["label"]);
    let err = normalize(doc(r#", "maximum": 50"#), &names("")).unwrap_err();
    assert_eq!(err.pointer, "/paths/~1a/delete/parameters/1");
    assert!(
        err.construct
            .contains("count 100, above the parameter's maximum 50"),
        "{err}"
    );
    normalize(doc(r#", "maximum": 50"#), &names(", all_count: {a: 50}")).unwrap();
}
