//! `kenpo-bench import`: generates a realistic members file and claims file, imports them
//! through `kenpo_portal::import::import_file` (the CLI's and the API's code path) and prints
//! rows/s.
//!
//! ```text
//! CARGO_TARGET_DIR=/var/tmp/kenpo-target cargo run --release -p kenpo-bench -- import --backend postgres --rows 200000
//! ```

use crate::Backend;
use anyhow::Context;
use clap::Parser;
use kenpo_portal::domain::{KenpoId, MemberId};
use kenpo_portal::import::{ImportKind, ImportLimits, ImportOptions, ImportReport, import_file};
use kenpo_portal::store::{Db, KenpoStore, NewKenpo};
use std::fmt::Write as _;
use std::time::Instant;
use time::OffsetDateTime;

#[derive(Debug, Parser)]
#[command(name = "kenpo-bench import", about = "Import throughput of kenpo-portal's claims file")]
pub struct ImportCli {
    #[arg(long, value_enum)]
    backend: Backend,
    /// Claim lines in the generated file.
    #[arg(long, default_value_t = 200_000)]
    rows: usize,
    /// Claims per member (members = rows / this, in households of three).
    #[arg(long, default_value_t = 10)]
    claims_per_member: usize,
    #[arg(long, env = "TEST_DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
}

pub fn run(cli: &ImportCli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(bench(cli))
}

async fn bench(cli: &ImportCli) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let (url, pg) = match cli.backend {
        Backend::Sqlite => (format!("sqlite://{}", data.path().join("portal.db").display()), None),
        Backend::Postgres => {
            let pg = crate::seed::PgDatabase::create(&cli.database_url).await?;
            (pg.url.clone(), Some(pg))
        }
    };
    let db = Db::connect(&url).await.context("connecting")?;
    db.migrate().await.context("migrating")?;
    let kenpo = db
        .upsert_kenpo(
            NewKenpo {
                issuer: "https://idp.example.jp/realms/bench".to_owned(),
                client_id: "portal".to_owned(),
                host: None,
                display_name: "ベンチ健康保険組合".to_owned(),
                client_secret_sealed: None,
            },
            OffsetDateTime::now_utc(),
        )
        .await?;
    let kenpo = KenpoId::parse(&kenpo.id).context("kenpo id")?;
    let households = (cli.rows / cli.claims_per_member.max(1) / 3).max(1);
    let (members, claims) = generate(households, cli.rows);
    println!(
        "## kenpo-portal import ({:?}, {} claim rows, {} members, claims file {:.1} MB)\n",
        cli.backend,
        cli.rows,
        households * 3,
        mb(claims.len())
    );
    println!("| file | rows | bytes | seconds | rows/s | inserted | updated | unchanged |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    timed(&db, &kenpo, ImportKind::Members, "members.csv", &members).await?;
    timed(&db, &kenpo, ImportKind::Claims, "claims.csv (new)", &claims).await?;
    timed(&db, &kenpo, ImportKind::Claims, "claims.csv (again)", &claims).await?;
    phases(&claims)?;
    db.close().await;
    if let Some(pg) = pg {
        pg.drop_database().await?;
    }
    Ok(())
}

fn mb(bytes: usize) -> f64 {
    f64::from(u32::try_from(bytes).unwrap_or(u32::MAX)) / 1_048_576.0
}

async fn timed(
    db: &Db,
    kenpo: &KenpoId,
    kind: ImportKind,
    name: &str,
    body: &str,
) -> anyhow::Result<ImportReport> {
    let options = ImportOptions { file_name: name.to_owned(), ..ImportOptions::default() };
    let started = Instant::now();
    let report = import_file(db, kenpo, kind, body.as_bytes(), &options, OffsetDateTime::now_utc())
        .await
        .map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
    let seconds = started.elapsed().as_secs_f64();
    #[expect(clippy::cast_precision_loss, reason = "a rate for people to read")]
    let rate = report.rows as f64 / seconds;
    println!(
        "| {name} | {} | {} | {seconds:.2} | {rate:.0} | {} | {} | {} |",
        report.rows,
        body.len(),
        report.inserted,
        report.updated,
        report.unchanged
    );
    Ok(report)
}

/// Where an import's time goes outside the database: parsing the claims file alone, and
/// minting one UUID per row as the store does (`MemberId::new` is the same v4 UUID as text).
fn phases(claims: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let lines = kenpo_portal::import::claims::parse(claims.as_bytes(), ImportLimits::default())
        .map_err(|e| anyhow::anyhow!("parse: {} errors", e.len()))?;
    let parse = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let ids: Vec<MemberId> = lines.iter().map(|_| MemberId::new()).collect();
    let mint = started.elapsed().as_secs_f64();
    println!(
        "\nOutside the database, for {} claim rows: parsing {parse:.2} s, minting their ids {mint:.2} s.",
        ids.len()
    );
    Ok(())
}

/// Households of an insured person and two dependants; claims spread over 24 service months
/// and the six categories, amounts that add up, 柔整 without an institution.
fn generate(households: usize, rows: usize) -> (String, String) {
    let mut members = String::from(
        "symbol,number,branch,relation,name,name_kana,birth_date,sex,acquired_on,lost_on,idp_subject\n",
    );
    for h in 0..households {
        let (symbol, number) = (1000 + h % 500, h);
        let _ =
            writeln!(members, "{symbol},{number},00,本人,健保 太郎{h},ケンポ タロウ,19790822,1,2015-04-01,,");
        let _ =
            writeln!(members, "{symbol},{number},01,家族,健保 花子{h},ケンポ ハナコ,19810315,2,2015-04-01,,");
        let _ = writeln!(
            members,
            "{symbol},{number},02,家族,健保 一郎{h},ケンポ イチロウ,20120505,1,2015-04-01,,"
        );
    }
    let categories = ["外来", "入院", "歯科", "調剤", "訪問看護", "柔整"];
    let institutions =
        ["中央クリニック", "さくら薬局", "市立総合病院", "みどり歯科医院", "訪問看護ステーションあおば"];
    let mut claims = String::from(
        "claim_no,symbol,number,branch,service_month,category,institution,days,total_yen,insurer_yen,public_yen,patient_yen,meal_yen,statutory_refund_yen,additional_refund_yen,reduced\n",
    );
    for i in 0..rows {
        let h = i % households;
        let branch = (i / households) % 3;
        let month = 1 + i % 12;
        let year = 2024 + (i / 12) % 2;
        let category = categories[i % 7 % categories.len()];
        let institution = if category == "柔整" { "" } else { institutions[i % institutions.len()] };
        let total = 1_000 + (i * 7_919) % 300_000;
        let patient = total * 3 / 10;
        let public = if i % 17 == 0 { total / 10 } else { 0 };
        let insurer = total - patient - public;
        let meal = if category == "入院" { 6_900 } else { 0 };
        let _ = writeln!(
            claims,
            "R{i:010},{},{h},{branch:02},{year}-{month:02},{category},{institution},{},{total},{insurer},{public},{patient},{meal},0,0,0",
            1000 + h % 500,
            1 + i % 5
        );
    }
    (members, claims)
}
