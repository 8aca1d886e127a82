//! Sync state, processed-file records, metrics and the daily job of
//! StateService, on 0.1.56's keys.
