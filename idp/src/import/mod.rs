//! Files kenpo systems hand us.

pub mod members;
