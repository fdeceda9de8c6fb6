//! Decisions, with no HTTP framework types: who may see whose data, what a login produces.

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod checkups;
pub mod etax;
pub mod inbox;
pub mod kenpo_api;
pub mod medical;
pub mod notices;
pub mod plain_text;
pub mod preferences;
pub mod qualification;
pub mod survey;
pub mod update_mails;
