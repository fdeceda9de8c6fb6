//! Why a line was refused: a code for machines (`code()`, the API's `reason`), a Japanese text
//! for the kenpo's staff and an English one.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReasonCode {
    FileTooLarge { max: usize },
    LineTooLong { max: usize },
    EmbeddedNul,
    NotUtf8OrShiftJis,
    NotCsv,
    Empty,
    UnknownColumn { name: String },
    DuplicateColumn,
    MissingColumns { missing: Vec<&'static str>, required: &'static [&'static str] },
    FieldCount { found: usize, expected: usize },
    Required,
    TooLong { max: usize },
    ControlCharacter,
    NotAnAmount,
    NotAMonth,
    NotADate,
    NotAFlag,
    Invalid,
    Duplicate { first: u64 },
    UnknownRelation,
    UnknownSex,
    UnknownCategory,
    UnknownBenefitKind,
    UnknownPayee,
    NotASubject,
    SubjectTaken,
    HouseholdWithoutInsured,
    HouseholdWithSeveralInsured { first: u64 },
    InstitutionRequired,
    AmountsDoNotAddUp { total: i64, sum: i64 },
    PeriodReversed,
    UnknownMember,
}

impl ReasonCode {
    pub fn code(&self) -> &'static str {
        match self {
            Self::FileTooLarge { .. } => "file_too_large",
            Self::LineTooLong { .. } => "line_too_long",
            Self::EmbeddedNul => "embedded_nul",
            Self::NotUtf8OrShiftJis => "not_utf8_or_shift_jis",
            Self::NotCsv => "not_csv",
            Self::Empty => "empty",
            Self::UnknownColumn { .. } => "unknown_column",
            Self::DuplicateColumn => "duplicate_column",
            Self::MissingColumns { .. } => "missing_columns",
            Self::FieldCount { .. } => "field_count",
            Self::Required => "required",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacter => "control_character",
            Self::NotAnAmount => "not_an_amount",
            Self::NotAMonth => "not_a_month",
            Self::NotADate => "not_a_date",
            Self::NotAFlag => "not_a_flag",
            Self::Invalid => "invalid",
            Self::Duplicate { .. } => "duplicate",
            Self::UnknownRelation => "unknown_relation",
            Self::UnknownSex => "unknown_sex",
            Self::UnknownCategory => "unknown_category",
            Self::UnknownBenefitKind => "unknown_benefit_kind",
            Self::UnknownPayee => "unknown_payee",
            Self::NotASubject => "not_a_subject",
            Self::SubjectTaken => "subject_taken",
            Self::HouseholdWithoutInsured => "household_without_insured",
            Self::HouseholdWithSeveralInsured { .. } => "household_with_several_insured",
            Self::InstitutionRequired => "institution_required",
            Self::AmountsDoNotAddUp { .. } => "amounts_do_not_add_up",
            Self::PeriodReversed => "period_reversed",
            Self::UnknownMember => "unknown_member",
        }
    }

    pub fn ja(&self) -> String {
        match self {
            Self::FileTooLarge { max } => format!("ファイルが大きすぎます（上限 {max} バイト）"),
            Self::LineTooLong { max } => format!("行が長すぎます（上限 {max} バイト）"),
            Self::EmbeddedNul => "NUL 文字が含まれています".to_owned(),
            Self::NotUtf8OrShiftJis => "文字コードが UTF-8 でも Shift_JIS でもありません".to_owned(),
            Self::NotCsv => "CSV として読めません".to_owned(),
            Self::Empty => "データ行がありません".to_owned(),
            Self::UnknownColumn { name } => format!("不明な列「{name}」があります"),
            Self::DuplicateColumn => "列が重複しています".to_owned(),
            Self::MissingColumns { missing, required } => {
                format!("必須の列 {} がありません（必須: {}）", missing.join(","), required.join(","))
            }
            Self::FieldCount { found, expected } => {
                format!("項目数が {found} です（見出しは {expected} 列）")
            }
            Self::Required => "必須項目が空です".to_owned(),
            Self::TooLong { max } => format!("{max} 文字を超えています"),
            Self::ControlCharacter => "制御文字が含まれています".to_owned(),
            Self::NotAnAmount => "0 以上の整数ではありません".to_owned(),
            Self::NotAMonth => "年月（YYYY-MM または YYYYMM）ではありません".to_owned(),
            Self::NotADate => "日付（YYYYMMDD または YYYY-MM-DD）ではありません".to_owned(),
            Self::NotAFlag => "1/0 のいずれかではありません".to_owned(),
            Self::Invalid => "不正な行です".to_owned(),
            Self::Duplicate { first } => format!("{first}行目と同じキーです"),
            Self::UnknownRelation => "続柄は 本人・家族（insured・dependant）のいずれかです".to_owned(),
            Self::UnknownSex => "性別は 1・2・男・女 のいずれかです".to_owned(),
            Self::UnknownCategory => {
                "診療区分は 入院・外来・歯科・調剤・訪問看護・柔整 のいずれかです".to_owned()
            }
            Self::UnknownBenefitKind => "給付種別のコードが不明です".to_owned(),
            Self::UnknownPayee => "支払先は 事業主・本人（employer・member）のいずれかです".to_owned(),
            Self::NotASubject => "IdP の利用者 ID（UUID 形式）ではありません".to_owned(),
            Self::SubjectTaken => "この IdP 利用者 ID は別の加入者に登録済みです".to_owned(),
            Self::HouseholdWithoutInsured => "この世帯（記号・番号）に本人の行がありません".to_owned(),
            Self::HouseholdWithSeveralInsured { first } => {
                format!("この世帯の本人は {first}行目にもあります（本人は1人です）")
            }
            Self::InstitutionRequired => "医療機関名は柔整以外では必須です".to_owned(),
            Self::AmountsDoNotAddUp { total, sum } => {
                format!("金額の内訳が合いません（総額 {total} 円、健保・公費・窓口負担の計 {sum} 円）")
            }
            Self::PeriodReversed => "期間の開始日が終了日より後です".to_owned(),
            Self::UnknownMember => "記号・番号・枝番の加入者が登録されていません".to_owned(),
        }
    }

    pub fn en(&self) -> String {
        match self {
            Self::FileTooLarge { max } => format!("the file is too large (limit {max} bytes)"),
            Self::LineTooLong { max } => format!("the line is too long (limit {max} bytes)"),
            Self::EmbeddedNul => "contains a NUL character".to_owned(),
            Self::NotUtf8OrShiftJis => "the file is neither UTF-8 nor Shift_JIS".to_owned(),
            Self::NotCsv => "not valid CSV".to_owned(),
            Self::Empty => "the file has no data lines".to_owned(),
            Self::UnknownColumn { name } => format!("unknown column {name:?}"),
            Self::DuplicateColumn => "the column appears twice".to_owned(),
            Self::MissingColumns { missing, required } => {
                format!("missing column(s) {} (required: {})", missing.join(","), required.join(","))
            }
            Self::FieldCount { found, expected } => format!("has {found} fields, the header has {expected}"),
            Self::Required => "required but empty".to_owned(),
            Self::TooLong { max } => format!("longer than {max} characters"),
            Self::ControlCharacter => "contains a control character".to_owned(),
            Self::NotAnAmount => "not a non-negative integer".to_owned(),
            Self::NotAMonth => "not a month (YYYY-MM or YYYYMM)".to_owned(),
            Self::NotADate => "not a date (YYYYMMDD or YYYY-MM-DD)".to_owned(),
            Self::NotAFlag => "not a flag (1 or 0)".to_owned(),
            Self::Invalid => "invalid line".to_owned(),
            Self::Duplicate { first } => format!("repeats the key of line {first}"),
            Self::UnknownRelation => "relation must be 本人/家族 (insured/dependant)".to_owned(),
            Self::UnknownSex => "sex must be 1, 2, 男 or 女".to_owned(),
            Self::UnknownCategory => {
                "category must be 入院/外来/歯科/調剤/訪問看護/柔整 or inpatient/outpatient/dental/pharmacy/visiting_nursing/judo"
                    .to_owned()
            }
            Self::UnknownBenefitKind => "unknown benefit kind code".to_owned(),
            Self::UnknownPayee => "payee must be 事業主/本人 (employer/member)".to_owned(),
            Self::NotASubject => "not an IdP user id (UUID-like)".to_owned(),
            Self::SubjectTaken => "this IdP user id already belongs to another member".to_owned(),
            Self::HouseholdWithoutInsured => "the household (symbol, number) has no insured (本人) line".to_owned(),
            Self::HouseholdWithSeveralInsured { first } => {
                format!("the household's insured person is also on line {first} (there is one)")
            }
            Self::InstitutionRequired => "the institution is required except for judo (柔整)".to_owned(),
            Self::AmountsDoNotAddUp { total, sum } => {
                format!("amounts don't add up (total {total} yen, insurer + public + patient = {sum} yen)")
            }
            Self::PeriodReversed => "the period starts after it ends".to_owned(),
            Self::UnknownMember => "no member with this symbol, number and branch has been imported".to_owned(),
        }
    }
}

/// On the wire a reason is its code; the texts go beside it (`message_ja`, `message_en`).
impl Serialize for ReasonCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}
