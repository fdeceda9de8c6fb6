//! Importing the kenpo's files: all or nothing, idempotent, every error by line (or, for
//! checkups, by file and XML path); the API and the CLI.

use crate::helpers::{TestApp, on_every_backend};
use kenpo_portal::domain::{KenpoId, MemberId, Month};
use kenpo_portal::flows::checkups;
use kenpo_portal::import::{
    ImportError, ImportKind, ImportOptions, ImportReport, import_file, new_api_token,
};
use kenpo_portal::store::{KenpoStore, RecordStore};
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
    a_checkup_posted_to_the_api_is_stored_and_the_same_file_again_changes_nothing,
    a_zip_with_one_broken_document_is_refused_naming_it_in_japanese_and_stores_nothing,
    the_checkup_api_refuses_other_content_types_with_415_and_no_token_with_401,
    a_checkup_dry_run_counts_but_stores_and_records_nothing,
    the_cli_imports_a_checkup_and_refuses_a_broken_one_with_exit_code_1,
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

/// The hand-written 2025 exam, for 健保 太郎 of `MEMBERS` (card 1001-2345, born 1979-08-22).
fn checkup_xml() -> String {
    include_str!("../fixtures/checkup/h0000000001202504150001.xml")
        .replace("extension=\"ケンポ１\"", "extension=\"1001\"")
        .replace("extension=\"4321\"", "extension=\"2345\"")
        .replace("19721020", "19790822")
}

/// The 2024 exam for the same member with a birth date that is no date.
fn broken_checkup_xml() -> String {
    include_str!("../fixtures/checkup/h0000000001202404160001.xml")
        .replace("extension=\"ケンポ１\"", "extension=\"1001\"")
        .replace("extension=\"4321\"", "extension=\"2345\"")
        .replace("19721020", "19791399")
}

