//! Optional logging. Hosts hand in Versori-style loggers or `console`.

use serde_json::Value;

/// How much a log line matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Details.
    Debug,
    /// Normal events.
    Info,
    /// Something to look at.
    Warn,
    /// A failure.
    Error,
}

/// Where the core's log lines go.
pub trait Logger {
    /// Writes one line with its structured context.
    fn log(&self, level: Level, message: &str, context: Value);
}

/// Drops every line.
pub struct NoLog;

impl Logger for NoLog {
    fn log(&self, _: Level, _: &str, _: Value) {}
}

/// Keeps every line, for tests.
#[derive(Default)]
pub struct MemoryLog {
    /// Every line logged, in order.
    pub lines: std::cell::RefCell<Vec<(Level, String, Value)>>,
}

impl Logger for MemoryLog {
    fn log(&self, level: Level, message: &str, context: Value) {
        self.lines.borrow_mut().push((level, message.to_string(), context));
    }
}

impl<L: Logger + ?Sized> Logger for std::rc::Rc<L> {
    fn log(&self, level: Level, message: &str, context: Value) {
        (**self).log(level, message, context)
    }
}
