//! Importing the kenpo's files: all or nothing, idempotent, every error by line; the API.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_portal::domain::{KenpoId, Month};
use kenpo_portal::import::{
    ImportError, ImportKind, ImportOptions, ImportReport, import_file, new_api_token,
};
use kenpo_portal::store::KenpoStore;
use sqlx::Row;

on_every_backend!(
    a_good_file_of_each_kind_imports_and_reads_back,
    a_file_with_three_bad_lines_reports_all_three_and_writes_nothing,
    reimporting_the_same_file_changes_nothing_and_says_so,
    a_changed_amount_updates_the_claim_in_place,
    a_claim_for_an_unknown_member_is_a_line_error,
    a_shift_jis_file_imports,
    the_api_refuses_a_missing_or_wrong_token_with_401,
    the_api_imports_with_the_token_and_answers_422_with_every_error,
    purge_deletes_only_rows_older_than_the_cutoff,
);

const MEMBERS: &str = "\u{feff}symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\r\n\
1001,2345,00,本人,健保 太郎,ケンポ タロウ,19790822,1,2015-04-01,,7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a\r\n\
1001,2345,01,家族,健保 花子,ケンポ ハナコ,1981-03-15,2,2015-04-01,,\r\n\
1001,9999,00,insured,保険 次郎,,19900101,男,,,\r\n\r\n";

const CLAIMS_HEADER: &str = "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n";
const CLAIMS: &str = "R1,1001,2345,00,2025-04,外来,中央クリニック,2,12340,8638,0,3702,0,0,0,0\n\
R2,1001,2345,01,2025-04,柔整,,3,4500,3150,0,1350,,,,\n\
R3,1001,9999,00,2024-01,調剤,さくら薬局,1,3000,2100,0,900,,,,\n";

const BENEFITS: &str = "notice_no,symbol,number,branch,kind,paid_month,service_month,period_from,period_to,days,total_yen,public_yen,patient_yen,insurer_yen,amount_yen,daily_amount_yen,decided_on,paid_on,payee,income_category,many_times\n\
N1,1001,2345,00,kogaku,2025-06,2025-03,,,,1000000,0,300000,700000,212570,,2025-05-28,2025-06-20,事業主,ウ,0\n\
N2,1001,2345,00,shobyo,2023-06,,2023-04-01,2023-04-30,27,,,,,180000,6667,20230601,20230610,本人,,\n";

const PRESCRIPTIONS: &str = "claim_no,line_no,symbol,number,branch,dispensed_month,pharmacy,prescriber,drug_name,generic_name,strength,quantity,days,is_generic,amount_yen\n\
R3,1,1001,9999,00,2024-01,さくら薬局,中央クリニック,ロキソプロフェンNa錠60mg,ロキソプロフェンナトリウム,60mg,21錠,7,後発,210\n\
R3,2,1001,9999,00,2025-04,さくら薬局,,ムコスタ錠100mg,,100mg,21錠,7,先発,315\n";

async fn kenpo(app: &TestApp) -> KenpoId {
    let kenpo = app.state.db.kenpo_by_issuer(&app.state.config.idp_issuer).await.ok().flatten();
    kenpo.and_then(|k| KenpoId::parse(&k.id)).unwrap_or_else(|| panic!("the configured kenpo"))
}

async fn import(app: &TestApp, kind: ImportKind, body: &[u8]) -> Result<ImportReport, ImportError> {
    let options = ImportOptions { file_name: format!("{kind}.csv"), ..ImportOptions::default() };
    import_file(&app.state.db, &kenpo(app).await, kind, body, &options, time::OffsetDateTime::now_utc()).await
}

async fn imported(app: &TestApp, kind: ImportKind, body: &str) -> ImportReport {
    import(app, kind, body.as_bytes()).await.unwrap_or_else(|e| panic!("{kind}: {e} {e:?}"))
}

async fn count(app: &TestApp, table: &str) -> i64 {
    let row = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"));
    row.try_get::<i64, _>(0).unwrap_or_else(|e| panic!("count {table}: {e}"))
}

