//! The confirmation of an action on one pending operation of a workflow
//! (retry a backing-off activity now, fire a timer now): a closed
//! `<details>` whose form posts the CSRF token, the workflow id and the
//! operation's seq. Shared by the workflow page and the pending views.

use leptos::prelude::*;
use leptos::server_fn::{Http, ServerFn, client::Client, codec::PostUrl, request::ClientReq};
use leptos::web_sys::FormData;
use serde::de::DeserializeOwned;

use crate::components::live::CsrfField;

/// `summary` opens it; `confirm` is the button that posts to `action`.
// The bounds are `ActionForm`'s: any server function it can post to.
#[component]
pub fn OperationConfirm<S, P>(
    action: ServerAction<S>,
    csrf: String,
    workflow_id: String,
    seq: u32,
    summary: &'static str,
    confirm: &'static str,
) -> impl IntoView
where
    S: DeserializeOwned + ServerFn<Protocol = Http<PostUrl, P>> + Clone + Send + Sync + 'static,
    <<S::Client as Client<S::Error>>::Request as ClientReq<S::Error>>::FormData: From<FormData>,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
    S::Client: Client<S::Error>,
{
    view! {
        <details>
            <summary>{summary}</summary>
            <ActionForm action=action>
                <CsrfField csrf=csrf />
                <input type="hidden" name="id" value=workflow_id />
                <input type="hidden" name="seq" value=seq.to_string() />
                <button type="submit">{confirm}</button>
            </ActionForm>
        </details>
    }
}
