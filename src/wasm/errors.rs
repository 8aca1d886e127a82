//! Turns core errors into JavaScript `StateError`s (an `Error` subclass
//! with a stable `code`). The class lives in js/errors.mjs and is registered
//! at load time, so `instanceof StateError` holds for the package's export.

use crate::error::StateError;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

/// The last causes kept: the newest id, and one slot per id modulo the ring's size.
type CauseRing = (u32, Vec<Option<(u32, JsValue)>>);

thread_local! {
    static ERROR_CLASS: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
    /// The host errors behind the last store failures, by cause id: a ring,
    /// so a failure that was retried and never reported costs nothing lasting.
    static CAUSES: RefCell<CauseRing> = const { RefCell::new((0, Vec::new())) };
}

const CAUSE_SLOTS: usize = 64;

/// Keeps `thrown` as the cause of the StateError that will carry the id.
pub fn keep_cause(thrown: &JsValue) -> u32 {
    CAUSES.with(|c| {
        let mut c = c.borrow_mut();
        c.0 = c.0.wrapping_add(1);
        let id = c.0;
        if c.1.len() < CAUSE_SLOTS {
            c.1.resize(CAUSE_SLOTS, None);
        }
        c.1[id as usize % CAUSE_SLOTS] = Some((id, thrown.clone()));
        id
    })
}

fn take_cause(id: u32) -> Option<JsValue> {
    CAUSES.with(|c| {
        let mut c = c.borrow_mut();
        let slot = c.1.get_mut(id as usize % CAUSE_SLOTS)?;
        match slot {
            Some((kept, _)) if *kept == id => slot.take().map(|(_, v)| v),
            _ => None,
        }
    })
}

/// Called once by the package's loader with its `StateError` class.
#[wasm_bindgen(js_name = "__registerErrorClass")]
pub fn register_error_class(class: js_sys::Function) {
    ERROR_CLASS.with(|c| *c.borrow_mut() = Some(class));
}

pub fn to_js(error: StateError) -> JsValue {
    let code = JsValue::from_str(error.code.as_str());
    let message = JsValue::from_str(&error.message);
    let registered = ERROR_CLASS.with(|c| c.borrow().clone());
    let cause = error.cause.and_then(take_cause);
    if let Some(class) = registered {
        let options = js_sys::Object::new();
        if let Some(cause) = &cause {
            let _ = js_sys::Reflect::set(&options, &"cause".into(), cause);
        }
        if let Ok(instance) = js_sys::Reflect::construct(&class, &js_sys::Array::of3(&code, &message, &options)) {
            return instance;
        }
    }
    // Not loaded through the package entry: still an Error with a code.
    let plain = js_sys::Error::new(&error.message);
    plain.set_name("StateError");
    let _ = js_sys::Reflect::set(&plain, &"code".into(), &code);
    plain.into()
}

/// The message of whatever JavaScript threw: a string as it is, an
/// Error's `message`, else its JSON text, else `fallback`. Every place that
/// reports a JS failure (store calls, failed jobs, retry errors) uses this.
pub fn message_of(thrown: &JsValue, fallback: &str) -> String {
    if let Some(s) = thrown.as_string() {
        return s;
    }
    if thrown.is_object() {
        if let Some(m) = js_sys::Reflect::get(thrown, &"message".into()).ok().and_then(|m| m.as_string()) {
            return m;
        }
    }
    js_sys::JSON::stringify(thrown).ok().and_then(|s| s.as_string()).unwrap_or_else(|| fallback.to_string())
}

/// Exported methods return `Result<_, JsValue>`; this keeps the `?` short.
pub type JsResult<T> = Result<T, JsValue>;

pub trait IntoJsResult<T> {
    fn js(self) -> JsResult<T>;
}

impl<T> IntoJsResult<T> for crate::error::Result<T> {
    fn js(self) -> JsResult<T> {
        self.map_err(to_js)
    }
}