async fn a_good_file_of_each_kind_imports_and_reads_back(app: TestApp) {
    let members = imported(&app, ImportKind::Members, MEMBERS).await;
    assert_eq!((members.rows, members.inserted, members.updated, members.unchanged), (3, 3, 0, 0));
    assert_eq!((count(&app, "households").await, count(&app, "members").await), (2, 3));
    let claims = imported(&app, ImportKind::Claims, &format!("{CLAIMS_HEADER}{CLAIMS}")).await;
    assert_eq!((claims.rows, claims.inserted), (3, 3));
    let benefits = imported(&app, ImportKind::Benefits, BENEFITS).await;
    assert_eq!(benefits.inserted, 2);
    let prescriptions = imported(&app, ImportKind::Prescriptions, PRESCRIPTIONS).await;
    assert_eq!(prescriptions.inserted, 2);

    let row = sqlx::query(
        "SELECT m.name, c.category, c.institution, c.patient_yen FROM claims c \
         JOIN members m ON m.id = c.member_id WHERE c.claim_no = 'R2'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.try_get::<String, _>(0).ok().as_deref(), Some("健保 花子"));
    assert_eq!(row.try_get::<String, _>(1).ok().as_deref(), Some("judo"));
    assert_eq!(row.try_get::<Option<String>, _>(2).ok(), Some(None));
    assert_eq!(row.try_get::<i64, _>(3).ok(), Some(1350));
    let row = sqlx::query("SELECT kind, payee, income_category FROM benefits WHERE notice_no = 'N1'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.try_get::<String, _>(0).ok().as_deref(), Some("kogaku"));
    assert_eq!(row.try_get::<String, _>(1).ok().as_deref(), Some("employer"));
    let row = sqlx::query("SELECT subject FROM members WHERE branch = '00' AND name = '健保 太郎'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        row.try_get::<Option<String>, _>(0).ok().flatten().as_deref(),
        Some("7f0c1c2e-2a4b-4c1e-9d55-0b6f1e2d3c4a")
    );
    assert_eq!(count(&app, "imports").await, 4);
}

async fn a_file_with_three_bad_lines_reports_all_three_and_writes_nothing(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let body = format!(
        "{CLAIMS_HEADER}{CLAIMS}R4,1001,2345,00,2025-13,外来,X,1,10,7,0,3,,,,\n\
         R5,1001,2345,00,2025-04,外来,X,1,10,7,0,4,,,,\nR6,1001,2345,00,2025-04,外科,X,1,10,7,0,3,,,,\n"
    );
    let Err(ImportError::Refused(errors)) = import(&app, ImportKind::Claims, body.as_bytes()).await else {
        panic!("the file should be refused")
    };
    let got: Vec<(u64, &str)> = errors.iter().map(|e| (e.line, e.reason.code())).collect();
    assert_eq!(got, [(5, "not_a_month"), (6, "amounts_do_not_add_up"), (7, "unknown_category")]);
    assert!(
        errors[1]
            .message(kenpo_portal::import::Lang::Ja)
            .starts_with("6行目 total_yen: 金額の内訳が合いません")
    );
    assert_eq!(count(&app, "claims").await, 0, "all or nothing");
    assert_eq!(count(&app, "imports").await, 1, "only the members file is recorded");
}

async fn reimporting_the_same_file_changes_nothing_and_says_so(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let body = format!("{CLAIMS_HEADER}{CLAIMS}");
    let first = imported(&app, ImportKind::Claims, &body).await;
    assert!(!first.seen_before);
    let again = imported(&app, ImportKind::Claims, &body).await;
    assert_eq!((again.inserted, again.updated, again.unchanged, again.seen_before), (0, 0, 3, true));
    assert_eq!(again.sha256, first.sha256);
    let members = imported(&app, ImportKind::Members, MEMBERS).await;
    assert_eq!((members.inserted, members.updated, members.unchanged), (0, 0, 3));
    assert_eq!(count(&app, "claims").await, 3);
}

async fn a_changed_amount_updates_the_claim_in_place(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    imported(&app, ImportKind::Claims, &format!("{CLAIMS_HEADER}{CLAIMS}")).await;
    let changed = CLAIMS.replace("12340,8638,0,3702", "12350,8645,0,3705");
    let report = imported(&app, ImportKind::Claims, &format!("{CLAIMS_HEADER}{changed}")).await;
    assert_eq!((report.inserted, report.updated, report.unchanged), (0, 1, 2));
    let row = sqlx::query("SELECT total_yen, patient_yen FROM claims WHERE claim_no = 'R1'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((row.try_get::<i64, _>(0).ok(), row.try_get::<i64, _>(1).ok()), (Some(12350), Some(3705)));
    assert_eq!(count(&app, "claims").await, 3);
}

async fn a_claim_for_an_unknown_member_is_a_line_error(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let body = format!("{CLAIMS_HEADER}{CLAIMS}R9,1001,2345,07,2025-04,外来,X,1,10,7,0,3,,,,\n");
    let Err(ImportError::Refused(errors)) = import(&app, ImportKind::Claims, body.as_bytes()).await else {
        panic!("the file should be refused")
    };
    assert_eq!(errors.iter().map(|e| (e.line, e.reason.code())).collect::<Vec<_>>(), [(5, "unknown_member")]);
    assert_eq!(count(&app, "claims").await, 0);
}

async fn a_shift_jis_file_imports(app: TestApp) {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(MEMBERS.trim_start_matches('\u{feff}'));
    assert!(!unmappable);
    let report = import(&app, ImportKind::Members, &bytes).await.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(report.inserted, 3);
    let row = sqlx::query("SELECT name_kana FROM members WHERE name = '健保 花子'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(row.try_get::<String, _>(0).ok().as_deref(), Some("ケンポ ハナコ"));
}

async fn post(
    app: &TestApp,
    kind: &str,
    token: Option<&str>,
    body: String,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = app
        .http
        .post(app.url(&format!("/api/import/{kind}?file_name=test.csv")))
        .header("content-type", "text/csv; charset=utf-8")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("POST: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap_or_default())
}

async fn the_api_refuses_a_missing_or_wrong_token_with_401(app: TestApp) {
    new_api_token(&app.state.db, &kenpo(&app).await, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for token in [None, Some("kpi_wrong")] {
        let (status, headers, body) = post(&app, "members", token, MEMBERS.to_owned()).await;
        assert_eq!(status, 401, "{token:?}");
        assert!(headers.get("www-authenticate").is_some_and(|v| v.as_bytes().starts_with(b"Bearer")));
        assert_eq!(body["error"], "invalid_token");
    }
    assert_eq!(count(&app, "members").await, 0);
}

async fn the_api_imports_with_the_token_and_answers_422_with_every_error(app: TestApp) {
    let token = new_api_token(&app.state.db, &kenpo(&app).await, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, _, body) = post(&app, "members", Some(&token), MEMBERS.to_owned()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["kind"].as_str(), body["inserted"].as_u64(), body["file_name"].as_str()),
        (Some("members"), Some(3), Some("test.csv"))
    );
    let bad = format!("{CLAIMS_HEADER}R1,1001,2345,00,2025-04,外来,,2,10,7,0,2,,,,\n");
    let (status, _, body) = post(&app, "claims", Some(&token), bad).await;
    assert_eq!(status, 422, "{body}");
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 2, "{body}");
    assert_eq!((errors[0]["line"].as_u64(), errors[0]["column"].as_str()), (Some(2), Some("institution")));
    assert_eq!(errors[1]["reason"], "amounts_do_not_add_up");
    assert!(errors[1]["message_ja"].as_str().is_some_and(|m| m.contains("金額の内訳が合いません")));
    assert!(errors[1]["message_en"].as_str().is_some_and(|m| m.contains("amounts don't add up")));
    let revoked =
        app.state.db.revoke_import_tokens(&kenpo(&app).await, time::OffsetDateTime::now_utc()).await;
    assert_eq!(revoked.ok(), Some(1));
    let (status, _, _) = post(&app, "members", Some(&token), MEMBERS.to_owned()).await;
    assert_eq!(status, 401, "a revoked token is refused");
}

async fn purge_deletes_only_rows_older_than_the_cutoff(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    imported(&app, ImportKind::Claims, &format!("{CLAIMS_HEADER}{CLAIMS}")).await;
    imported(&app, ImportKind::Benefits, BENEFITS).await;
    imported(&app, ImportKind::Prescriptions, PRESCRIPTIONS).await;
    let kenpo = kenpo(&app).await;
    for (id, date) in [("c-old", "2023-12-31"), ("c-new", "2024-01-01")] {
        sqlx::query(
            "INSERT INTO checkups (id, kenpo_id, document_id, member_id, exam_date, institution, document, imported_at) \
             SELECT $1, kenpo_id, $1, id, $2, 'X', '<x/>', 0 FROM members WHERE branch = '01'",
        )
        .bind(id)
        .bind(date)
        .execute(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    sqlx::query("INSERT INTO health_data_reads (id, kenpo_id, reader_id, subject_id, what, at) VALUES ('r', $1, 'a', 'b', 'claims', 0)")
        .bind(kenpo.as_str())
        .execute(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let cutoff = Month::new(2024, 1).unwrap_or_else(|| panic!("month"));
    let report = app.state.db.purge_older_than(&kenpo, cutoff).await.unwrap_or_else(|e| panic!("{e}"));

    assert_eq!((report.claims, report.prescriptions, report.benefits, report.checkups), (0, 0, 1, 1));
    assert_eq!(count(&app, "claims").await, 3, "2024-01 is kept");
    assert_eq!(count(&app, "benefits").await, 1);
    assert_eq!(count(&app, "checkups").await, 1);
    assert_eq!(count(&app, "health_data_reads").await, 1, "the audit of reads is never purged");
    let later = Month::new(2025, 4).unwrap_or_else(|| panic!("month"));
    let report = app.state.db.purge_older_than(&kenpo, later).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((report.claims, report.prescriptions), (1, 1));
}
