//! Promise plumbing: every exported async method returns through here, so
//! how a core result becomes a settled Promise is decided once.

use crate::error::{ErrorCode, Result, StateError};
use crate::wasm::errors::{to_js, JsResult};
use js_sys::{Function, Promise};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// Runs a core call as a Promise whose rejection is a StateError.
pub fn promise<F>(work: F) -> Promise
where
    F: Future<Output = Result<JsValue>> + 'static,
{
    boxed(Box::pin(async move { work.await.map_err(to_js) }))
}

/// Every export's future goes to `future_to_promise` as one boxed type: one
/// copy of the spawn-and-settle code instead of one per exported method.
#[inline(never)]
fn boxed(work: Pin<Box<dyn Future<Output = JsResult<JsValue>>>>) -> Promise {
    future_to_promise(work)
}

/// Runs work that calls the caller's own functions: what those throw
/// rejects the Promise unchanged; our own failures are StateErrors.
pub fn promise_passing<F>(work: F) -> Promise
where
    F: Future<Output = JsResult<JsValue>> + 'static,
{
    boxed(Box::pin(work))
}

/// Calls the caller's function `f(arg)` and awaits what it returns (a
/// value or a Promise); a throw or a rejection comes back as thrown.
pub async fn call_back(f: &Function, arg: Option<&JsValue>) -> JsResult<JsValue> {
    let returned = match arg {
        Some(arg) => f.call1(&JsValue::UNDEFINED, arg)?,
        None => f.call0(&JsValue::UNDEFINED)?,
    };
    JsFuture::from(Promise::resolve(&returned)).await
}

/// What a caller's callback threw while core code (which speaks StateError)
/// ran it: kept here, and the Promise rejects with it unchanged.
#[derive(Clone, Default)]
pub struct Thrown(Rc<RefCell<Option<JsValue>>>);

impl Thrown {
    /// Keeps `thrown` and gives the core an error to unwind with.
    pub fn keep(&self, thrown: JsValue, callback: &str) -> StateError {
        *self.0.borrow_mut() = Some(thrown);
        StateError::new(ErrorCode::InvalidArgument, format!("{callback}() failed"))
    }

    /// The kept value if a callback threw, else `error` as a StateError.
    pub fn or(&self, error: StateError) -> JsValue {
        self.0.borrow_mut().take().unwrap_or_else(|| to_js(error))
    }
}
