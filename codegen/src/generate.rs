//! progenitor and prettyplease: from a normalized document to Rust source.

use proc_macro2::TokenStream;
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use quote::{format_ident, quote};

use crate::Normalized;
use crate::report::Refusal;

/// How the generated client plugs into the hand-written layer.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Path of the per-client state the layer keeps (`crate::config::Inner`).
    pub inner_type: Option<String>,
    /// When true, the layer must implement `progenitor_client::ClientHooks`
    /// for the client (auth, retries); a missing impl is a compile error.
    pub hooks_expected: bool,
    /// Module holding the `CursorRequest`, `Page` and `Items` traits; when
    /// set, every paginated operation gets their impls.
    pub pagination_module: Option<String>,
    /// Type for query parameters that take several strings (`label=a&label=b`),
    /// as `crate_name::path::Type`; it must serialize as a sequence. When
    /// unset they are `Vec<String>`. The layer's type also converts from a
    /// single `&str`, so `.label("x")` reads naturally.
    pub string_list_type: Option<String>,
    /// Module path (`crate_name::module`) under which the crate re-exports
    /// the generated module of tolerant response enums; when set, every
    /// response-only string enum becomes a type there that keeps unlisted
    /// values (`Unknown(String)`). When unset they are strict typify enums.
    pub enums_module: Option<String>,
    /// Module of the layer with the type `Operation` (and its `Repeat`):
    /// what the API description and the names table say of an operation
    /// beyond its parameters. When set, every request builder carries its
    /// operation's facts as the constant `OPERATION`, and `spec_facts`
    /// lists them all.
    pub operation_module: Option<String>,
    /// Module of the layer that sends requests (`crate::transport`). When
    /// set (with `error_type` and `operation_module`), every request builder
    /// carries the layer's `RequestState` (as its field `request_state`),
    /// and its `send` reports what `check(&request_state)` refuses, builds
    /// the request with the generated code and hands it to `send(client,
    /// request, &OPERATION, &request_state)`, decodes a JSON body with
    /// `json(client, response)`, and reports a refused build with
    /// `refused(&OPERATION, error)` and any status but 2xx with
    /// `unexpected(response)`; progenitor's hooks are not called. Every bulk
    /// operation (the names table's `bulk` list) gets `.all()`, which sets
    /// `request_state.everything`.
    pub transport_module: Option<String>,
    /// The layer's error type (`crate::Error`, converting from progenitor's
    /// error with `From`): when set, every request builder's `send` returns
    /// it, and the client's and builders' constructors are not public.
    pub error_type: Option<String>,
    /// The layer's module (`crate::urls`) with `endpoint(&Client, &str) ->
    /// reqwest::Url`, which makes a request's URL from the client's base URL
    /// and the operation's path, and `encode_path(&str) -> impl Display`,
    /// which percent-encodes a path parameter as progenitor's does. With
    /// `error_type` set, every request uses them instead of parsing the
    /// whole URL again.
    pub urls_module: Option<String>,
}

