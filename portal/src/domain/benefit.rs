//! 給付金の種類 (spec §7): the kinds of benefit decision the kenpo notifies, each with a stable code
//! (what files and the database carry) and the labels members read.

use serde::{Deserialize, Serialize};

macro_rules! kinds {
    ($($variant:ident => $code:literal, $ja:literal, $en:literal;)*) => {
        /// A kind of 支給決定. Codes are romanised Japanese so that the kenpo's staff recognise them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum BenefitKind {
            $(#[doc = $ja] $variant,)*
        }

        impl BenefitKind {
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $code,)* }
            }

            pub fn label_ja(self) -> &'static str {
                match self { $(Self::$variant => $ja,)* }
            }

            pub fn label_en(self) -> &'static str {
                match self { $(Self::$variant => $en,)* }
            }
        }
    };
}

kinds! {
    Kogaku => "kogaku", "高額療養費", "High-cost medical care benefit";
    GassanKogaku => "gassan_kogaku", "合算高額療養費", "Combined high-cost medical care benefit";
    Ryoyohi => "ryoyohi", "療養費", "Medical care expenses";
    HomonKango => "homon_kango", "訪問看護療養費", "Home-visit nursing care expenses";
    Iso => "iso", "移送費", "Transport expenses";
    Shobyo => "shobyo", "傷病手当金", "Sickness and injury allowance";
    ShussanTeate => "shussan_teate", "出産手当金", "Maternity allowance";
    ShussanIkuji => "shussan_ikuji", "出産育児一時金", "Lump-sum childbirth allowance";
    Maiso => "maiso", "埋葬料", "Burial expenses";
    KazokuRyoyohi => "kazoku_ryoyohi", "家族療養費", "Family medical care expenses";
    KazokuShussanIkuji => "kazoku_shussan_ikuji", "家族出産育児一時金", "Family lump-sum childbirth allowance";
    KazokuMaiso => "kazoku_maiso", "家族埋葬料", "Family burial expenses";
    IchibuKangen => "ichibu_kangen", "一部負担還元金", "Co-payment refund (additional benefit)";
    KazokuFukakin => "kazoku_fukakin", "家族療養費付加金", "Family medical care additional benefit";
    GassanFukakin => "gassan_fukakin", "合算高額療養費付加金", "Combined high-cost additional benefit";
    HomonKangoFukakin => "homon_kango_fukakin", "訪問看護療養費付加金", "Home-visit nursing additional benefit";
    ShussanIkujiFukakin => "shussan_ikuji_fukakin", "出産育児一時金付加金", "Childbirth allowance additional benefit";
    MaisoFukakin => "maiso_fukakin", "埋葬料付加金", "Burial expenses additional benefit";
}

impl BenefitKind {
    /// The code, or the Japanese label as a kenpo's spreadsheet may write it.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.iter().copied().find(|k| k.as_str() == s || k.label_ja() == s)
    }

    /// Benefits that compensate medical expenses (補填), deducted in the medical expense
    /// deduction (spec §3.4); the allowances (手当金) are not.
    pub fn compensates_expenses(self) -> bool {
        !matches!(
            self,
            Self::Shobyo | Self::ShussanTeate | Self::Maiso | Self::KazokuMaiso | Self::MaisoFukakin
        )
    }
}

/// Who the kenpo paid: through the employer (事業主) or the member's account (本人).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    Employer,
    Member,
}

impl Payee {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employer => "employer",
            Self::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "employer" | "事業主" => Some(Self::Employer),
            "member" | "本人" => Some(Self::Member),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_code_and_its_japanese_label() {
        for kind in BenefitKind::ALL {
            assert_eq!(BenefitKind::parse(kind.as_str()), Some(*kind));
            assert_eq!(BenefitKind::parse(kind.label_ja()), Some(*kind));
        }
        assert_eq!(BenefitKind::parse("高額"), None);
    }

    #[test]
    fn allowances_do_not_compensate_medical_expenses() {
        assert!(!BenefitKind::Shobyo.compensates_expenses());
        assert!(BenefitKind::Kogaku.compensates_expenses());
        assert!(BenefitKind::IchibuKangen.compensates_expenses());
    }
}
