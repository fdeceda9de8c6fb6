//! 特定健診 (specific health checkup) results: pure functions, no database and no HTTP.
pub mod cda;
pub mod codes;
pub mod rules;
pub mod stratify;
pub mod zip;

#[cfg(test)]
pub(crate) mod fixtures {
    pub const FIXTURE_2025: &str = include_str!("../../tests/fixtures/checkup/h0000000001202504150001.xml");
    pub const FIXTURE_2024: &str = include_str!("../../tests/fixtures/checkup/h0000000001202404160001.xml");
}