fn path_tokens(path: &str, what: &str) -> Result<TokenStream, Refusal> {
    syn::parse_str::<syn::Path>(path)
        .map(|p| quote!(#p))
        .map_err(|e| Refusal::new("", format!("{what} `{path}` is not a Rust path: {e}")))
}

/// Generates the client source for a normalized document.
///
/// The document is checked against openapiv3's model first; a generator
/// panic (which the passes exist to prevent) is caught and reported as a
/// refusal rather than crashing the build.
pub fn generate(normalized: &Normalized, settings: &Settings) -> Result<String, Refusal> {
    let mut document = normalized.document.clone();
    let list_crate = match &settings.string_list_type {
        Some(path) => Some(annotate_string_lists(&mut document, path)?),
        None => None,
    };
    let enums_crate = match &settings.enums_module {
        Some(module) => Some(annotate_response_enums(&mut document, normalized, module)?),
        None => None,
    };
    let spec = to_openapiv3(&document)?;

    let mut gs = GenerationSettings::new();
    gs.with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_derive("PartialEq");
    if settings.hooks_expected {
        gs.with_hooks(HooksMode::Expected);
    }
    let crates: std::collections::BTreeSet<String> =
        list_crate.into_iter().chain(enums_crate).collect();
    for krate in crates {
        gs.with_crate(krate, progenitor::CrateVers::Any, None);
    }
    if let Some(inner) = &settings.inner_type {
        gs.with_inner_type(path_tokens(inner, "inner type")?);
    }
    let run =
        |spec: &openapiv3::OpenAPI| crate::net::catch(|| Generator::new(&gs).generate_tokens(spec));
    let client = match run(&spec) {
        Ok(Ok(tokens)) => tokens,
        failed => {
            let what = match failed {
                Ok(Err(e)) => format!("progenitor refused the document: {e}"),
                Err(panic) => {
                    format!("progenitor panicked on a construct no pass handles: {panic}")
                }
                Ok(Ok(_)) => unreachable!(),
            };
            let at = crate::net::locate(normalized, |alone| {
                to_openapiv3(alone).map_or(true, |spec| !matches!(run(&spec), Ok(Ok(_))))
            });
            return Err(Refusal::new(at, what));
        }
    };
    let extras = extras(normalized, settings)?;
    let mut file: syn::File = syn::parse2(quote! { #client #extras })
        .map_err(|e| Refusal::new("", format!("generated code does not parse: {e}")))?;
    crate::net::add_aliases(&mut file, &normalized.property_aliases)?;
    if let Some(error) = &settings.error_type {
        let layer = crate::shape::Layer {
            error: path_tokens(error, "error type")?,
            urls: match &settings.urls_module {
                Some(m) => Some(path_tokens(m, "URLs module")?),
                None => None,
            },
        };
        crate::shape::apply(&mut file, &layer)?;
        if let Some(module) = &settings.transport_module {
            let transport = crate::requests::Transport {
                module: path_tokens(module, "transport module")?,
                error: layer.error.clone(),
                optional_bodies: optional_bodies(normalized),
            };
            crate::requests::apply(&mut file, &transport)?;
        }
    }
    crate::net::check_duplicates(&file, normalized)?;
    Ok(prettyplease::unparse(&file))
}

/// The document in openapiv3's model; a misfit names its place.
fn to_openapiv3(document: &serde_json::Value) -> Result<openapiv3::OpenAPI, Refusal> {
    serde_path_to_error::deserialize(document).map_err(|e| {
        let at = e.path().to_string();
        Refusal::new(
            format!("/{}", at.replace('.', "/")),
            format!(
                "the normalized document does not fit OpenAPI 3.0: {}",
                e.inner()
            ),
        )
    })
}

/// Marks every query parameter whose schema is a plain list of strings with
/// typify's `x-rust-type`, so it is generated as `path`. Returns the crate name.
fn annotate_string_lists(doc: &mut serde_json::Value, path: &str) -> Result<String, Refusal> {
    let krate = crate_of(path, "string list type")?;
    let marker = serde_json::json!({"crate": krate, "version": "*", "path": path});
    for key in crate::document::operation_keys(doc) {
        let Some(op) = crate::document::operation_mut(doc, &key) else {
            continue;
        };
        for p in op
            .get_mut("parameters")
            .and_then(serde_json::Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let plain = p["in"] == "query"
                && p["schema"].as_object().is_some_and(|s| {
                    s.get("type").is_some_and(|t| t == "array")
                        && s.get("items") == Some(&serde_json::json!({"type": "string"}))
                });
            if plain {
                p["schema"]["x-rust-type"] = marker.clone();
            }
        }
    }
    Ok(krate)
}

fn crate_of(path: &str, what: &str) -> Result<String, Refusal> {
    path.split_once("::")
        .map(|(k, _)| k.to_string())
        .ok_or_else(|| Refusal::new("", format!("{what} `{path}` must be `crate::path`")))
}

/// Points every tolerant response enum at its type in `module` (typify's
/// `x-rust-type`). Returns the crate name.
fn annotate_response_enums(
    doc: &mut serde_json::Value,
    n: &Normalized,
    module: &str,
) -> Result<String, Refusal> {
    let krate = crate_of(module, "enums module")?;
    for e in &n.response_enums {
        let node = doc
            .pointer_mut(&e.pointer)
            .ok_or_else(|| Refusal::new(&e.pointer, "response enum vanished before generation"))?;
        node["x-rust-type"] = serde_json::json!({
            "crate": krate, "version": "*", "path": format!("{module}::{}", e.type_name)
        });
    }
    Ok(krate)
}

/// The tolerant response enums, as a module named after the last segment
/// of `module`.
fn response_enum_types(n: &Normalized, module: &str) -> TokenStream {
    let module = format_ident!("{}", module.rsplit("::").next().unwrap_or(module));
    let types = n.response_enums.iter().map(|e| {
        let name = format_ident!("{}", e.type_name);
        let listed: Vec<String> = e.variants.iter().map(|v| format!("`{}`", v.value)).collect();
        let doc = format!(
            "{}\n\nValues the API description lists: {}. Any other value the service sends decodes as `Unknown`, keeping its text, so a new value never fails a page.",
            e.description.as_deref().unwrap_or("A value of a response."),
            listed.join(", ")
        );
        let idents: Vec<_> = e.variants.iter().map(|v| format_ident!("{}", v.name)).collect();
        let values: Vec<&str> = e.variants.iter().map(|v| v.value.as_str()).collect();
        let variant_docs = e.variants.iter().map(|v| {
            if v.aliases.is_empty() {
                format!("`{}`", v.value)
            } else {
                format!("`{}` (also sent as {})", v.value, v.aliases.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", "))
            }
        });
        let patterns = e.variants.iter().map(|v| {
            let all = std::iter::once(v.value.as_str()).chain(v.aliases.iter().map(String::as_str));
            quote! { #(#all)|* }
        });
        let unknown = format_ident!("{}", crate::passes::response_enums::UNKNOWN);
        quote! {
            #[doc = #doc]
            #[derive(Clone, Debug, PartialEq, Eq, Hash)]
            pub enum #name {
                #( #[doc = #variant_docs] #idents, )*
                /// A value the API description does not list, as the service sent it.
                #unknown(::std::string::String),
            }
            impl #name {
                /// The value as it travels on the wire.
                pub fn as_str(&self) -> &str {
                    match self {
                        #( Self::#idents => #values, )*
                        Self::#unknown(value) => value.as_str(),
                    }
                }
            }
            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(self.as_str())
                }
            }
            impl ::std::str::FromStr for #name {
                type Err = ::std::convert::Infallible;
                fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                    Ok(match value {
                        #( #patterns => Self::#idents, )*
                        other => Self::#unknown(other.to_string()),
                    })
                }
            }
            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                    serializer.serialize_str(self.as_str())
                }
            }
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                    match value.parse::<Self>() {
                        Ok(parsed) => Ok(parsed),
                        Err(never) => match never {},
                    }
                }
            }
        }
    });
    quote! {
        /// Enums of responses that accept values the API description does
        /// not list: each keeps such a value in its `Unknown` variant.
        pub mod #module {
            #(#types)*
        }
    }
}

