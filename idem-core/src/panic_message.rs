//! The message of a caught panic, for the errors and logs that report one.

use std::any::Any;

/// The message `panic!` was given (a `&str` or a `String` payload); `None` for any other payload.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> Option<&str> {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
}
