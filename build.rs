//! Generates the QStash client from the vendored OpenAPI document (or the one
//! named by `QSTASH_OPENAPI_SPEC`); all the work is in `qstash-codegen`.

fn main() {
    let paths = qstash_codegen::build_script::BuildPaths {
        default_spec: "openapi/qstash/openapi.yaml".into(),
        names: "openapi/qstash/operations.yaml".into(),
        errata: "openapi/qstash/errata.yaml".into(),
        out_file: std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
            .join("client.rs"),
    };
    let settings = qstash_codegen::build_script::qstash_settings();
    let spec = std::env::var_os(qstash_codegen::build_script::SPEC_VAR).map(Into::into);
    match qstash_codegen::build_script::build(&paths, spec, &settings) {
        Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
        Err(e) => {
            eprintln!("error: cannot generate the QStash client: {e}");
            std::process::exit(1);
        }
    }
}
