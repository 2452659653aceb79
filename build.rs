//! Generates the client from the vendored QStash and Workflow OpenAPI
//! documents (or those named by `QSTASH_OPENAPI_SPEC` and
//! `QSTASH_WORKFLOW_OPENAPI_SPEC`); all the work is in `qstash-codegen`.

use qstash_codegen::build_script::{BuildPaths, DocumentPaths, Overrides, build, qstash_settings};

fn main() {
    let paths = BuildPaths {
        default_spec: "openapi/qstash/openapi.yaml".into(),
        names: "openapi/qstash/operations.yaml".into(),
        errata: "openapi/qstash/errata.yaml".into(),
        workflow: Some(DocumentPaths {
            default_spec: "openapi/workflow/openapi.yaml".into(),
            names: "openapi/workflow/operations.yaml".into(),
            errata: "openapi/workflow/errata.yaml".into(),
        }),
        out_file: std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("client.rs"),
    };
    match build(&paths, &Overrides::from_env(), &qstash_settings()) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("error: cannot generate the QStash client: {e}");
            std::process::exit(1);
        }
    }
}
