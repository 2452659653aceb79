//! Every request builder sends through the hand-written layer, on the
//! syntax tree, after generation (and after [`shape`](crate::shape)):
//!
//! - the builder carries the layer's per-request state (`.options(...)`,
//!   `.all()`) as a field `request_state`, so that it travels with the request
//!   instead of through ambient state;
//! - `send` keeps progenitor's code that *builds* the request, and hands the
//!   request to the layer's `send(client, request, &OPERATION, &request_state)`
//!   (after the layer's `check(&request_state)`, which reports a refusal the
//!   state holds before anything is built),
//!   which checks, authenticates, retries and turns error statuses into the
//!   layer's error with the client at hand; a JSON body is decoded by the
//!   layer's `json(client, response)`; progenitor's hooks and its error
//!   arms are gone;
//! - the messages progenitor writes for a missing required parameter (`x
//!   was not initialized`) or a refused conversion (`conversion to `T` for x
//!   failed`) name the parameter and the fix instead;
//! - a request body the description does not require (no `required: true`:
//!   publish, enqueue, create schedule, trigger, notify) is optional: progenitor
//!   requires every body, so the builder of such a body of bytes starts with an
//!   empty one (a typed JSON body has no empty value meaning "none" and stays
//!   required);
//! - a 3xx the description documents for an operation without a 2xx is its
//!   success (`OPERATION.success_redirects`).
//!
//! What the generator wrote in another form is refused, naming the builder,
//! so a progenitor update that changes it fails the build loudly.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;

use crate::report::Refusal;

/// The layer's items the shaped builders use.
pub(crate) struct Transport {
    /// The layer module (`crate::transport`) with `RequestState`, `send`,
    /// `json`, `refused` and `unexpected`.
    pub module: TokenStream,
    /// The layer's error type.
    pub error: TokenStream,
    /// The builders (`NotifyEvent`) of operations whose request body the
    /// description leaves optional (no `required: true`).
    pub optional_bodies: Vec<String>,
}

/// Applies the shape to every request builder of `file`.
pub(crate) fn apply(file: &mut syn::File, transport: &Transport) -> Result<(), Refusal> {
    for item in crate::shape::request_builders(file).into_iter().flatten() {
        match item {
            syn::Item::Struct(s) if has_client_field(s) => add_state_field(s, transport),
            syn::Item::Impl(imp) if imp.trait_.is_none() => shape_impl(imp, transport)?,
            _ => {}
        }
    }
    Ok(())
}

fn has_client_field(s: &syn::ItemStruct) -> bool {
    s.fields
        .iter()
        .any(|f| f.ident.as_ref().is_some_and(|i| i == "client"))
}

fn add_state_field(s: &mut syn::ItemStruct, transport: &Transport) {
    let module = &transport.module;
    if let syn::Fields::Named(fields) = &mut s.fields {
        fields.named.push(syn::parse_quote! {
            pub(crate) request_state: #module::RequestState
        });
    }
}

