//! The generated API shaped for the hand-written layer, on the syntax
//! tree, after generation:
//!
//! - every request builder's `send` returns the layer's one error type
//!   (progenitor's own `send` stays, private, as `send_generated`);
//! - constructors nobody outside the crate can use are not public: the
//!   client's (the layer builds it with its settings) and each request
//!   builder's (`client.operation()` makes them); progenitor's `Client::new`,
//!   which would build an HTTP client with a panic on failure, is removed.

use proc_macro2::TokenStream;
use quote::quote;

use crate::report::Refusal;

/// Applies the shape; `error` is the layer's error type (`crate::Error`),
/// which must convert from progenitor's error with `From`.
pub(crate) fn apply(file: &mut syn::File, error: &TokenStream) -> Result<(), Refusal> {
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
            syn::Item::Mod(m) if m.ident == "builder" => {
                let Some((_, items)) = &mut m.content else {
                    continue;
                };
                for item in items {
                    if let syn::Item::Impl(imp) = item
                        && imp.trait_.is_none()
                    {
                        shape_builder(imp, error)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_type(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

fn is_fn(item: &syn::ImplItem, name: &str) -> bool {
    matches!(item, syn::ImplItem::Fn(f) if f.sig.ident == name)
}

fn shape_builder(imp: &mut syn::ItemImpl, error: &TokenStream) -> Result<(), Refusal> {
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

/// `T` of `-> Result<T, E>`.
fn success_type(output: &syn::ReturnType) -> Option<syn::Type> {
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
        apply(&mut file, &quote!(crate::Error)).unwrap();
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
}
