//! File tracking.