fn submission_zip(entries: &[(&str, &str)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in entries {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap_or_else(|e| panic!("zip {name}: {e}"));
        writer.write_all(text.as_bytes()).unwrap_or_else(|e| panic!("zip {name}: {e}"));
    }
    writer.finish().unwrap_or_else(|e| panic!("zip: {e}")).into_inner()
}

async fn post_checkup(
    app: &TestApp,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut request = app
        .http
        .post(app.url("/api/import/checkups?file_name=h0001.xml"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("POST: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

async fn token(app: &TestApp) -> String {
    new_api_token(&app.state.db, &kenpo(app).await, time::OffsetDateTime::now_utc())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn a_checkup_posted_to_the_api_is_stored_and_the_same_file_again_changes_nothing(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let token = token(&app).await;

    let (status, body) =
        post_checkup(&app, Some(&token), "application/xml; charset=utf-8", checkup_xml().into_bytes()).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["kind"].as_str(), body["documents"].as_u64(), body["inserted"].as_u64()),
        (Some("checkups"), Some(1), Some(1))
    );
    assert_eq!((body["file_name"].as_str(), body["seen_before"].as_bool()), (Some("h0001.xml"), Some(false)));
    let row = sqlx::query("SELECT member_id FROM checkups")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let member: String = row.try_get(0).unwrap_or_else(|e| panic!("{e}"));
    let member = MemberId::parse(&member).unwrap_or_else(|| panic!("a member id: {member}"));
    let exams = app.state.db.checkups(&[member], "2000-01-01").await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(exams.iter().map(|e| e.exam_date.as_str()).collect::<Vec<_>>(), ["2025-04-15"]);
    let rules = kenpo_portal::checkup::RuleSet::mhlw_4th().unwrap_or_else(|e| panic!("{e}"));
    let (view, _) = kenpo_portal::flows::checkups::view(&exams[0], &rules, kenpo_portal::i18n::Locale::Ja)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!view.items.is_empty(), "the stored document reads back as an exam");

    let (status, again) = post_checkup(&app, Some(&token), "text/xml", checkup_xml().into_bytes()).await;

    assert_eq!(status, 200, "{again}");
    assert_eq!(
        (again["inserted"].as_u64(), again["updated"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(0), Some(1))
    );
    assert_eq!((again["seen_before"].as_bool(), &again["sha256"]), (Some(true), &body["sha256"]));
    assert_eq!(count(&app, "checkups").await, 1);
    assert_eq!(count(&app, "imports").await, 3, "the members file and the checkup file twice");
}

async fn a_zip_with_one_broken_document_is_refused_naming_it_in_japanese_and_stores_nothing(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let token = token(&app).await;
    let zip = submission_zip(&[
        ("ix08_V08.xml", "<exchange/>"),
        ("DATA/h0000000001202504150001.xml", &checkup_xml()),
        ("DATA/h0000000001202404160001.xml", &broken_checkup_xml()),
    ]);

    let (status, body) = post_checkup(&app, Some(&token), "application/zip", zip).await;

    assert_eq!(status, 422, "{body}");
    let errors = body["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{body}");
    let error = &errors[0];
    assert_eq!(
        (error["file"].as_str(), error["reason"].as_str()),
        (Some("h0000000001202404160001.xml"), Some("invalid"))
    );
    let path = error["path"].as_str().unwrap_or_default();
    assert!(path.starts_with("/ClinicalDocument/recordTarget/patientRole/patient/birthTime"), "{path}");
    let message = error["message_ja"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("h0000000001202404160001.xml {path}: 値が正しくありません")),
        "{message}"
    );
    assert!(error["message_en"].as_str().is_some_and(|m| m.starts_with("h0000000001202404160001.xml /")));
    assert_eq!(count(&app, "checkups").await, 0, "all or nothing");
    assert_eq!(count(&app, "imports").await, 1, "only the members file is recorded");
}

async fn the_checkup_api_refuses_other_content_types_with_415_and_no_token_with_401(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let token = token(&app).await;

    let (status, body) = post_checkup(&app, Some(&token), "text/csv", checkup_xml().into_bytes()).await;

    assert_eq!(status, 415, "{body}");
    assert_eq!(body["error"], "unsupported_media_type");
    for media in ["application/xml", "text/xml", "application/zip"] {
        assert!(body["message_en"].as_str().is_some_and(|m| m.contains(media)), "{body}");
        assert!(body["message_ja"].as_str().is_some_and(|m| m.contains(media)), "{body}");
    }
    let (status, body) = post_checkup(&app, None, "application/xml", checkup_xml().into_bytes()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_token")));
    assert_eq!(count(&app, "checkups").await, 0);
}

async fn a_checkup_dry_run_counts_but_stores_and_records_nothing(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let options =
        ImportOptions { file_name: "h0001.xml".to_owned(), dry_run: true, ..ImportOptions::default() };

    let report = checkups::import(
        &app.state.db,
        &kenpo(&app).await,
        checkup_xml().as_bytes(),
        &options,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:?}"));

    assert_eq!((report.documents, report.inserted, report.dry_run), (1, 1, true));
    assert_eq!(report.sha256.len(), 64);
    assert_eq!(count(&app, "checkups").await, 0);
    assert_eq!(count(&app, "imports").await, 1, "a dry run is not recorded");
}

/// Runs `kenpo-portal import --kenpo … checkups FILE` against the test's database.
async fn run_cli(app: &TestApp, file: &std::path::Path) -> std::process::Output {
    use secrecy::ExposeSecret;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_kenpo-portal"));
    command
        .env("KENPO_PORTAL_DATABASE_URL", app.state.config.database_url.expose_secret())
        .env("KENPO_PORTAL_DATA_DIR", &app.state.config.data_dir)
        .args(["import", "--kenpo", &app.state.config.idp_issuer, "checkups"])
        .arg(file);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("kenpo-portal: {e}"))
}

async fn the_cli_imports_a_checkup_and_refuses_a_broken_one_with_exit_code_1(app: TestApp) {
    imported(&app, ImportKind::Members, MEMBERS).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (good, bad) = (dir.path().join("good.xml"), dir.path().join("bad.xml"));
    std::fs::write(&good, checkup_xml()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&bad, broken_checkup_xml()).unwrap_or_else(|e| panic!("{e}"));

    let ok = run_cli(&app, &good).await;
    let refused = run_cli(&app, &bad).await;

    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout} {}", String::from_utf8_lossy(&ok.stderr));
    assert!(stdout.starts_with("checkups good.xml: 1件（追加 1、更新 0、変更なし 0）"), "{stdout}");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("bad.xml /ClinicalDocument/recordTarget/patientRole/patient/birthTime"),
        "{stderr}"
    );
    assert!(stderr.contains("値が正しくありません"), "{stderr}");
    assert!(stderr.contains("1件のエラーのため、ファイル全体を取り込みませんでした"), "{stderr}");
    assert_eq!(count(&app, "checkups").await, 1);
}
