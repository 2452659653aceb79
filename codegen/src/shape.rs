//! The generated API shaped for the hand-written layer, on the syntax
//! tree, after generation:
//!
//! - every request builder's `send` returns the layer's one error type
//!   (progenitor's own `send` stays, private, as `send_generated`);
//! - constructors nobody outside the crate can use are not public: the
//!   client's (the layer builds it with its settings) and each request
//!   builder's (`client.operation()` makes them); progenitor's `Client::new`,
//!   which would build an HTTP client with a panic on failure, is removed;
//! - a request's URL is made by the layer's `urls::endpoint` from the
//!   operation's path, instead of parsing the base URL and the path again,
//!   host included, on every request (`format!("{}/v2/...", client.baseurl,
//!   ...)` becomes `endpoint(client, &format!("/v2/...", ...))`);
//! - progenitor's `api-version` header (the document's `info.version`,
//!   which QStash does not read) is not sent;
//! - of typify's struct builders (`types::builder`), only those a request
//!   builder takes (`body_map`) are kept: the others, for response types,
//!   were two fifths of the generated code, compiled by every user;
//! - every request builder setter has a doc: its parameter's description,
//!   which progenitor writes only in the `Client` method's doc.

use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::visit::Visit;

use crate::report::Refusal;

/// The layer's items the shaped code calls.
pub(crate) struct Layer {
    /// The error type (`crate::Error`), which converts from progenitor's
    /// error with `From`.
    pub error: TokenStream,
    /// The module with `endpoint(&Client, &str) -> reqwest::Url` (a
    /// request's URL from the client's base URL and the operation's path,
    /// percent-encoded, from `/`) and `encode_path(&str) -> impl Display`
    /// (progenitor's encoding of a path parameter). Without it the generated
    /// URL stays.
    pub urls: Option<TokenStream>,
}

/// Applies the shape.
pub(crate) fn apply(file: &mut syn::File, layer: &Layer) -> Result<(), Refusal> {
    prune_type_builders(file);
    document_setters(file);
    for item in &mut file.items {
        match item {
            syn::Item::Impl(imp) if imp.trait_.is_none() && is_type(&imp.self_ty, "Client") => {
                imp.items.retain(|it| !is_fn(it, "new"));
                for it in &mut imp.items {
                    if let syn::ImplItem::Fn(f) = it
                        && f.sig.ident == "new_with_client"
                    {
                        f.vis = syn::parse_quote!(pub(crate));
                    }
                }
            }
            _ => {}
        }
    }
    for item in request_builders(file).into_iter().flatten() {
        if let syn::Item::Impl(imp) = item
            && imp.trait_.is_none()
        {
            shape_builder(imp, layer)?;
        }
    }
    Ok(())
}

