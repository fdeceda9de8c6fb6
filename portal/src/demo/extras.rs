//! The demo kenpo's paperwork beside its data: an お知らせ, a MYメール message, the household's
//! 資格情報のお知らせ and 資格確認書, and an open 被扶養者資格確認, each made through the same flows
//! the kenpo API calls. Made once: a kenpo that already shows a notice is left as it is.

use super::DemoError;
use crate::domain::NoticeReason;
use crate::flows::inbox::{self, Outgoing};
use crate::flows::notices::{self, Draft};
use crate::flows::qualification::{self, CardNumber};
use crate::flows::survey::{self, OpenSurvey, Scope};
use crate::store::{Card, Kenpo};
use time::{Date, Duration, OffsetDateTime};

/// The household's card: 記号 10, 番号 1234 (see `PEOPLE`).
const SYMBOL: &str = "10";
const NUMBER: &str = "1234";

pub async fn seed(
    state: &crate::app::AppState,
    kenpo: &Kenpo,
    today: Date,
    now: OffsetDateTime,
) -> Result<(), DemoError> {
    let db = &state.db;
    let fail = |what: &'static str| move |e: &dyn std::fmt::Display| DemoError::Extra(what, e.to_string());
    if !notices::latest(db, &kenpo.id, now).await.map_err(|e| fail("notices")(&e))?.is_empty() {
        return Ok(());
    }
    let published = (now - Duration::days(3)).to_offset(time::macros::offset!(+9));
    let draft = Draft {
        category: "health_insurance".to_owned(),
        title: "マイナ保険証の利用登録をお願いします".to_owned(),
        body: "医療機関の受付でマイナンバーカードを健康保険証として利用できます。\n\n\
               登録はマイナポータル（https://myna.go.jp/）から行えます。登録がお済みでない方には、\
               資格確認書をお送りしています。"
            .to_owned(),
        published_at: published.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        expires_at: None,
        attachments: None,
    };
    notices::create(db, &kenpo.id, draft, now).await.map_err(|e| fail("notice")(&e))?;

    let card = |branch: &str| Card {
        symbol: SYMBOL.to_owned(),
        number: NUMBER.to_owned(),
        branch: branch.to_owned(),
    };
    let message = Outgoing {
        subject: "特定保健指導のご案内".to_owned(),
        body: "昨年度の健診結果により、特定保健指導の対象となりました。\n\
               健診結果のページで判定をご確認のうえ、健康保険組合までご連絡ください。"
            .to_owned(),
        to_all: false,
        member_ids: Vec::new(),
        cards: vec![card("00")],
    };
    inbox::send(db, kenpo, message, now).await.map_err(|e| fail("MYメール")(&e))?;

    let issued_on = today - Duration::days(40);
    for branch in ["00", "01", "02"] {
        let card = CardNumber { symbol: SYMBOL, number: NUMBER, branch };
        qualification::record_notice(db, &kenpo.id, card, issued_on, NoticeReason::Enrolment, None, now)
            .await
            .map_err(|e| fail("資格情報のお知らせ")(&e))?;
    }
    // 花子 has no マイナ保険証: her 資格確認書, valid five years less a day.
    let hanako = CardNumber { symbol: SYMBOL, number: NUMBER, branch: "01" };
    let valid_until = issued_on.replace_year(issued_on.year() + 5).unwrap_or(issued_on) - Duration::days(1);
    qualification::record_certificate(db, &kenpo.id, hanako, issued_on, valid_until, None, now)
        .await
        .map_err(|e| fail("資格確認書")(&e))?;

    // This year's annual check, for the dependants 18 and over (花子, not 一郎).
    let spec = OpenSurvey {
        title: format!("{}年度 被扶養者資格確認", today.year()),
        base_date: today - Duration::days(7),
        deadline: today + Duration::days(30),
        scope: Scope { min_age: Some(18), members: Vec::new() },
    };
    survey::open(db, &kenpo.id, spec, "demo", now).await.map_err(|e| fail("被扶養者資格確認")(&e))?;
    Ok(())
}
