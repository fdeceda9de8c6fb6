//! What a 資格情報のお知らせ states of its person and insurer, kept with the notice as issued
//! (column `qualification_notices.snapshot`, JSON), and the card holder it is drawn from.

use crate::domain::{MemberId, Relation};
use serde::{Deserialize, Serialize};

/// The person and insurer as a 資格情報のお知らせ stated them when it was issued (spec §6), kept
/// with the notice (JSON) so that a later member import does not rewrite an issued document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSnapshot {
    /// 保険者名称
    pub insurer_name: String,
    /// 保険者番号 (empty when the kenpo had not set it).
    pub insurer_number: String,
    /// 氏名
    pub name: String,
    /// 生年月日, `YYYY-MM-DD`.
    pub birth_date: String,
    /// 記号・番号・枝番
    pub symbol: String,
    pub number: String,
    pub branch: String,
    /// 被保険者 (true) or 被扶養者.
    pub insured: bool,
    /// 資格取得年月日, `YYYY-MM-DD`.
    pub acquired_on: Option<String>,
}

/// The member holding a card, with what a 資格情報のお知らせ states about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardPerson {
    pub member_id: MemberId,
    pub name: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub symbol: String,
    pub number: String,
    pub branch: String,
    pub relation: Relation,
    /// `YYYY-MM-DD`.
    pub acquired_on: Option<String>,
}