/// The items of the generated `builder` module: the request builders and
/// their impls.
pub(crate) fn request_builders(file: &mut syn::File) -> Option<&mut Vec<syn::Item>> {
    file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// Removes the struct builders of `types::builder` that nothing outside
/// that module names as `types::builder::X`, with each type's
/// `X::builder()`.
fn prune_type_builders(file: &mut syn::File) {
    let Some(types) = file.items.iter().position(
        |item| matches!(item, syn::Item::Mod(m) if m.ident == "types" && m.content.is_some()),
    ) else {
        return;
    };
    // Every `types::builder::X` named outside `types::builder`.
    let mut named = TypeBuilderPaths::default();
    for (i, item) in file.items.iter().enumerate() {
        if i != types {
            named.visit_item(item);
            continue;
        }
        let syn::Item::Mod(m) = item else { continue };
        for inner in m.content.iter().flat_map(|(_, items)| items) {
            let is_builders = matches!(inner, syn::Item::Mod(b) if b.ident == "builder");
            if !is_builders {
                named.visit_item(inner);
            }
        }
    }
    let named = named.0;
    let used = |name: &syn::Ident| named.contains(name);
    let syn::Item::Mod(m) = &mut file.items[types] else {
        return;
    };
    let Some((_, items)) = &mut m.content else {
        return;
    };
    for item in items.iter_mut() {
        match item {
            syn::Item::Mod(b) if b.ident == "builder" => {
                if let Some((_, builders)) = &mut b.content {
                    builders.retain(|it| subject(it).is_none_or(|name| used(&name)));
                }
            }
            // `impl X { pub fn builder() -> builder::X }`
            syn::Item::Impl(imp)
                if imp.trait_.is_none() && type_name(&imp.self_ty).is_some_and(|n| !used(&n)) =>
            {
                imp.items.retain(|it| !is_fn(it, "builder"));
            }
            _ => {}
        }
    }
    items.retain(
        |it| !matches!(it, syn::Item::Impl(imp) if imp.items.is_empty() && imp.trait_.is_none()),
    );
}

/// Gives every request builder's setter a doc: the description of its
/// parameter that progenitor put only in the `Client` method's doc (its
/// `Arguments:` list), or a line naming the parameter. A builder belongs to
/// the `Client` method whose body calls `builder::X::new(self)`.
fn document_setters(file: &mut syn::File) {
    let mut method_docs: HashMap<syn::Ident, String> = HashMap::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() || !is_type(&imp.self_ty, "Client") {
            continue;
        }
        for it in &imp.items {
            if let syn::ImplItem::Fn(f) = it
                && let Some(builder) = builder_made(&f.block)
            {
                method_docs.insert(builder, doc_text(&f.attrs));
            }
        }
    }
    if let Some(items) = request_builders(file) {
        // Each builder's parameters, in progenitor's order: its fields but
        // the client.
        let params: HashMap<syn::Ident, Vec<String>> = items
            .iter()
            .filter_map(|it| match it {
                syn::Item::Struct(s) => Some((
                    s.ident.clone(),
                    s.fields
                        .iter()
                        .filter_map(|f| f.ident.as_ref())
                        .filter(|f| *f != "client")
                        .map(ToString::to_string)
                        .collect(),
                )),
                _ => None,
            })
            .collect();
        for it in items.iter_mut() {
            let syn::Item::Impl(imp) = it else { continue };
            if imp.trait_.is_some() {
                continue;
            }
            let Some(name) = type_name(&imp.self_ty) else {
                continue;
            };
            let Some(params) = params.get(&name) else {
                continue;
            };
            let described = method_docs
                .get(&name)
                .map(|doc| arguments(doc, params))
                .unwrap_or_default();
            for f in imp.items.iter_mut() {
                let syn::ImplItem::Fn(f) = f else { continue };
                if !is_setter(&f.sig) || f.attrs.iter().any(|a| a.path().is_ident("doc")) {
                    continue;
                }
                let setter = f.sig.ident.to_string();
                let doc = match described.get(&setter) {
                    Some(description) => description.clone(),
                    None => match setter.strip_suffix("_map") {
                        Some(param) if params.iter().any(|p| p == param) => {
                            format!("Changes the `{param}` parameter by a function of its builder.")
                        }
                        _ => format!("Sets the `{setter}` parameter."),
                    },
                };
                f.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
            }
        }
    }
}

/// `X` of the call `builder::X::new(self)` in a `Client` method's body.
fn builder_made(block: &syn::Block) -> Option<syn::Ident> {
    struct NewBuilder(Option<syn::Ident>);
    impl<'ast> Visit<'ast> for NewBuilder {
        fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
            if let syn::Expr::Path(p) = call.func.as_ref()
                && p.qself.is_none()
                && let [module, builder, new] = p.path.segments.iter().collect::<Vec<_>>()[..]
                && module.ident == "builder"
                && new.ident == "new"
                && call.args.len() == 1
                && matches!(&call.args[0], syn::Expr::Path(s) if s.path.is_ident("self"))
            {
                self.0 = Some(builder.ident.clone());
            }
            syn::visit::visit_expr_call(self, call);
        }
    }
    let mut found = NewBuilder(None);
    found.visit_block(block);
    found.0
}

