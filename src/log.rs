//! Optional logging. Hosts hand in Versori-style loggers or `console`.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

pub trait Logger {
    fn log(&self, level: Level, message: &str, context: Value);
}

pub struct NoLog;

impl Logger for NoLog {
    fn log(&self, _: Level, _: &str, _: Value) {}
}

/// Keeps every line, for tests.
#[derive(Default)]
pub struct MemoryLog {
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