/// `.all()` on the builder of every bulk operation.
fn all_methods(n: &Normalized) -> TokenStream {
    let mut out = TokenStream::new();
    for b in &n.bulk {
        let builder = format_ident!("{}", crate::idents::pascal(&b.method));
        let filters = b
            .filters
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let count = b.all_count;
        let doc = format!(
            "Acts on everything, on purpose: without a filter ({filters}) this operation acts on every item, and the client sends it that way only after this call. On the wire it carries `count` ({count} unless set: what this operation takes per call), as the JS SDK's `{{ all: true }}` does. Combines with every other setter and terminal, in any order."
        );
        out.extend(quote! {
            impl<'a> builder::#builder<'a> {
                #[doc = #doc]
                pub fn all(mut self) -> Self {
                    self.request_state.everything = true;
                    self
                }
            }
        });
    }
    out
}

/// The facts of every operation, as the constant `OPERATION` of its
/// builder, and the list of them all.
fn operation_facts(n: &Normalized, module: &str) -> Result<(TokenStream, TokenStream), Refusal> {
    let module = path_tokens(module, "operation module")?;
    let mut consts = TokenStream::new();
    let mut list = Vec::new();
    for (key, name) in &n.operations {
        let builder = format_ident!("{}", crate::idents::pascal(name));
        let method = key.method.to_uppercase();
        let path = &key.path;
        let repeat = if n.creates_messages.contains(name) {
            quote!(IfDeduplicated)
        } else if matches!(method.as_str(), "GET" | "HEAD" | "PUT" | "DELETE")
            || n.idempotent.contains(name)
        {
            quote!(Always)
        } else {
            quote!(Never)
        };
        let (bulk, all_count) = match n.bulk.iter().find(|b| &b.method == name) {
            Some(b) => {
                let filters = &b.filters;
                let count = b.all_count;
                (
                    quote!(::std::option::Option::Some(&[#(#filters),*])),
                    quote!(#count),
                )
            }
            None => (quote!(::std::option::Option::None), quote!(0)),
        };
        let success_redirects = success_redirects(&n.document, key);
        consts.extend(quote! {
            impl<'a> builder::#builder<'a> {
                /// What the API description and the names table say of this
                /// operation beyond its parameters.
                pub(crate) const OPERATION: #module::Operation = #module::Operation {
                    name: #name,
                    method: #method,
                    path: #path,
                    repeat: #module::Repeat::#repeat,
                    bulk_filters: #bulk,
                    all_count: #all_count,
                    success_redirects: &[#(#success_redirects),*],
                };
            }
        });
        list.push(quote!(super::builder::#builder::OPERATION));
    }
    let list = quote! {
        /// Every operation, in document order.
        pub const OPERATIONS: &[#module::Operation] = &[#(#list),*];
    };
    Ok((consts, list))
}

/// The builders of the operations whose request body is not required.
fn optional_bodies(n: &Normalized) -> Vec<String> {
    n.operations
        .iter()
        .filter(|(key, _)| {
            crate::document::operation(&n.document, key)
                .and_then(|op| op.get("requestBody"))
                .and_then(|body| crate::document::resolve(&n.document, body, "").ok())
                .is_some_and(|(body, _)| {
                    body.get("required") != Some(&serde_json::Value::Bool(true))
                })
        })
        .map(|(_, name)| crate::idents::pascal(name))
        .collect()
}

/// The 3xx statuses documented for an operation that documents no 2xx
/// (`2XX` included): the description's word for its success. Empty when it
/// documents a 2xx, or no 3xx.
pub(crate) fn success_redirects(
    doc: &serde_json::Value,
    key: &crate::document::OperationKey,
) -> Vec<u16> {
    let Some(responses) = crate::document::operation(doc, key)
        .and_then(|op| op.get("responses"))
        .and_then(serde_json::Value::as_object)
    else {
        return Vec::new();
    };
    if responses.keys().any(|k| k.starts_with('2')) {
        return Vec::new();
    }
    responses
        .keys()
        .filter_map(|k| k.parse::<u16>().ok())
        .filter(|s| (300..=399).contains(s))
        .collect()
}

/// Code generated for the hand-written layer: what the spec says about
/// wildcard headers, operations and pagination.
fn extras(n: &Normalized, settings: &Settings) -> Result<TokenStream, Refusal> {
    let (operation_consts, operations) = match &settings.operation_module {
        Some(module) => operation_facts(n, module)?,
        None => {
            let ops = n.operations.iter().map(|(k, name)| {
                let method = k.method.to_uppercase();
                let path = &k.path;
                quote! { (#method, #path, #name) }
            });
            let list = quote! {
                /// Every operation: HTTP method, path template, Rust method name.
                pub const OPERATIONS: &[(&str, &str, &str)] = &[#(#ops),*];
            };
            (quote! {}, list)
        }
    };
    let wild = n.wildcard_headers.iter().map(|w| {
        let name = n
            .operations
            .iter()
            .find(|(k, _)| *k == w.operation)
            .map(|(_, name)| name.clone())
            .unwrap_or_default();
        let prefix = &w.prefix;
        quote! { (#name, #prefix) }
    });
    let unsupported = n.unsupported_pagination.iter().map(|u| {
        let label = u.operation.label();
        let reason = &u.reason;
        quote! { (#label, #reason) }
    });
    let paginated_names = n.paginated.iter().map(|p| &p.method);
    let error = match &settings.error_type {
        Some(e) => path_tokens(e, "error type")?,
        None => quote! { Error<types::Error> },
    };

    let pagination_impls = match &settings.pagination_module {
        None => quote! {},
        Some(module) => {
            let module = path_tokens(module, "pagination module")?;
            // A page type two operations share gets its impls once.
            let mut pages_seen = std::collections::BTreeSet::new();
            let impls = n.paginated.iter().map(|p| {
                let builder = format_ident!("{}", crate::idents::pascal(&p.method));
                let page = format_ident!("{}", p.page_type);
                let first_of_page = pages_seen.insert(p.page_type.clone());
                let cursor = if p.cursor_required {
                    quote! { Some(self.cursor.as_str()).filter(|c| !c.is_empty()) }
                } else {
                    quote! { self.cursor.as_deref().filter(|c| !c.is_empty()) }
                };
                let items = p.items.as_ref().map(|(field, item)| {
                    let field = format_ident!("{}", field);
                    let item = format_ident!("{}", item);
                    quote! {
                        impl #module::Items for types::#page {
                            type Item = types::#item;
                            fn into_items(self) -> ::std::vec::Vec<Self::Item> {
                                self.#field
                            }
                        }
                    }
                });
                let op_name = &p.method;
                let page_impls = first_of_page.then(|| {
                    quote! {
                        impl #module::Sealed for types::#page {}
                        impl #module::Page for types::#page {
                            fn next_cursor(&self) -> ::std::option::Option<&str> {
                                #cursor
                            }
                        }
                        #items
                    }
                });
                let stream_methods = p.items.as_ref().map(|_| {
                    quote! {
                        /// Every item of every page, following `cursor` until the server
                        /// returns none. Holds one page in memory at a time.
                        pub fn stream(self) -> #module::ItemStream<Self> {
                            #module::Pages::new(self).items()
                        }
                        /// Every item of every page, collected.
                        pub async fn collect_all(self) -> ::std::result::Result<
                            ::std::vec::Vec<<types::#page as #module::Items>::Item>,
                            #error,
                        > {
                            #module::Pages::new(self).collect_items().await
                        }
                    }
                });
                quote! {
                    impl<'a> builder::#builder<'a> {
                        /// Every page, following `cursor` with the same filters until the
                        /// server returns none; see [`Pages`](#module::Pages).
                        pub fn pages(self) -> #module::Pages<Self> {
                            #module::Pages::new(self)
                        }
                        #stream_methods
                    }
                    impl<'a> #module::Sealed for builder::#builder<'a> {}
                    impl<'a> #module::CursorRequest for builder::#builder<'a> {
                        const OPERATION: &'static str = #op_name;
                        type Page = types::#page;
                        type Future = ::std::pin::Pin<::std::boxed::Box<
                            dyn ::std::future::Future<
                                Output = ::std::result::Result<ResponseValue<Self::Page>, #error>,
                            > + Send + 'a,
                        >>;
                        fn with_cursor(self, cursor: &str) -> Self {
                            self.cursor(cursor)
                        }
                        fn send_page(self) -> Self::Future {
                            ::std::boxed::Box::pin(self.send())
                        }
                    }
                    #page_impls
                }
            });
            quote! { #(#impls)* }
        }
    };

    let all_methods = match &settings.transport_module {
        Some(_) => all_methods(n),
        None => quote! {},
    };
    let enum_types = match &settings.enums_module {
        Some(module) => response_enum_types(n, module),
        None => quote! {},
    };

    Ok(quote! {
        #pagination_impls
        #operation_consts
        #all_methods
        #enum_types

        /// What the API description says that the generated code cannot
        /// express: the hand-written layer reads it (guards, retries,
        /// options), and the tests check the client against it.
        pub mod spec_facts {
            #operations
            /// Wildcard header families taken out of generation:
            /// Rust method name, header name prefix.
            pub const WILDCARD_HEADERS: &[(&str, &str)] = &[#(#wild),*];
            /// Methods of cursor-paginated operations.
            pub const PAGINATED: &[&str] = &[#(#paginated_names),*];
            /// Cursor-paginated operations whose pages cannot be followed,
            /// with the reason.
            pub const UNSUPPORTED_PAGINATION: &[(&str, &str)] = &[#(#unsupported),*];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::OperationKey;
    use serde_json::json;

    fn key(path: &str) -> OperationKey {
        OperationKey {
            method: "delete".into(),
            path: path.into(),
        }
    }

    #[test]
    fn a_documented_3xx_is_the_success_only_without_a_2xx() {
        let doc = json!({"paths": {
            "/only-302": {"delete": {"responses": {"302": {}, "400": {}, "404": {}}}},
            "/both": {"delete": {"responses": {"200": {}, "302": {}}}},
            "/range": {"delete": {"responses": {"2XX": {}, "301": {}}}},
            "/none": {"delete": {"responses": {"404": {}}}},
        }});
        assert_eq!(success_redirects(&doc, &key("/only-302")), [302]);
        assert!(success_redirects(&doc, &key("/both")).is_empty());
        assert!(success_redirects(&doc, &key("/range")).is_empty());
        assert!(success_redirects(&doc, &key("/none")).is_empty());
        assert!(success_redirects(&doc, &key("/missing")).is_empty());
    }
}
