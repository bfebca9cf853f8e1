//! The popups, one file each: its state, its keys and its drawing, as a `Component`.

pub mod alerts;
pub mod audit;
pub mod confirm;
pub mod copy_menu;
pub mod endpoint;
pub mod help;
pub mod inspector;
pub mod nodes;
pub mod replay;
pub mod send_form;
pub mod subscription_form;
