//! A net under the generator: what progenitor still gets wrong is caught
//! here and reported with the nearest JSON pointer, never left to rustc.
//!
//! - a generator panic is caught (without touching the process's panic
//!   hook for other threads) and located by generating each operation
//!   alone;
//! - generated code that parses but declares a name twice (two fields, two
//!   variants, two items, two methods of one type, two impls of one trait
//!   for one type) is refused, naming the schema or operation it came from;
//! - the aliases of folded twin properties are added to their fields.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Once;

use quote::ToTokens;
use serde_json::Value;

use crate::Normalized;
use crate::passes::collisions::PropertyAlias;
use crate::report::{Refusal, pointer};

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)`. The panic message is
/// kept off stderr for this thread only: a process-wide hook, installed
/// once, stays quiet while a thread is inside here and defers to the hook
/// that was there before otherwise, so tests running in parallel keep
/// their panic output.
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(false));
    result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown panic".into())
    })
}

/// The nearest pointer of a construct the generator failed on: the first
/// operation that fails when generated alone, else the components.
pub(crate) fn locate(n: &Normalized, fails: impl Fn(&serde_json::Value) -> bool) -> String {
    for key in crate::document::operation_keys(&n.document) {
        let mut alone = n.document.clone();
        let Some(op) = crate::document::operation(&n.document, &key).cloned() else {
            continue;
        };
        alone["paths"] = serde_json::json!({ key.path.clone(): { key.method.clone(): op } });
        if fails(&alone) {
            return key.pointer();
        }
    }
    "/components/schemas".into()
}

/// Adds `#[serde(alias = "...")]` for each folded twin to the field of the
/// struct generated for its schema (found by its properties' wire names).
pub(crate) fn add_aliases(file: &mut syn::File, aliases: &[PropertyAlias]) -> Result<(), Refusal> {
    for alias in aliases {
        let wanted: BTreeSet<&str> = alias.properties.iter().map(String::as_str).collect();
        let mut found = false;
        visit_structs(&mut file.items, &mut |s| {
            let syn::Fields::Named(fields) = &mut s.fields else {
                return;
            };
            let wires: BTreeSet<String> = fields.named.iter().map(wire_name).collect();
            if wires.iter().map(String::as_str).collect::<BTreeSet<_>>() != wanted {
                return;
            }
            for field in fields.named.iter_mut() {
                if wire_name(field) == alias.kept {
                    for other in &alias.aliases {
                        field
                            .attrs
                            .push(syn::parse_quote!(#[serde(alias = #other)]));
                    }
                    found = true;
                }
            }
        });
        if !found {
            return Err(Refusal::new(
                &alias.schema,
                format!(
                    "the struct generated for this schema was not found, so `{}` cannot decode into `{}`",
                    alias.aliases.join("`, `"),
                    alias.kept
                ),
            ));
        }
    }
    Ok(())
}

fn visit_structs(items: &mut [syn::Item], f: &mut dyn FnMut(&mut syn::ItemStruct)) {
    for item in items {
        match item {
            syn::Item::Struct(s) => f(s),
            syn::Item::Mod(m) if m.ident == "types" => {
                if let Some((_, inner)) = &mut m.content {
                    // Only the types themselves, not their builders.
                    for item in inner.iter_mut() {
                        if let syn::Item::Struct(s) = item {
                            f(s);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// The wire name of a field: its `#[serde(rename = "...")]`, or its name.
fn wire_name(field: &syn::Field) -> String {
    for attr in &field.attrs {
        if !attr.path().is_ident("serde") {
            continue;
        }
        let mut renamed = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                renamed = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
        if let Some(name) = renamed {
            return name;
        }
    }
    field
        .ident
        .as_ref()
        .map(|i| i.to_string().trim_start_matches("r#").to_string())
        .unwrap_or_default()
}

/// Refuses generated code that declares a name twice.
pub(crate) fn check_duplicates(file: &syn::File, n: &Normalized) -> Result<(), Refusal> {
    check_items(&file.items, "crate", n)
}

fn check_items(items: &[syn::Item], module: &str, n: &Normalized) -> Result<(), Refusal> {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut trait_impls: BTreeSet<String> = BTreeSet::new();
    for item in items {
        let name = match item {
            syn::Item::Struct(s) => {
                if let syn::Fields::Named(f) = &s.fields {
                    let idents: Vec<String> = f
                        .named
                        .iter()
                        .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                        .collect();
                    twice(&idents, |d| {
                        refuse(
                            n,
                            &s.ident.to_string(),
                            format!("field `{d}` of `{module}::{}` is declared twice", s.ident),
                        )
                    })?;
                }
                Some(s.ident.to_string())
            }
            syn::Item::Enum(e) => {
                let idents: Vec<String> = e.variants.iter().map(|v| v.ident.to_string()).collect();
                twice(&idents, |d| {
                    refuse(
                        n,
                        &e.ident.to_string(),
                        format!("variant `{d}` of `{module}::{}` is declared twice", e.ident),
                    )
                })?;
                Some(e.ident.to_string())
            }
            syn::Item::Type(t) => Some(t.ident.to_string()),
            syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
            syn::Item::Const(c) => Some(c.ident.to_string()),
            syn::Item::Static(s) => Some(s.ident.to_string()),
            syn::Item::Trait(t) => Some(t.ident.to_string()),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    check_items(inner, &format!("{module}::{}", m.ident), n)?;
                }
                Some(m.ident.to_string())
            }
            syn::Item::Impl(imp) => {
                let self_ty = imp.self_ty.to_token_stream().to_string();
                match &imp.trait_ {
                    Some((_, path, _)) => {
                        let key = format!(
                            "impl {} {} for {self_ty}",
                            imp.generics.to_token_stream(),
                            path.to_token_stream()
                        );
                        if !trait_impls.insert(key.clone()) {
                            return Err(refuse(
                                n,
                                &type_of(&self_ty),
                                format!("`{key}` is generated twice (conflicting implementations)"),
                            ));
                        }
                    }
                    None => {
                        let known = methods.entry(self_ty.clone()).or_default();
                        for it in &imp.items {
                            if let syn::ImplItem::Fn(f) = it
                                && !known.insert(f.sig.ident.to_string())
                            {
                                return Err(refuse(
                                    n,
                                    &type_of(&self_ty),
                                    format!(
                                        "method `{}` of `{self_ty}` is generated twice",
                                        f.sig.ident
                                    ),
                                ));
                            }
                        }
                    }
                }
                None
            }
            _ => None,
        };
        if let Some(name) = name {
            *names.entry(name).or_default() += 1;
        }
    }
    if let Some((name, _)) = names.iter().find(|(_, c)| **c > 1) {
        return Err(refuse(
            n,
            name,
            format!("`{module}::{name}` is declared twice"),
        ));
    }
    Ok(())
}

fn twice(idents: &[String], err: impl Fn(&str) -> Refusal) -> Result<(), Refusal> {
    let mut seen = BTreeSet::new();
    match idents.iter().find(|i| !seen.insert(i.as_str())) {
        Some(d) => Err(err(d)),
        None => Ok(()),
    }
}

/// The last path segment of a type, without generics (`builder::Foo<'a>` -> `Foo`).
fn type_of(self_ty: &str) -> String {
    let base = self_ty.split('<').next().unwrap_or(self_ty);
    base.rsplit("::").next().unwrap_or(base).trim().to_string()
}

/// A refusal at the schema or operation a generated type name comes from.
fn refuse(n: &Normalized, type_name: &str, construct: String) -> Refusal {
    Refusal::new(
        nearest(n, type_name),
        format!("generated code would not compile: {construct}"),
    )
}

fn nearest(n: &Normalized, type_name: &str) -> String {
    let schemas = n
        .document
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    if let Some(key) = schemas
        .into_iter()
        .flat_map(|s| s.keys())
        .filter(|k| type_name.starts_with(&crate::pagination::type_name(k)))
        .max_by_key(|k| k.len())
    {
        return pointer(["components", "schemas", key]);
    }
    use heck::ToPascalCase;
    n.operations
        .iter()
        .filter(|(_, name)| type_name.starts_with(&name.to_pascal_case()))
        .max_by_key(|(_, name)| name.len())
        .map_or_else(|| "/components/schemas".into(), |(k, _)| k.pointer())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_returned_and_other_threads_still_panic_loudly() {
        let err = catch(|| -> u32 { panic!("generator fell over") }).unwrap_err();
        assert_eq!(err, "generator fell over");
        assert_eq!(catch(|| 7).unwrap(), 7);
        // Another thread's panic is not swallowed by the hook: it is still
        // reported as a panic (its message reaches the join error).
        let joined = std::thread::spawn(|| panic!("elsewhere"))
            .join()
            .unwrap_err();
        assert_eq!(joined.downcast_ref::<&str>(), Some(&"elsewhere"));
    }

    #[test]
    fn a_panic_elsewhere_during_generation_still_reaches_the_panic_hook() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            SEEN.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
        let before = SEEN.load(Ordering::SeqCst);
        // While this thread is inside `catch` (as during generation),
        // another thread panics: its panic must not be silenced.
        catch(|| {
            let _ = std::thread::spawn(|| panic!("a test elsewhere fails")).join();
        })
        .unwrap();
        assert!(
            SEEN.load(Ordering::SeqCst) > before,
            "the other thread's panic was swallowed"
        );
    }

    fn normalized() -> Normalized {
        let doc = serde_json::json!({
            "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/v2/queues": {"get": {"responses": {"200": {"description": "ok"}}}},
                      "/v2/keys": {"get": {"responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"Queue": {"type": "object"}}}
        });
        let names = crate::Names::parse(
            "operations: {\"GET /v2/queues\": list_queues, \"GET /v2/keys\": get_signing_keys}\n",
        )
        .unwrap();
        crate::normalize(doc, &names).unwrap()
    }

    fn refused(file: syn::File) -> Refusal {
        check_duplicates(&file, &normalized()).unwrap_err()
    }

    #[test]
    fn names_declared_twice_are_refused_at_their_schema_or_operation() {
        let err = refused(syn::parse_quote! {
            pub mod types { pub struct Queue { pub a: u8, pub a: u8 } }
        });
        assert_eq!(err.pointer, "/components/schemas/Queue");
        assert!(
            err.construct.contains("field `a` of `crate::types::Queue`"),
            "{err}"
        );

        let err = refused(syn::parse_quote! {
            pub mod types { pub enum QueueState { A, B, A } }
        });
        assert_eq!(err.pointer, "/components/schemas/Queue");
        assert!(err.construct.contains("variant `A`"), "{err}");

        let err = refused(syn::parse_quote! {
            pub mod types {
                pub struct ListQueuesResponse;
                pub struct ListQueuesResponse;
            }
        });
        assert_eq!(err.pointer, "/paths/~1v2~1queues/get");

        let err = refused(syn::parse_quote! {
            impl From<Queue> for Wrapper { fn from(q: Queue) -> Self { todo!() } }
            impl From<Queue> for Wrapper { fn from(q: Queue) -> Self { todo!() } }
        });
        assert!(
            err.construct.contains("conflicting implementations"),
            "{err}"
        );

        let err = refused(syn::parse_quote! {
            impl<'a> builder::GetSigningKeys<'a> { pub fn send(self) {} }
            impl<'a> builder::GetSigningKeys<'a> { pub fn send(self) {} }
        });
        assert_eq!(err.pointer, "/paths/~1v2~1keys/get");
        assert!(err.construct.contains("method `send`"), "{err}");

        // Distinct names pass.
        let ok: syn::File = syn::parse_quote! {
            pub mod types { pub struct Queue { pub a: u8, pub b: u8 } pub enum E { A, B } }
            impl From<A> for W { fn from(a: A) -> Self { todo!() } }
            impl From<B> for W { fn from(b: B) -> Self { todo!() } }
        };
        check_duplicates(&ok, &normalized()).unwrap();
    }

    #[test]
    fn a_generator_failure_is_located_at_the_operation_that_fails_alone() {
        let n = normalized();
        let at = locate(&n, |alone| alone["paths"].get("/v2/keys").is_some());
        assert_eq!(at, "/paths/~1v2~1keys/get");
        assert_eq!(locate(&n, |_| false), "/components/schemas");
    }

    #[test]
    fn aliases_are_added_to_the_field_of_the_matching_struct() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Other { pub caller_ip: Option<String> }
                pub struct Message {
                    #[serde(rename = "callerIp")]
                    pub caller_ip: Option<String>,
                    pub cron: String,
                }
            }
        };
        let alias = PropertyAlias {
            schema: "/components/schemas/Message".into(),
            properties: vec!["callerIp".into(), "cron".into()],
            kept: "callerIp".into(),
            aliases: vec!["callerIP".into()],
        };
        add_aliases(&mut file, std::slice::from_ref(&alias)).unwrap();
        let code = quote::quote!(#file).to_string();
        assert_eq!(code.matches("alias = \"callerIP\"").count(), 1, "{code}");
        let missing = PropertyAlias {
            properties: vec!["nothing".into()],
            ..alias
        };
        let err = add_aliases(&mut file, &[missing]).unwrap_err();
        assert_eq!(err.pointer, "/components/schemas/Message");
    }

    #[test]
    fn wire_names_come_from_serde_renames() {
        let s: syn::ItemStruct = syn::parse_quote! {
            struct S {
                #[serde(rename = "callerIp", default, skip_serializing_if = "Option::is_none")]
                caller_ip: Option<String>,
                cron: String,
            }
        };
        let syn::Fields::Named(f) = &s.fields else {
            unreachable!()
        };
        let names: Vec<String> = f.named.iter().map(wire_name).collect();
        assert_eq!(names, ["callerIp", "cron"]);
    }
}