/// The text of an item's doc attributes, one line each.
fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s),
                        ..
                    }),
                ..
            }) => Some(s.value()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The descriptions of progenitor's `Arguments:` list in a method's doc:
/// `- \`name\`: description` for each parameter, in the order of `params`
/// (a parameter without one is listed as `- \`name\``), up to the example
/// (` ```ignore `). Keyed by parameter.
fn arguments(doc: &str, params: &[String]) -> HashMap<String, String> {
    const HEADING: &str = "Arguments:\n";
    let start = if doc.starts_with(HEADING) {
        Some(0)
    } else {
        doc.find("\nArguments:\n").map(|i| i + 1)
    };
    let Some(start) = start else {
        return HashMap::new();
    };
    let section = &doc[start + HEADING.len()..];
    let section = section
        .rfind("```ignore")
        .map_or(section, |end| &section[..end]);
    // Where each listed parameter's entry starts, and its text.
    let mut entries: Vec<(&str, usize, usize)> = Vec::new();
    let mut from = 0;
    for param in params {
        let marker = format!("- `{param}`");
        let found = section[from..].match_indices(&marker).find_map(|(i, _)| {
            let at = from + i;
            let after = &section[at + marker.len()..];
            let line_start = at == 0 || section[..at].ends_with('\n');
            (line_start && (after.is_empty() || after.starts_with(": ") || after.starts_with('\n')))
                .then_some(at)
        });
        if let Some(at) = found {
            entries.push((param, at, at + marker.len()));
            from = at + marker.len();
        }
    }
    let mut out = HashMap::new();
    for (k, (param, _, text)) in entries.iter().enumerate() {
        let end = entries.get(k + 1).map_or(section.len(), |next| next.1);
        let Some(description) = section[*text..end].strip_prefix(": ") else {
            continue;
        };
        let description = description.trim();
        if !description.is_empty() {
            out.insert((*param).to_string(), description.to_string());
        }
    }
    out
}

/// `pub fn x(mut self, ...) -> Self`: a request builder's setter.
fn is_setter(sig: &syn::Signature) -> bool {
    let by_value = sig.receiver().is_some_and(|r| r.reference.is_none());
    let returns_self = matches!(&sig.output, syn::ReturnType::Type(_, ty)
        if matches!(ty.as_ref(), syn::Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self")));
    by_value && returns_self
}

/// The `X` of every path with the segments `types::builder::X` (with any
/// prefix: `super::types::builder::X` too).
#[derive(Default)]
struct TypeBuilderPaths(std::collections::HashSet<syn::Ident>);

impl<'ast> Visit<'ast> for TypeBuilderPaths {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        let segments: Vec<&syn::PathSegment> = path.segments.iter().collect();
        for window in segments.windows(3) {
            if window[0].ident == "types" && window[1].ident == "builder" {
                self.0.insert(window[2].ident.clone());
            }
        }
        syn::visit::visit_path(self, path);
    }
}

/// The type a builder item is about: the struct's name, or the last segment
/// of an impl's type (`impl TryFrom<X> for super::X`, `impl Default for X`).
fn subject(item: &syn::Item) -> Option<syn::Ident> {
    match item {
        syn::Item::Struct(s) => Some(s.ident.clone()),
        syn::Item::Impl(imp) => type_name(&imp.self_ty),
        _ => None,
    }
}

fn type_name(ty: &syn::Type) -> Option<syn::Ident> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.clone()),
        _ => None,
    }
}

fn is_type(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

fn is_fn(item: &syn::ImplItem, name: &str) -> bool {
    matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == name)
}