fn builder_name(imp: &syn::ItemImpl) -> String {
    let ty = &imp.self_ty;
    quote!(#ty).to_string().replace(' ', "")
}

fn shape_impl(imp: &mut syn::ItemImpl, transport: &Transport) -> Result<(), Refusal> {
    let name = builder_name(imp);
    let refuse = |what: &str| Refusal::new("", format!("generated builder `{name}` {what}"));
    // `shape` renamed progenitor's `send` to `send_generated` behind a
    // public `send` that converts its error; shaped here, it returns the
    // layer's error itself, and takes the public name and docs back.
    let mut docs = Vec::new();
    imp.items.retain(|it| match it {
        syn::ImplItem::Fn(f) if f.sig.ident == "send" => {
            docs.extend(f.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned());
            false
        }
        _ => true,
    });
    let bare = name.split('<').next().unwrap_or_default();
    let optional_body = transport.optional_bodies.iter().any(|b| b == bare) && has_bytes_body(imp);
    let mut sent = false;
    for it in &mut imp.items {
        let syn::ImplItem::Fn(f) = it else { continue };
        match f.sig.ident.to_string().as_str() {
            "new" => {
                if optional_body {
                    empty_body(&mut f.block).map_err(refuse)?;
                }
                init_state(&mut f.block).map_err(refuse)?
            }
            "body" if optional_body => f.attrs.extend([
                syn::parse_quote!(#[doc = ""]),
                syn::parse_quote!(#[doc = #OPTIONAL_BODY_NOTE]),
            ]),
            "send_generated" => {
                shape_send(f, transport).map_err(refuse)?;
                f.sig.ident = syn::parse_quote!(send);
                f.vis = syn::parse_quote!(pub);
                f.attrs.append(&mut docs);
                sent = true;
            }
            setter => {
                if setter.starts_with("upstash_") {
                    f.attrs.push(syn::parse_quote!(#[doc = ""]));
                    f.attrs.push(syn::parse_quote!(#[doc = #RAW_HEADER_NOTE]));
                }
                RequiredAndConversionMessages.visit_impl_item_fn_mut(f)
            }
        }
    }
    if !sent {
        return Err(refuse("has no `send`"));
    }
    Ok(())
}

/// Said on every raw `upstash_*` header setter: the layer's typed options
/// cover them on the builders that take options.
const RAW_HEADER_NOTE: &str = "The raw header value, sent as given. Where the builder has `.options(...)` (`MessageOptions`; `WorkflowOptions` when starting a workflow run), that sets the same settings typed and checked before sending (durations, flow control, callbacks, forwarded headers).";

/// Said on the `body` setter of an operation whose body is optional.
const OPTIONAL_BODY_NOTE: &str = "Optional (the description does not require a body): without it the request goes with an empty body.";

/// Whether the builder's `body` setter takes bytes (`TryInto<reqwest::Body>`):
/// an optional body of bytes can start empty. A typed JSON body has no
/// empty value that means "no body", so it stays required.
fn has_bytes_body(imp: &syn::ItemImpl) -> bool {
    imp.items.iter().any(|it| match it {
        syn::ImplItem::Fn(f) if f.sig.ident == "body" => {
            let generics = &f.sig.generics;
            let bounds = quote!(#generics).to_string().replace(' ', "");
            let clause = f
                .sig
                .generics
                .where_clause
                .as_ref()
                .map(|w| quote!(#w).to_string().replace(' ', ""))
                .unwrap_or_default();
            (bounds + &clause).contains("TryInto<reqwest::Body>")
        }
        _ => false,
    })
}

/// `body: Err("body was not initialized")` in `new` becomes an empty body.
fn empty_body(block: &mut syn::Block) -> Result<(), &'static str> {
    const SHAPE: &str = "has an optional body but does not start it as `body: Err(..)` in `new`";
    let Some(syn::Stmt::Expr(syn::Expr::Struct(init), None)) = block.stmts.last_mut() else {
        return Err(SHAPE);
    };
    let field = init
        .fields
        .iter_mut()
        .find(|f| matches!(&f.member, syn::Member::Named(i) if i == "body"))
        .ok_or(SHAPE)?;
    if !matches!(&field.expr, syn::Expr::Call(c) if matches!(c.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("Err")))
    {
        return Err(SHAPE);
    }
    field.expr = syn::parse_quote!(Ok(::reqwest::Body::from(::std::vec::Vec::<u8>::new())));
    Ok(())
}

/// `Self { client: client, ... }` in `new` gets `request_state: Default::default()`,
/// and its `x was not initialized` messages say what to do.
fn init_state(block: &mut syn::Block) -> Result<(), &'static str> {
    const SHAPE: &str = "does not make itself as `Self { client: client, ... }` in `new`";
    let Some(syn::Stmt::Expr(syn::Expr::Struct(init), None)) = block.stmts.last_mut() else {
        return Err(SHAPE);
    };
    init.fields
        .push(syn::parse_quote!(request_state: ::std::default::Default::default()));
    RequiredAndConversionMessages.visit_block_mut(block);
    Ok(())
}

/// Rewrites progenitor's messages about a parameter into ours.
struct RequiredAndConversionMessages;

impl VisitMut for RequiredAndConversionMessages {
    fn visit_lit_str_mut(&mut self, lit: &mut syn::LitStr) {
        if let Some(message) = our_message(&lit.value()) {
            *lit = syn::LitStr::new(&message, lit.span());
        }
    }
}

/// Our words for a message progenitor writes into a builder: `x was not
/// initialized` (a required parameter never set) and ``conversion to `T`
/// for x failed`` (a setter's value refused).
fn our_message(text: &str) -> Option<String> {
    if let Some(field) = text.strip_suffix(" was not initialized") {
        return Some(format!(
            "`{field}` is required and was not set: set it with `.{field}(...)`"
        ));
    }
    let (ty, field) = text
        .strip_prefix("conversion to `")?
        .strip_suffix(" failed")?
        .split_once("` for ")?;
    let ty = ty.replace(' ', "");
    Some(if ty.ends_with("StringList") {
        format!(
            "`{field}`: an empty list or an empty value selects nothing; give at least one non-empty value, or leave the filter out"
        )
    } else {
        format!("`{field}`: the value given is not a valid `{ty}`")
    })
}

/// progenitor's `send`, as it comes from `shape` (renamed `send_generated`):
///
/// ```text
/// let Self { client, a, b } = self;
/// <statements that build `request`>
/// let info = OperationInfo { .. };
/// client.pre(&mut request, &info).await?;
/// let result = client.exec(request, &info).await;
/// client.post(&result, &info).await?;
/// let response = result?;
/// match response.status().as_u16() { 200..=299 => <decode>, <error arms>, _ => .. }
/// ```
///
/// becomes
///
/// ```text
/// let Self { client, a, b, request_state } = self;
/// transport::check(&request_state)?;
/// let request = (move || -> Result<reqwest::Request, Error<()>> {
///     <statements that build `request`>
///     Ok(request)
/// })()
/// .map_err(|e| transport::refused(&Self::OPERATION, e))?;
/// let response = transport::send(client, request, &Self::OPERATION, &request_state).await?;
/// match response.status().as_u16() {
///     status if (200..=299).contains(&status)
///         || Self::OPERATION.success_redirects.contains(&status) => <decode, JSON by transport::json>,
///     _ => Err(transport::unexpected(response)),
/// }
/// ```
///
/// (`success_redirects`: the 3xx statuses the description documents for an
/// operation that documents no 2xx; empty for every other operation.)
fn shape_send(f: &mut syn::ImplItemFn, transport: &Transport) -> Result<(), &'static str> {
    let module = &transport.module;
    let error = &transport.error;
    let ok = crate::shape::success_type(&f.sig.output).ok_or("`send` returns no `Result`")?;
    f.sig.output = syn::parse_quote!(-> ::std::result::Result<#ok, #error>);

    let stmts = std::mem::take(&mut f.block.stmts);
    let info = stmts
        .iter()
        .position(is_operation_info)
        .ok_or("`send` makes no `OperationInfo`")?;
    let (head, tail) = stmts.split_at(info);
    let Some((destructure, build)) = head.split_first() else {
        return Err("`send` builds no request");
    };
    let mut destructure = destructure.clone();
    add_state_binding(&mut destructure)
        .ok_or("`send` does not start with `let Self { .. } = self`")?;
    // info, pre, exec, post, `let response = result?`, match.
    let [
        _,
        _,
        _,
        _,
        _,
        syn::Stmt::Expr(syn::Expr::Match(status), None),
    ] = tail
    else {
        return Err("`send` does not call progenitor's hooks and match the status as expected");
    };
    let decode = success_arm(status).ok_or("`send` has no `200..=299` arm")?;
    let decode = decode_with_layer(decode, module)?;

    let send: syn::Block = syn::parse_quote!({
        #module::check(&request_state)?;
        let request = (move || -> ::std::result::Result<::reqwest::Request, Error<()>> {
            #(#build)*
            Ok(request)
        })()
        .map_err(|e| #module::refused(&Self::OPERATION, e))?;
        let response = #module::send(client, request, &Self::OPERATION, &request_state).await?;
        match response.status().as_u16() {
            status if (200..=299).contains(&status)
                || Self::OPERATION.success_redirects.contains(&status) => #decode,
            _ => Err(#module::unexpected(response)),
        }
    });
    f.block.stmts = std::iter::once(destructure).chain(send.stmts).collect();
    Ok(())
}

fn is_operation_info(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "info")
        && matches!(local.init.as_ref().map(|i| i.expr.as_ref()),
            Some(syn::Expr::Struct(s)) if s.path.is_ident("OperationInfo")))
}

/// `let Self { client, .. } = self;` gets `request_state` too.
fn add_state_binding(stmt: &mut syn::Stmt) -> Option<()> {
    let syn::Stmt::Local(local) = stmt else {
        return None;
    };
    let syn::Pat::Struct(pattern) = &mut local.pat else {
        return None;
    };
    if !pattern.path.is_ident("Self") {
        return None;
    }
    pattern.fields.push(syn::FieldPat {
        attrs: Vec::new(),
        member: syn::Member::Named(syn::parse_quote!(request_state)),
        colon_token: None,
        pat: Box::new(syn::parse_quote!(request_state)),
    });
    Some(())
}

/// The expression of the `200..=299` arm.
fn success_arm(status: &syn::ExprMatch) -> Option<&syn::Expr> {
    status.arms.iter().find_map(|arm| match &arm.pat {
        syn::Pat::Range(r)
            if matches!(r.start.as_deref(), Some(syn::Expr::Lit(l)) if quote!(#l).to_string() == "200") =>
        {
            Some(arm.body.as_ref())
        }
        _ => None,
    })
}

/// `ResponseValue::from_response(response).await` becomes the layer's
/// `json(client, response).await`; `Ok(ResponseValue::empty(response))` and
/// `Ok(ResponseValue::stream(response))` stay.
fn decode_with_layer(decode: &syn::Expr, module: &TokenStream) -> Result<syn::Expr, &'static str> {
    const SHAPE: &str = "decodes a success in a way the shape does not know";
    // The generator writes the arm as a block, and its interpolated tokens
    // come as invisible groups.
    match decode {
        syn::Expr::Group(g) => return decode_with_layer(&g.expr, module),
        syn::Expr::Block(b) if b.block.stmts.len() == 1 => {
            if let syn::Stmt::Expr(inner, None) = &b.block.stmts[0] {
                return decode_with_layer(inner, module);
            }
        }
        _ => {}
    }
    match decode {
        syn::Expr::Await(a) => match ungroup(&a.base) {
            syn::Expr::Call(call) if is_response_value_fn(&call.func, "from_response") => {
                Ok(syn::parse_quote!(#module::json(client, response).await))
            }
            _ => Err(SHAPE),
        },
        syn::Expr::Call(ok) if matches!(ok.func.as_ref(), syn::Expr::Path(p) if p.path.is_ident("Ok")) => {
            match ok.args.first().map(ungroup) {
                Some(syn::Expr::Call(call))
                    if is_response_value_fn(&call.func, "empty")
                        || is_response_value_fn(&call.func, "stream") =>
                {
                    Ok(decode.clone())
                }
                _ => Err(SHAPE),
            }
        }
        _ => Err(SHAPE),
    }
}

fn ungroup(expr: &syn::Expr) -> &syn::Expr {
    match expr {
        syn::Expr::Group(g) => ungroup(&g.expr),
        other => other,
    }
}

fn is_response_value_fn(func: &syn::Expr, name: &str) -> bool {
    let syn::Expr::Path(p) = func else {
        return false;
    };
    let segments: Vec<String> = p
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments == ["ResponseValue", name]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> Transport {
        Transport {
            module: quote!(crate::transport),
            error: quote!(crate::Error),
            optional_bodies: vec!["GetThing".into()],
        }
    }

    fn shaped(file: syn::File) -> Result<String, Refusal> {
        let mut file = file;
        apply(&mut file, &transport())?;
        Ok(prettyplease::unparse(&file).split_whitespace().collect())
    }

    /// A builder as progenitor writes it (after `shape`), with the success
    /// arm given.
    fn builder(success: syn::Expr) -> syn::File {
        syn::parse_quote! {
            pub mod builder {
                #[derive(Debug, Clone)]
                pub struct GetThing<'a> {
                    client: &'a super::Client,
                    thing_id: Result<::std::string::String, String>,
                    label: Result<Option<::qstash::StringList>, String>,
                }
                impl<'a> GetThing<'a> {
                    pub(crate) fn new(client: &'a super::Client) -> Self {
                        Self {
                            client: client,
                            thing_id: Err("thing_id was not initialized".to_string()),
                            label: Ok(None),
                        }
                    }
                    pub fn label<V>(mut self, value: V) -> Self
                    where
                        V: std::convert::TryInto<::qstash::StringList>,
                    {
                        self.label = value.try_into().map(Some).map_err(|_| {
                            "conversion to `:: qstash :: StringList` for label failed".to_string()
                        });
                        self
                    }
                    async fn send_generated(self) -> Result<ResponseValue<types::Thing>, Error<types::Error>> {
                        let Self { client, thing_id, label } = self;
                        let thing_id = thing_id.map_err(Error::InvalidRequest)?;
                        let label = label.map_err(Error::InvalidRequest)?;
                        let url = crate::urls::endpoint(client, "/v2/things");
                        #[allow(unused_mut)]
                        let mut request = client.client.get(url).query(&label).build()?;
                        let info = OperationInfo { operation_id: "get_thing" };
                        client.pre(&mut request, &info).await?;
                        let result = client.exec(request, &info).await;
                        client.post(&result, &info).await?;
                        let response = result?;
                        match response.status().as_u16() {
                            200..=299 => #success,
                            400u16..=499u16 => Err(Error::ErrorResponse(ResponseValue::from_response(response).await?)),
                            _ => Err(Error::UnexpectedResponse(response)),
                        }
                    }
                    /// Sends a `GET` request.
                    pub async fn send(self) -> ::std::result::Result<ResponseValue<types::Thing>, crate::Error> {
                        self.send_generated().await.map_err(<crate::Error>::from)
                    }
                }
            }
        }
    }

    #[test]
    fn the_request_is_built_by_the_generated_code_and_sent_by_the_layer() {
        let code = shaped(builder(syn::parse_quote!(
            ResponseValue::from_response(response).await
        )))
        .unwrap();
        assert!(
            code.contains("pub(crate)request_state:crate::transport::RequestState,}"),
            "{code}"
        );
        assert!(
            code.contains("label:Ok(None),request_state:::std::default::Default::default(),}"),
            "{code}"
        );
        assert!(
            code.contains("///Sendsa`GET`request.pubasyncfnsend(self,)->::std::result::Result<ResponseValue<types::Thing>,crate::Error>{letSelf{"),
            "{code}"
        );
        assert!(
            code.contains("letSelf{client,thing_id,label,request_state}=self;crate::transport::check(&request_state)?;letrequest="),
            "{code}"
        );
        assert!(
            code.contains("letrequest=(move||->::std::result::Result<::reqwest::Request,Error<()>,>{letthing_id=thing_id.map_err(Error::InvalidRequest)?;"),
            "{code}"
        );
        assert!(code.contains(".build()?;Ok(request)})().map_err(|e|crate::transport::refused(&Self::OPERATION,e))?;"), "{code}");
        assert!(
            code.contains("letresponse=crate::transport::send(client,request,&Self::OPERATION,&request_state,).await?;"),
            "{code}"
        );
        assert!(
            code.contains("statusif(200..=299).contains(&status)||Self::OPERATION.success_redirects.contains(&status)=>{crate::transport::json(client,response).await}_=>Err(crate::transport::unexpected(response)),}"),
            "{code}"
        );
        for gone in [
            "OperationInfo",
            "client.pre",
            "client.exec",
            "client.post",
            "ErrorResponse",
        ] {
            assert!(!code.contains(gone), "{gone} left in {code}");
        }
        assert!(!code.contains("send_generated"), "{code}");
        assert_eq!(code.matches("fnsend(").count(), 1, "{code}");
    }

    /// A builder named `name` with a body setter taking `body_type`.
    fn with_body(name: &str, body_type: syn::Type) -> syn::File {
        let ident = quote::format_ident!("{name}");
        syn::parse_quote! {
            pub mod builder {
                pub struct #ident<'a> {
                    client: &'a super::Client,
                    body: Result<#body_type, String>,
                }
                impl<'a> #ident<'a> {
                    pub(crate) fn new(client: &'a super::Client) -> Self {
                        Self { client: client, body: Err("body was not initialized".to_string()) }
                    }
                    pub fn body<B>(mut self, value: B) -> Self
                    where
                        B: std::convert::TryInto<#body_type>,
                    {
                        self
                    }
                    async fn send_generated(self) -> Result<ResponseValue<()>, Error<()>> {
                        let Self { client, body } = self;
                        let body = body.map_err(Error::InvalidRequest)?;
                        let url = crate::urls::endpoint(client, "/v2/things");
                        #[allow(unused_mut)]
                        let mut request = client.client.post(url).body(body).build()?;
                        let info = OperationInfo { operation_id: "x" };
                        client.pre(&mut request, &info).await?;
                        let result = client.exec(request, &info).await;
                        client.post(&result, &info).await?;
                        let response = result?;
                        match response.status().as_u16() {
                            200..=299 => Ok(ResponseValue::empty(response)),
                            _ => Err(Error::UnexpectedResponse(response)),
                        }
                    }
                    pub async fn send(self) -> ::std::result::Result<ResponseValue<()>, crate::Error> {
                        self.send_generated().await.map_err(<crate::Error>::from)
                    }
                }
            }
        }
    }

    #[test]
    fn an_optional_body_of_bytes_starts_empty() {
        let empty = "body:Ok(::reqwest::Body::from(::std::vec::Vec::<u8>::new()))";
        let required =
            "body:Err(\"`body`isrequiredandwasnotset:setitwith`.body(...)`\".to_string(),)";
        // Listed as optional, of bytes: starts empty, and says so.
        let code = shaped(with_body("GetThing", syn::parse_quote!(reqwest::Body))).unwrap();
        assert!(code.contains(empty), "{code}");
        assert!(
            code.contains("///Optional(thedescriptiondoesnotrequireabody)"),
            "{code}"
        );
        // Listed, but typed JSON: no empty value means "no body".
        let code = shaped(with_body("GetThing", syn::parse_quote!(types::Thing))).unwrap();
        assert!(code.contains(required) && !code.contains(empty), "{code}");
        // Not listed: required.
        let code = shaped(with_body("PostThing", syn::parse_quote!(reqwest::Body))).unwrap();
        assert!(code.contains(required) && !code.contains(empty), "{code}");
    }

    #[test]
    fn raw_header_setters_point_to_the_typed_options() {
        let mut file = builder(syn::parse_quote!(Ok(ResponseValue::empty(response))));
        let syn::Item::Mod(m) = &mut file.items[0] else {
            unreachable!()
        };
        let syn::Item::Impl(imp) = &mut m.content.as_mut().unwrap().1[1] else {
            unreachable!()
        };
        imp.items.push(syn::parse_quote! {
            /// Delay of the message.
            pub fn upstash_delay<V>(mut self, value: V) -> Self { self }
        });
        let code = shaped(file).unwrap();
        assert!(
            code.contains("///Delayofthemessage.//////Therawheadervalue,sentasgiven.Wherethebuilderhas`.options(...)`(`MessageOptions`;`WorkflowOptions`whenstartingaworkflowrun)"),
            "{code}"
        );
        assert_eq!(code.matches("Therawheadervalue").count(), 1, "{code}");
    }

    #[test]
    fn an_empty_success_stays_as_progenitor_reads_it() {
        let code = shaped(builder(syn::parse_quote!(Ok(ResponseValue::empty(
            response
        )))))
        .unwrap();
        assert!(
            code.contains("Self::OPERATION.success_redirects.contains(&status)=>{Ok(ResponseValue::empty(response))}_=>"),
            "{code}"
        );
    }

    #[test]
    fn messages_name_the_parameter_and_the_fix() {
        let code = shaped(builder(syn::parse_quote!(
            ResponseValue::from_response(response).await
        )))
        .unwrap();
        assert!(
            code.contains("`thing_id`isrequiredandwasnotset:setitwith`.thing_id(...)`"),
            "{code}"
        );
        assert!(
            code.contains("`label`:anemptylistoranemptyvalueselectsnothing"),
            "{code}"
        );
        assert!(!code.contains("wasnotinitialized"), "{code}");
        assert!(!code.contains("conversionto"), "{code}");
        assert_eq!(
            our_message("conversion to `types :: Method` for method failed").as_deref(),
            Some("`method`: the value given is not a valid `types::Method`")
        );
        assert_eq!(our_message("something else"), None);
    }

    #[test]
    fn another_shape_is_refused_naming_the_builder() {
        let unknown = shaped(builder(syn::parse_quote!(decode(response).await)))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("GetThing"), "{unknown}");
        assert!(unknown.contains("decodes a success"), "{unknown}");

        let mut no_hooks = builder(syn::parse_quote!(Ok(ResponseValue::empty(response))));
        syn::visit_mut::visit_file_mut(&mut DropInfo, &mut no_hooks);
        let refused = shaped(no_hooks).unwrap_err().to_string();
        assert!(refused.contains("GetThing"), "{refused}");
        assert!(refused.contains("OperationInfo"), "{refused}");
    }

    /// Removes `let info = OperationInfo { .. };`.
    struct DropInfo;

    impl VisitMut for DropInfo {
        fn visit_block_mut(&mut self, block: &mut syn::Block) {
            block.stmts.retain(|s| !is_operation_info(s));
            syn::visit_mut::visit_block_mut(self, block);
        }
    }
}
