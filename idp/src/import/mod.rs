//! Files kenpo systems hand us.

pub mod keycloak;
pub mod members;
