//! `FileTracker` (VersoriFileTracker in js/api.mjs adds 0.1.56's method
//! names on top of it).

use crate::clock::iso_from_ms;
use crate::files::{self, ClaimOutcome};
use crate::ids::random_id;
use crate::store::Store;
use crate::wasm::args;
use crate::wasm::bridge::{timed_capabilities_to_js, JsStore};
use crate::wasm::convert::{json_to_js, object, opt_str};
use crate::wasm::env::{InjectedClock, JsLogger, JsTimer};
use crate::wasm::errors::{IntoJsResult, JsResult};
use crate::wasm::promise::promise;
use js_sys::Promise;
use serde_json::Value;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Tracker {
    core: files::FileTracker,
    store: JsStore,
    clock: InjectedClock,
    /// Claims on stores without compare-and-set wait out this bound.
    max_write_delay_ms: Option<u64>,
    /// Where a claim not taken on a timed store says why.
    log: JsLogger,
}

/// Tracks processed files under a prefix, with claims for files in progress.
#[wasm_bindgen]
pub struct FileTracker {
    inner: Rc<Tracker>,
}

#[wasm_bindgen]
impl FileTracker {
    /// `new FileTracker(kv, { prefix, now })`; a string second argument is
    /// the prefix. `now()` (epoch milliseconds) replaces `Date.now()`.
    #[wasm_bindgen(constructor)]
    pub fn new(kv: JsValue, options: JsValue) -> JsResult<FileTracker> {
        let (prefix, log) =
            args::name_and_log(&options, "prefix", "fc-sdk", &["prefix", "log", "now", "maxWriteDelayMs", "storeTimeoutMs"]).js()?;
        let option = |name: &str| if options.is_object() { args::option(&options, name) } else { Ok(JsValue::UNDEFINED) };
        let clock = InjectedClock::new(option("now").js()?).js()?;
        let max_write_delay_ms = args::write_delay(&option("maxWriteDelayMs").js()?).js()?;
        let store = JsStore::detect(&kv).js()?;
        store.set_timeout_ms(args::store_timeout(&options).js()?);
        let core = files::FileTracker::new(&prefix, random_id().js()?).js()?;
        Ok(FileTracker { inner: Rc::new(Tracker { core, store, clock, max_write_delay_ms, log: JsLogger::new(log) }) })
    }

    pub fn capabilities(&self) -> JsValue {
        timed_capabilities_to_js(&self.inner.store.capabilities(), self.inner.max_write_delay_ms)
    }

    #[wasm_bindgen(getter)]
    pub fn prefix(&self) -> String {
        self.inner.core.prefix.clone()
    }

    #[wasm_bindgen(js_name = "isProcessed")]
    pub fn is_processed(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(JsValue::from_bool(t.core.is_processed(&t.store, &name).await?))
        })
    }

    #[wasm_bindgen(js_name = "markProcessed")]
    pub fn mark_processed(&self, file_name: JsValue, metadata: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            let metadata = args::metadata("metadata", &metadata)?;
            t.core.mark_processed(&t.store, &t.clock, &name, metadata.as_ref()).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `{fileName, processedAt, metadata}` or null.
    #[wasm_bindgen(js_name = "getRecord")]
    pub fn get_record(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(match t.core.get_record(&t.store, &name).await? {
                Some(r) => object(&[
                    ("fileName", JsValue::from_str(&r.file_name)),
                    ("processedAt", opt_str(r.processed_at.as_deref())),
                    ("metadata", json_to_js(&Value::Object(r.metadata))),
                ]),
                None => JsValue::NULL,
            })
        })
    }

    /// Removes the file's record and claim; resolves true if there was a record.
    pub fn forget(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(JsValue::from_bool(t.core.forget(&t.store, &name).await?))
        })
    }

    /// 'new' | 'in-progress' | 'processed'.
    pub fn status(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            Ok(JsValue::from_str(t.core.status(&t.store, &t.clock, &name).await?.as_str()))
        })
    }

    /// Marks the file in progress for `ttlMs` (default 15 minutes).
    pub fn claim(&self, file_name: JsValue, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            args::known("options", &options, &["ttlMs"])?;
            let ttl = args::ttl_ms("options.ttlMs", &args::option(&options, "ttlMs")?, args::DEFAULT_TTL_MS)?;
            let outcome =
                t.core.claim_timed(&t.store, &t.clock, &JsTimer, &t.log, &name, ttl as i64, random_id()?, t.max_write_delay_ms).await?;
            Ok(match outcome {
                ClaimOutcome::Claimed { claim_id, expires_at_ms } => object(&[
                    ("claimed", JsValue::TRUE),
                    ("status", JsValue::from_str("claimed")),
                    ("claimId", JsValue::from_str(&claim_id)),
                    ("expiresAt", JsValue::from_str(&iso_from_ms(expires_at_ms))),
                ]),
                ClaimOutcome::Processed => object(&[("claimed", JsValue::FALSE), ("status", JsValue::from_str("processed"))]),
                ClaimOutcome::InProgress { expires_at_ms } => object(&[
                    ("claimed", JsValue::FALSE),
                    ("status", JsValue::from_str("in-progress")),
                    ("expiresAt", JsValue::from_str(&iso_from_ms(expires_at_ms))),
                ]),
            })
        })
    }

    /// Records the claimed file as processed and ends the claim; with
    /// `claimId`, only that claim (CLAIM_NOT_HELD when a newer one holds it).
    pub fn complete(&self, file_name: JsValue, metadata: JsValue, claim_id: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            let metadata = args::metadata("metadata", &metadata)?;
            let id = args::optional_name("claimId", &claim_id)?;
            t.core.complete_as(&t.store, &t.clock, &name, metadata.as_ref(), id.as_deref()).await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Pushes this tracker's claim on the file out to `ttlMs` from now
    /// (default 15 minutes): resolves the new `expiresAt`; CLAIM_NOT_HELD
    /// when the claim is no longer this tracker's.
    #[wasm_bindgen(js_name = "extendClaim")]
    pub fn extend_claim(&self, file_name: JsValue, options: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            args::known("options", &options, &["ttlMs", "claimId"])?;
            let ttl = args::ttl_ms("options.ttlMs", &args::option(&options, "ttlMs")?, args::DEFAULT_TTL_MS)?;
            let id = args::optional_name("options.claimId", &args::option(&options, "claimId")?)?;
            let expires_at_ms = t.core.extend_claim_as(&t.store, &t.clock, &name, ttl, id.as_deref()).await?;
            Ok(JsValue::from_str(&iso_from_ms(expires_at_ms)))
        })
    }

    /// Ends the claim without recording the file; with `claimId`, only
    /// that claim (false, nothing written, when a newer one holds it).
    pub fn release(&self, file_name: JsValue, claim_id: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            let id = args::optional_name("claimId", &claim_id)?;
            Ok(JsValue::from_bool(t.core.release_as(&t.store, &t.clock, &name, id.as_deref()).await?))
        })
    }

    #[wasm_bindgen(js_name = "getLastProcessed")]
    pub fn get_last_processed(&self) -> Promise {
        let t = self.inner.clone();
        promise(async move { Ok(opt_str(t.core.get_last_processed(&t.store).await?.as_deref())) })
    }

    #[wasm_bindgen(js_name = "setLastProcessed")]
    pub fn set_last_processed(&self, file_name: JsValue) -> Promise {
        let t = self.inner.clone();
        promise(async move {
            t.clock.verify()?;
            let name = args::name("fileName", &file_name)?;
            t.core.set_last_processed(&t.store, &name).await?;
            Ok(JsValue::UNDEFINED)
        })
    }
}