fn shape_builder(imp: &mut syn::ItemImpl, layer: &Layer) -> Result<(), Refusal> {
    let error = &layer.error;
    let mut wrappers = Vec::new();
    let self_ty = imp.self_ty.clone();
    for it in &mut imp.items {
        let syn::ImplItem::Fn(f) = it else { continue };
        if f.sig.ident == "new" {
            f.vis = syn::parse_quote!(pub(crate));
        }
        if f.sig.ident != "send" || f.sig.asyncness.is_none() {
            continue;
        }
        let ok = success_type(&f.sig.output).ok_or_else(|| {
            Refusal::new(
                "",
                format!(
                    "generated `send` of `{}` does not return a `Result`",
                    quote!(#self_ty)
                ),
            )
        })?;
        shape_request(&mut f.block, layer.urls.as_ref()).map_err(|what| {
            Refusal::new(
                "",
                format!("generated `send` of `{}` {what}", quote!(#self_ty)),
            )
        })?;
        let docs: Vec<&syn::Attribute> = f
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .collect();
        wrappers.push(syn::parse_quote! {
            #(#docs)*
            pub async fn send(self) -> ::std::result::Result<#ok, #error> {
                self.send_generated().await.map_err(<#error>::from)
            }
        });
        f.sig.ident = syn::parse_quote!(send_generated);
        f.vis = syn::Visibility::Inherited;
        f.attrs.retain(|a| !a.path().is_ident("doc"));
    }
    imp.items
        .extend(wrappers.into_iter().map(syn::ImplItem::Fn));
    Ok(())
}

/// Rewrites the body of a generated `send`: its URL comes from `endpoint`,
/// and the `api-version` header goes (with the header map, if nothing else
/// is in it). What the generator wrote otherwise is refused, naming what.
fn shape_request(block: &mut syn::Block, urls: Option<&TokenStream>) -> Result<(), &'static str> {
    let mut made = 0;
    for stmt in &mut block.stmts {
        let Some(urls) = urls else { break };
        // `let url = format!(...)`, or `_url` when a query parameter is
        // called `url`.
        if let syn::Stmt::Local(local) = stmt
            && let Some(init) = &mut local.init
            && let syn::Expr::Macro(m) = init.expr.as_ref()
            && reads_baseurl(&m.mac)
        {
            let path = relative_path(&m.mac, urls)?;
            *init.expr = syn::parse_quote!(#urls::endpoint(client, #path));
            made += 1;
        }
    }
    if urls.is_some() && made != 1 {
        return Err("does not make its URL once with `format!(\"{}/...\", client.baseurl, ...)`");
    }
    let before = block.stmts.len();
    block.stmts.retain(|stmt| !is_api_version(stmt));
    if block.stmts.len() == before {
        return Ok(());
    }
    // The map is used if a statement other than its declaration and the
    // request's (`.headers(header_map)`) names it: the header parameters.
    let map_used = block.stmts.iter().any(|stmt| {
        let syn::Stmt::Local(local) = stmt else {
            return mentions_header_map(stmt);
        };
        let declares = matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "header_map");
        let request = matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "request");
        !declares && !request && mentions_header_map(stmt)
    });
    if !map_used {
        block.stmts.retain(|stmt| {
            !matches!(stmt, syn::Stmt::Local(l)
                if matches!(&l.pat, syn::Pat::Ident(p) if p.ident == "header_map"))
        });
        for stmt in &mut block.stmts {
            if let syn::Stmt::Local(local) = stmt
                && let Some(init) = &mut local.init
            {
                drop_headers_call(&mut init.expr);
            }
        }
        if block.stmts.iter().any(mentions_header_map) {
            return Err("uses its header map in a way the shape does not know");
        }
    }
    Ok(())
}

/// `format!("{}/v2/x/{}", client.baseurl, encode_path(a))` →
/// `&format!("/v2/x/{}", urls::encode_path(a))`, or the bare literal when
/// no argument is left.
fn relative_path(mac: &syn::Macro, urls: &TokenStream) -> Result<syn::Expr, &'static str> {
    const SHAPE: &str = "does not make its URL as `format!(\"{}/...\", client.baseurl, ...)`";
    if !mac.path.is_ident("format") {
        return Err(SHAPE);
    }
    let args = mac
        .parse_body_with(syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        .map_err(|_| SHAPE)?;
    let mut args = args.into_iter();
    let (Some(syn::Expr::Lit(lit)), Some(base)) = (args.next(), args.next()) else {
        return Err(SHAPE);
    };
    let syn::Lit::Str(template) = &lit.lit else {
        return Err(SHAPE);
    };
    let is_base = matches!(&base, syn::Expr::Field(f)
        if matches!(&f.member, syn::Member::Named(m) if m == "baseurl"));
    let template = template.value();
    let Some(path) = template.strip_prefix("{}").filter(|p| p.starts_with('/')) else {
        return Err(SHAPE);
    };
    if !is_base {
        return Err(SHAPE);
    }
    let mut rest: Vec<syn::Expr> = args.collect();
    for arg in &mut rest {
        if let syn::Expr::Call(call) = arg
            && matches!(call.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("encode_path"))
        {
            *call.func = syn::parse_quote!(#urls::encode_path);
        }
    }
    Ok(if rest.is_empty() {
        syn::parse_quote!(#path)
    } else {
        syn::parse_quote!(&format!(#path, #(#rest),*))
    })
}

/// Whether a macro's arguments (read as expressions, `format!`'s are)
/// access a field `baseurl` (`client.baseurl`).
fn reads_baseurl(mac: &syn::Macro) -> bool {
    struct Baseurl(bool);
    impl<'ast> Visit<'ast> for Baseurl {
        fn visit_expr_field(&mut self, field: &'ast syn::ExprField) {
            self.0 |= matches!(&field.member, syn::Member::Named(m) if m == "baseurl");
            syn::visit::visit_expr_field(self, field);
        }
    }
    let Ok(args) = mac.parse_body_with(
        syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated,
    ) else {
        return false;
    };
    let mut found = Baseurl(false);
    args.iter().for_each(|arg| found.visit_expr(arg));
    found.0
}

/// Whether a statement uses the variable `header_map` in an expression
/// (`header_map.append(..)`, `.headers(header_map)`). Macro arguments are
/// not parsed: any identifier `header_map` among their tokens counts.
fn mentions_header_map(stmt: &syn::Stmt) -> bool {
    struct HeaderMap(bool);
    impl<'ast> Visit<'ast> for HeaderMap {
        fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
            self.0 |= path.qself.is_none() && path.path.is_ident("header_map");
            syn::visit::visit_expr_path(self, path);
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.0 |= names_ident(mac.tokens.clone(), "header_map");
            syn::visit::visit_macro(self, mac);
        }
    }
    let mut found = HeaderMap(false);
    found.visit_stmt(stmt);
    found.0
}

/// Whether `tokens` hold the identifier `name`, at any depth.
fn names_ident(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => names_ident(group.stream(), name),
        TokenTree::Punct(_) | TokenTree::Literal(_) => false,
    })
}

/// `header_map.append(HeaderName::from_static("api-version"), ...);` (or
/// with the bare literal as the name).
fn is_api_version(stmt: &syn::Stmt) -> bool {
    let syn::Stmt::Expr(syn::Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    call.method == "append" && call.args.first().is_some_and(is_api_version_name)
}

/// `"api-version"`, or `HeaderName::from_static("api-version")`.
fn is_api_version_name(name: &syn::Expr) -> bool {
    match name {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => s.value() == "api-version",
        syn::Expr::Call(call) => {
            let from_static = matches!(call.func.as_ref(), syn::Expr::Path(p)
                if p.qself.is_none() && p.path.segments.len() >= 2
                    && p.path.segments[p.path.segments.len() - 1].ident == "from_static"
                    && p.path.segments[p.path.segments.len() - 2].ident == "HeaderName");
            from_static
                && call.args.len() == 1
                && matches!(&call.args[0], syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. })
                    if s.value() == "api-version")
        }
        _ => false,
    }
}

/// Removes `.headers(header_map)` from a chain of method calls.
fn drop_headers_call(expr: &mut syn::Expr) {
    let mut current = expr;
    loop {
        match current {
            syn::Expr::Try(t) => current = t.expr.as_mut(),
            syn::Expr::MethodCall(call)
                if call.method == "headers"
                    && call.args.len() == 1
                    && matches!(&call.args[0], syn::Expr::Path(p) if p.path.is_ident("header_map")) =>
            {
                let receiver = (*call.receiver).clone();
                *current = receiver;
            }
            syn::Expr::MethodCall(call) => current = call.receiver.as_mut(),
            _ => return,
        }
    }
}

/// `T` of `-> Result<T, E>`.
pub(crate) fn success_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let syn::Type::Path(p) = ty.as_ref() else {
        return None;
    };
    let last = p.path.segments.last()?;
    if last.ident != "Result" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_returns_the_layer_error_and_constructors_are_not_public() {
        let mut file: syn::File = syn::parse_quote! {
            impl Client {
                pub fn new(baseurl: &str) -> Self { todo!() }
                pub fn new_with_client(baseurl: &str, client: reqwest::Client) -> Self { todo!() }
            }
            pub mod builder {
                impl<'a> GetQueue<'a> {
                    pub fn new(client: &'a super::Client) -> Self { todo!() }
                    /// Sends a `GET` request.
                    pub async fn send(self) -> Result<ResponseValue<types::Queue>, Error<types::Error>> { todo!() }
                }
            }
        };
        let layer = Layer {
            error: quote!(crate::Error),
            urls: None,
        };
        apply(&mut file, &layer).unwrap();
        let code = prettyplease::unparse(&file);
        assert!(!code.contains("pub fn new(baseurl"), "{code}");
        assert!(code.contains("pub(crate) fn new_with_client("), "{code}");
        assert!(code.contains("pub(crate) fn new(client"), "{code}");
        let compact: String = code.split_whitespace().collect();
        assert!(compact.contains("asyncfnsend_generated(self,)"), "{code}");
        assert!(!compact.contains("pubasyncfnsend_generated"), "{code}");
        assert!(
            compact.contains(
                "pubasyncfnsend(self,)->::std::result::Result<ResponseValue<types::Queue>,crate::Error>"
            ),
            "{code}"
        );
        assert!(
            compact.contains("///Sendsa`GET`request.pubasyncfnsend"),
            "{code}"
        );
    }

    fn shaped(body: syn::Block) -> Result<String, Refusal> {
        let mut file: syn::File = syn::parse_quote! {
            pub mod builder {
                impl<'a> ListThings<'a> {
                    pub async fn send(self) -> Result<ResponseValue<types::Things>, Error<()>> #body
                }
            }
        };
        let layer = Layer {
            error: quote!(crate::Error),
            urls: Some(quote!(crate::urls)),
        };
        apply(&mut file, &layer)?;
        Ok(prettyplease::unparse(&file).split_whitespace().collect())
    }

    #[test]
    fn urls_come_from_the_layer_and_api_version_is_not_sent() {
        // As progenitor writes it: a path parameter, a query parameter
        // called `url` (so the URL is `_url`), no header parameter.
        let code = shaped(syn::parse_quote!({
            let Self { client, name, url } = self;
            let url = url.map_err(Error::InvalidRequest)?;
            let _url = format!(
                "{}/v2/things/{}",
                client.baseurl,
                encode_path(&name.to_string()),
            );
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
            header_map.append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
            );
            let mut request = client
                .client
                .get(_url)
                .header(ACCEPT, json())
                .headers(header_map)
                .query(&url)
                .build()?;
            todo!()
        }))
        .unwrap();
        assert!(
            code.contains(
                r#"let_url=crate::urls::endpoint(client,&format!("/v2/things/{}",crate::urls::encode_path(&name.to_string())),);"#
            ),
            "{code}"
        );
        assert!(!code.contains("api-version"), "{code}");
        assert!(!code.contains("header_map"), "{code}");
        assert!(
            code.contains(".get(_url).header(ACCEPT,json()).query(&url).build()?"),
            "{code}"
        );
        // A path without parameters is passed as it is.
        let code = shaped(syn::parse_quote!({
            let url = format!("{}/v2/dlq", client.baseurl,);
            todo!()
        }))
        .unwrap();
        assert!(
            code.contains(r#"leturl=crate::urls::endpoint(client,"/v2/dlq");"#),
            "{code}"
        );
    }

    #[test]
    fn header_parameters_keep_the_header_map() {
        let code = shaped(syn::parse_quote!({
            let url = format!("{}/v2/things", client.baseurl,);
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
            header_map.append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
            );
            if let Some(v) = upstash_delay {
                header_map.append("Upstash-Delay", v.to_string().try_into()?);
            }
            let mut request = client.client.post(url).headers(header_map).build()?;
            todo!()
        }))
        .unwrap();
        assert!(!code.contains("api-version"), "{code}");
        assert!(
            code.contains(r#"header_map.append("Upstash-Delay""#),
            "{code}"
        );
        assert!(
            code.contains(".post(url).headers(header_map).build()?"),
            "{code}"
        );
    }

    #[test]
    fn a_url_made_another_way_is_refused_naming_the_operation() {
        for body in [
            syn::parse_quote!({
                let url = client.baseurl.clone();
                todo!()
            }),
            syn::parse_quote!({
                let url = format!("/v2/things{}", client.baseurl);
                todo!()
            }),
            syn::parse_quote!({
                let url = format!("{}{}", other.baseurl, "/v2");
                todo!()
            }),
        ] {
            let refusal = shaped(body).unwrap_err().to_string();
            assert!(refusal.contains("ListThings"), "{refusal}");
            assert!(refusal.contains("client.baseurl"), "{refusal}");
        }
    }

    #[test]
    fn only_the_type_builders_a_request_takes_are_kept() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Queue { pub name: String }
                impl Queue { pub fn builder() -> builder::Queue { Default::default() } }
                pub struct UpsertBody { pub name: String }
                impl UpsertBody { pub fn builder() -> builder::UpsertBody { Default::default() } }
                pub mod builder {
                    pub struct Queue { name: Result<String, String> }
                    impl Default for Queue { fn default() -> Self { todo!() } }
                    impl TryFrom<Queue> for super::Queue { type Error = (); fn try_from(v: Queue) -> Result<Self, ()> { todo!() } }
                    impl From<super::Queue> for Queue { fn from(v: super::Queue) -> Self { todo!() } }
                    pub struct UpsertBody { name: Result<String, String> }
                    impl Default for UpsertBody { fn default() -> Self { todo!() } }
                }
            }
            pub mod builder {
                pub struct Upsert<'a> { body: Result<types::builder::UpsertBody, String> }
            }
        };
        let layer = Layer {
            error: quote!(crate::Error),
            urls: None,
        };
        apply(&mut file, &layer).unwrap();
        let code: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(!code.contains("pubstructQueue{name:Result"), "{code}");
        assert!(!code.contains("forsuper::Queue"), "{code}");
        assert!(!code.contains("->builder::Queue"), "{code}");
        assert!(code.contains("pubstructQueue{pubname:String,}"), "{code}");
        assert!(code.contains("pubstructUpsertBody{name:Result"), "{code}");
        assert!(code.contains("implDefaultforUpsertBody"), "{code}");
        assert!(code.contains("->builder::UpsertBody"), "{code}");
    }

    #[test]
    fn type_builders_are_kept_for_paths_not_for_text() {
        let mut file: syn::File = syn::parse_quote! {
            pub mod types {
                pub struct Queue { pub name: String }
                pub struct UpsertBody { pub name: String }
                pub struct Note { pub name: String }
                pub mod builder {
                    pub struct Queue { name: Result<String, String> }
                    pub struct UpsertBody { name: Result<String, String> }
                    pub struct Note { name: Result<String, String> }
                }
            }
            pub mod builder {
                pub struct Upsert<'a> { body: Result<super::types::builder::UpsertBody, String> }
                pub struct Other { queue: my_types::builder::Queue }
                #[doc = "types :: builder :: Note is mentioned only here"]
                pub const NOTE: &str = "types :: builder :: Note is mentioned only here";
            }
        };
        let layer = Layer {
            error: quote!(crate::Error),
            urls: None,
        };
        apply(&mut file, &layer).unwrap();
        let code: String = prettyplease::unparse(&file).split_whitespace().collect();
        assert!(code.contains("pubstructUpsertBody{name:Result"), "{code}");
        assert!(!code.contains("pubstructQueue{name:Result"), "{code}");
        assert!(!code.contains("pubstructNote{name:Result"), "{code}");
    }

    fn with_api_version(rest: syn::Block) -> syn::Block {
        let mut block: syn::Block = syn::parse_quote!({
            let url = format!("{}/v2/things", client.baseurl,);
            let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
            header_map.append(
                ::reqwest::header::HeaderName::from_static("api-version"),
                ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
            );
        });
        block.stmts.extend(rest.stmts);
        block
    }

    #[test]
    fn the_header_map_is_kept_only_for_a_use_of_the_variable() {
        // Other names, a field and text that say `header_map` are not uses.
        let code = shaped(with_api_version(syn::parse_quote!({
            let n = my_header_map.len();
            let f = other.header_map;
            let s = "header_map";
            let mut request = client.client.post(url).headers(header_map).build()?;
            todo!()
        })))
        .unwrap();
        assert!(!code.contains("HeaderMap::with_capacity"), "{code}");
        assert!(code.contains(".post(url).build()?"), "{code}");
        assert!(code.contains("letn=my_header_map.len();"), "{code}");
        // The variable in an expression, or in a macro's tokens, is a use.
        for used in [
            syn::parse_quote!({
                let n = header_map.len();
            }),
            syn::parse_quote!({
                tracing::debug!("{:?}", header_map);
            }),
        ] {
            let mut body: syn::Block = used;
            let send: syn::Block = syn::parse_quote!({
                let mut request = client.client.post(url).headers(header_map).build()?;
                todo!()
            });
            body.stmts.extend(send.stmts);
            let code = shaped(with_api_version(body)).unwrap();
            assert!(code.contains("HeaderMap::with_capacity"), "{code}");
            assert!(code.contains(".headers(header_map)"), "{code}");
            assert!(!code.contains("api-version"), "{code}");
        }
    }

    #[test]
    fn only_an_api_version_header_name_is_dropped() {
        let code = shaped(with_api_version(syn::parse_quote!({
            header_map.append(
                ::reqwest::header::HeaderName::from_static("x-api-version"),
                ::reqwest::header::HeaderValue::from_static("api-version"),
            );
            header_map.append(name_of("api-version"), v);
            header_map.append(HeaderValue::from_static("api-version"), v);
            let mut request = client.client.post(url).headers(header_map).build()?;
            todo!()
        })))
        .unwrap();
        assert!(
            !code.contains(r#"HeaderName::from_static("api-version")"#),
            "{code}"
        );
        assert!(code.contains(r#"from_static("x-api-version")"#), "{code}");
        assert!(
            code.contains(r#"header_map.append(name_of("api-version"),v);"#),
            "{code}"
        );
        assert!(
            code.contains(r#"header_map.append(HeaderValue::from_static("api-version"),v);"#),
            "{code}"
        );
        // A bare literal name is the header too.
        let code = shaped(syn::parse_quote!({
            let url = format!("{}/v2/things", client.baseurl,);
            let mut header_map = HeaderMap::new();
            header_map.append("api-version", v);
            let mut request = client.client.post(url).headers(header_map).build()?;
            todo!()
        }))
        .unwrap();
        assert!(!code.contains("header_map"), "{code}");
    }

    #[test]
    fn the_url_is_the_format_that_reads_the_baseurl_field() {
        // `baseurl` as text, or another field, does not make a URL.
        let code = shaped(syn::parse_quote!({
            let note = format!("baseurl {}", client.base);
            let other = format!("{}", client.baseurl_v1);
            let url = format!("{}/v2/dlq", client.baseurl,);
            todo!()
        }))
        .unwrap();
        assert!(
            code.contains(r#"letnote=format!("baseurl{}",client.base);"#),
            "{code}"
        );
        assert!(
            code.contains(r#"letother=format!("{}",client.baseurl_v1);"#),
            "{code}"
        );
        assert!(
            code.contains(r#"leturl=crate::urls::endpoint(client,"/v2/dlq");"#),
            "{code}"
        );
        // Read deeper in an argument, it is still the URL, and refused.
        let refusal = shaped(syn::parse_quote!({
            let url = format!("{}/v2/dlq", client.baseurl.trim_end_matches('/'));
            todo!()
        }))
        .unwrap_err()
        .to_string();
        assert!(refusal.contains("does not make its URL as"), "{refusal}");
    }

    #[test]
    fn setters_get_the_descriptions_of_their_parameters() {
        let doc = "Create or update a schedule\n\nSends a `POST` request to `/v2/schedules/{destination}`\n\nArguments:\n- `destination`: Where each message goes.\n\n- A URL needs its scheme.\n- A URL Group yields one message per endpoint.\n\n- `content_type`\n- `upstash_cron`: Cron expression, e.g. `*/5 * * * *`.\nThe finest resolution is one minute.\n\n- `upstash_redact_fields`: What to hide:\n- `body` hides the body.\n- `body`\n```ignore\nlet response = client.create_schedule()\n    .destination(destination)\n    .send()\n    .await;\n```";
        let mut file: syn::File = syn::parse_quote! {
            impl Client {
                #[doc = #doc]
                pub fn schedule_it(&self) -> builder::CreateSchedule<'_> {
                    builder::CreateSchedule::new(self)
                }
                /// Arguments:
                /// - `name`: Not the schedule's.
                pub fn other(&self) -> builder::Other<'_> {
                    builder::Other::new(client)
                }
            }
            pub mod builder {
                pub struct CreateSchedule<'a> {
                    client: &'a super::Client,
                    destination: Result<String, String>,
                    content_type: Result<Option<String>, String>,
                    upstash_cron: Result<String, String>,
                    upstash_redact_fields: Result<Option<String>, String>,
                    body: Result<types::builder::Body, String>,
                }
                impl<'a> CreateSchedule<'a> {
                    pub fn new(client: &'a super::Client) -> Self { todo!() }
                    pub fn destination<V>(mut self, value: V) -> Self { todo!() }
                    pub fn content_type<V>(mut self, value: V) -> Self { todo!() }
                    pub fn upstash_cron<V>(mut self, value: V) -> Self { todo!() }
                    /// Already documented.
                    pub fn upstash_redact_fields<V>(mut self, value: V) -> Self { todo!() }
                    pub fn body<V>(mut self, value: V) -> Self { todo!() }
                    pub fn body_map<F>(mut self, f: F) -> Self { todo!() }
                    pub fn peek(&self) -> Self { todo!() }
                }
                pub struct Other<'a> { client: &'a super::Client, name: Result<String, String> }
                impl<'a> Other<'a> {
                    pub fn name<V>(mut self, value: V) -> Self { todo!() }
                }
            }
        };
        document_setters(&mut file);
        let docs = |ty: &str, setter: &str| {
            let code = prettyplease::unparse(&file);
            let file: syn::File = syn::parse_str(&code).unwrap();
            let syn::Item::Mod(m) = file
                .items
                .iter()
                .find(|i| matches!(i, syn::Item::Mod(_)))
                .unwrap()
            else {
                unreachable!()
            };
            for item in &m.content.as_ref().unwrap().1 {
                if let syn::Item::Impl(imp) = item
                    && type_name(&imp.self_ty).unwrap() == ty
                {
                    for it in &imp.items {
                        if let syn::ImplItem::Fn(f) = it
                            && f.sig.ident == setter
                        {
                            return doc_text(&f.attrs);
                        }
                    }
                }
            }
            panic!("no {ty}::{setter}")
        };
        assert_eq!(
            docs("CreateSchedule", "destination"),
            "Where each message goes.\n\n- A URL needs its scheme.\n- A URL Group yields one message per endpoint."
        );
        assert_eq!(
            docs("CreateSchedule", "upstash_cron"),
            "Cron expression, e.g. `*/5 * * * *`.\nThe finest resolution is one minute."
        );
        assert_eq!(
            docs("CreateSchedule", "content_type"),
            "Sets the `content_type` parameter."
        );
        assert_eq!(
            docs("CreateSchedule", "upstash_redact_fields"),
            " Already documented."
        );
        assert_eq!(docs("CreateSchedule", "body"), "Sets the `body` parameter.");
        assert_eq!(
            docs("CreateSchedule", "body_map"),
            "Changes the `body` parameter by a function of its builder."
        );
        assert_eq!(docs("CreateSchedule", "new"), "");
        assert_eq!(docs("CreateSchedule", "peek"), "");
        // `other` does not make its builder with `new(self)`: no description.
        assert_eq!(docs("Other", "name"), "Sets the `name` parameter.");
    }

    #[test]
    fn arguments_are_read_in_the_order_of_the_parameters() {
        let params = ["a".to_string(), "b".to_string()];
        // `b`'s marker inside `a`'s text, not at a line start or without
        // `: `, is text; an entry before the list's heading is not one.
        let doc = "- `a`: not this\nArguments:\n- `a`: first - `b`: still a\n- `b` is named\n- `b`: second\n```ignore\n- `b`: example\n```";
        let found = arguments(doc, &params);
        assert_eq!(found["a"], "first - `b`: still a\n- `b` is named");
        assert_eq!(found["b"], "second");
        assert!(arguments("no list\n- `a`: x", &params).is_empty());
    }
}
