//! JLAC10 17-digit item codes (OID 1.2.392.200119.6.1005) that the 階層化 reads (spec §4.2).
//!
//! Only the codes the statutory stratification needs live here; the display rule set
//! (`rules/mhlw_4th.toml`) lists its own codes as data, and a test in `rules.rs` proves both agree.
//! Each list is in order of preference: the first code present in a file wins.

/// 身長 (cm).
pub const HEIGHT: &[&str] = &["9N001000000000001"];
/// 体重 (kg).
pub const WEIGHT: &[&str] = &["9N006000000000001"];
/// BMI (kg/m²).
pub const BMI: &[&str] = &["9N011000000000001"];
/// 腹囲: 実測, 自己測定, 自己申告.
pub const WAIST: &[&str] = &["9N016160100000001", "9N016160200000001", "9N016160300000001"];
/// 内臓脂肪面積 (cm²).
pub const VISCERAL_FAT: &[&str] = &["9N021000000000001"];
/// 収縮期血圧 その他 (the value the institution reports when it measured otherwise or averaged).
pub const SBP_OTHER: &[&str] = &["9A755000000000001"];
/// 収縮期血圧 1回目 and 2回目.
pub const SBP_FIRST: &[&str] = &["9A751000000000001"];
pub const SBP_SECOND: &[&str] = &["9A752000000000001"];
/// 拡張期血圧 その他, 1回目, 2回目.
pub const DBP_OTHER: &[&str] = &["9A765000000000001"];
pub const DBP_FIRST: &[&str] = &["9A761000000000001"];
pub const DBP_SECOND: &[&str] = &["9A762000000000001"];
/// 空腹時中性脂肪: 可視, 紫外, その他.
pub const TG_FASTING: &[&str] = &["3F015000002327101", "3F015000002327201", "3F015000002399901"];
/// 随時中性脂肪 (第4期).
pub const TG_CASUAL: &[&str] = &["3F015129902327101", "3F015129902327201", "3F015129902399901"];
/// HDL コレステロール.
pub const HDL: &[&str] = &["3F070000002327101", "3F070000002327201", "3F070000002399901"];
/// 空腹時血糖.
pub const GLUCOSE_FASTING: &[&str] =
    &["3D010000001926101", "3D010000002227101", "3D010000001927201", "3D010000001999901"];
/// 随時血糖.
pub const GLUCOSE_CASUAL: &[&str] =
    &["3D010129901926101", "3D010129902227101", "3D010129901927201", "3D010129901999901"];
/// HbA1c (NGSP). The old JDS codes (3D045…) are deliberately absent: JDS values are not comparable.
pub const HBA1C: &[&str] =
    &["3D046000001906202", "3D046000001920402", "3D046000001927102", "3D046000001999902"];
/// 服薬1 血圧, 服薬2 血糖, 服薬3 脂質 (coded: 1 はい, 2 いいえ).
pub const MED_BLOOD_PRESSURE: &[&str] = &["9N701000000000011"];
pub const MED_GLUCOSE: &[&str] = &["9N706000000000011"];
pub const MED_LIPIDS: &[&str] = &["9N711000000000011"];
/// 喫煙 (coded: 1 はい, 2 いいえ).
pub const SMOKING: &[&str] = &["9N736000000000011"];

/// The code of a yes/no question answered "はい".
pub const ANSWER_YES: &str = "1";
/// The code of a yes/no question answered "いいえ".
pub const ANSWER_NO: &str = "2";
