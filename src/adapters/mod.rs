//! Adapters: each translates between one platform and the core's messages and commands, and
//! nothing more. Same shape for each: config, inbound (parse + verify), outbound (render + send).

pub mod console;
#[cfg(feature = "telegram")]
pub mod telegram;
pub mod webhook;
