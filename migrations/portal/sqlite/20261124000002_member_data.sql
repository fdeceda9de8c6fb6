-- (SQLite twin of the PostgreSQL migration.) Members, households and the kenpo's data about them (claims, benefit decisions, prescriptions,
-- checkups), the kenpo's settings, and the audit of health-data reads. Types as in the
-- foundation: TEXT, BIGINT (epoch milliseconds, yen), 0/1 INTEGER flags. Months are 'YYYY-MM',
-- dates 'YYYY-MM-DD' (Japan time), so that text order is time order.

-- The kenpo's settings (edition, features, retention, visibility) as one JSON document: they are
-- read together on every request and changed together by the kenpo (flows::tenant::Settings).
ALTER TABLE kenpos ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

-- An insured person's household, known by the card's 記号・番号.
CREATE TABLE households (
    id         TEXT PRIMARY KEY,
    kenpo_id   TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    symbol     TEXT NOT NULL,
    number     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT households_card_key UNIQUE (kenpo_id, symbol, number)
);

-- 被保険者 (relation 'insured', 枝番 usually 00) and 被扶養者 ('dependant'). `subject` is the IdP
-- user (`sub`) who signs in as this member; a dependant without one is seen through the insured.
CREATE TABLE members (
    id                  TEXT PRIMARY KEY,
    kenpo_id            TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    household_id        TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    branch              TEXT NOT NULL,
    relation            TEXT NOT NULL CHECK (relation IN ('insured', 'dependant')),
    name                TEXT NOT NULL,
    name_kana           TEXT NOT NULL DEFAULT '',
    birth_date          TEXT NOT NULL,
    sex                 TEXT NOT NULL CHECK (sex IN ('male', 'female')),
    subject             TEXT,
    acquired_on         TEXT,
    lost_on             TEXT,
    -- The member asked that the insured not see their data (spec: household disclosure opt-out).
    hidden_from_household INTEGER NOT NULL DEFAULT 0,
    updated_at          BIGINT NOT NULL,
    CONSTRAINT members_branch_key UNIQUE (household_id, branch),
    CONSTRAINT members_subject_key UNIQUE (kenpo_id, subject)
);
CREATE INDEX members_household ON members (household_id);

-- One レセプト: person × 診療年月 × institution × 診療区分. `claim_no` is the kenpo's key, so a
-- re-import updates rather than duplicates.
CREATE TABLE claims (
    id                  TEXT PRIMARY KEY,
    kenpo_id            TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    claim_no            TEXT NOT NULL,
    member_id           TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    service_month       TEXT NOT NULL,
    category            TEXT NOT NULL CHECK (category IN
                            ('inpatient', 'outpatient', 'dental', 'pharmacy', 'visiting_nursing', 'judo')),
    institution         TEXT,
    days                BIGINT NOT NULL,
    total_yen           BIGINT NOT NULL,
    insurer_yen         BIGINT NOT NULL,
    public_yen          BIGINT NOT NULL,
    patient_yen         BIGINT NOT NULL,
    meal_yen            BIGINT NOT NULL DEFAULT 0,
    statutory_refund_yen  BIGINT NOT NULL DEFAULT 0,
    additional_refund_yen BIGINT NOT NULL DEFAULT 0,
    reduced             INTEGER NOT NULL DEFAULT 0,
    imported_at         BIGINT NOT NULL,
    CONSTRAINT claims_no_key UNIQUE (kenpo_id, claim_no)
);
CREATE INDEX claims_member_month ON claims (member_id, service_month);

-- 給付金支給決定: one notice each, keyed by the kenpo's notice number.
CREATE TABLE benefits (
    id              TEXT PRIMARY KEY,
    kenpo_id        TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    notice_no       TEXT NOT NULL,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    paid_month      TEXT NOT NULL,
    service_month   TEXT,
    period_from     TEXT,
    period_to       TEXT,
    days            BIGINT,
    total_yen       BIGINT,
    public_yen      BIGINT,
    patient_yen     BIGINT,
    insurer_yen     BIGINT,
    amount_yen      BIGINT NOT NULL,
    daily_amount_yen BIGINT,
    decided_on      TEXT NOT NULL,
    paid_on         TEXT,
    payee           TEXT NOT NULL CHECK (payee IN ('employer', 'member')),
    income_category TEXT,
    many_times      INTEGER NOT NULL DEFAULT 0,
    imported_at     BIGINT NOT NULL,
    CONSTRAINT benefits_no_key UNIQUE (kenpo_id, notice_no)
);
CREATE INDEX benefits_member_month ON benefits (member_id, paid_month);

-- One drug line of a 調剤 (or 医科) レセプト.
CREATE TABLE prescriptions (
    id              TEXT PRIMARY KEY,
    kenpo_id        TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    claim_no        TEXT NOT NULL,
    line_no         BIGINT NOT NULL,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    dispensed_month TEXT NOT NULL,
    pharmacy        TEXT NOT NULL,
    prescriber      TEXT,
    drug_name       TEXT NOT NULL,
    generic_name    TEXT,
    strength        TEXT NOT NULL DEFAULT '',
    quantity        TEXT NOT NULL,
    days            BIGINT NOT NULL,
    is_generic      INTEGER NOT NULL,
    amount_yen      BIGINT NOT NULL,
    imported_at     BIGINT NOT NULL,
    CONSTRAINT prescriptions_line_key UNIQUE (kenpo_id, claim_no, line_no)
);
CREATE INDEX prescriptions_member_month ON prescriptions (member_id, dispensed_month);

-- One 特定健診 exam: the CDA document (hc08_V08 XML) as the kenpo sent it, parsed again when read;
-- judgments are computed at read time from the rule set, so a new rule set
-- applies to old exams too.
CREATE TABLE checkups (
    id           TEXT PRIMARY KEY,
    kenpo_id     TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    document_id  TEXT NOT NULL,
    member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    exam_date    TEXT NOT NULL,
    institution  TEXT NOT NULL,
    document     TEXT NOT NULL,
    imported_at  BIGINT NOT NULL,
    CONSTRAINT checkups_document_key UNIQUE (kenpo_id, document_id)
);
CREATE INDEX checkups_member_date ON checkups (member_id, exam_date);

-- Every read of health data (要配慮個人情報): who read whose what, when. Kept apart from the data
-- so that the retention job never deletes the record of a read.
CREATE TABLE health_data_reads (
    id          TEXT PRIMARY KEY,
    kenpo_id    TEXT NOT NULL,
    reader_id   TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    what        TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX health_data_reads_kenpo_at ON health_data_reads (kenpo_id, at);

-- Each file imported from the kenpo's systems: what, how many rows, and its digest, so a second
-- import of the same file is recognised and reported.
CREATE TABLE imports (
    id          TEXT PRIMARY KEY,
    kenpo_id    TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    rows        BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
);
CREATE INDEX imports_kenpo_at ON imports (kenpo_id, imported_at);
