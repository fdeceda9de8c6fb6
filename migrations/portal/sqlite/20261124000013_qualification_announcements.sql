-- (SQLite twin of the PostgreSQL migration.)
-- 資格確認書 and 電子申請 announced by update mail and MYメール (spec §2.11 categories
-- qualification_certificate and applications), and the 資格情報のお知らせ as issued (spec §6).

-- What the notice stated when it was issued (氏名, 生年月日, 記号・番号・枝番, 保険者番号・名称,
-- 資格取得年月日, 被保険者/被扶養者) as a JSON object, so a later member import (a new name, a
-- new card) does not rewrite a document the member already received. NULL for notices recorded
-- before this column: those are drawn from the member as they stand, as before.
ALTER TABLE qualification_notices ADD COLUMN snapshot TEXT;

-- NULL until the update mail about the newly issued card was queued (as for the notices).
-- Cards issued before this migration count as announced: nobody is mailed about old news.
ALTER TABLE qualification_certificates ADD COLUMN announced_at BIGINT;
UPDATE qualification_certificates SET announced_at = created_at;
CREATE INDEX qualification_certificates_announce ON qualification_certificates (kenpo_id, announced_at);

-- Each decision the kenpo made on an application (受付, 却下, 交付済み), written in the same
-- transaction as the decision, so every one is announced once even when two come between two
-- rounds of the mail job. An application reaches each status at most once (the statuses only
-- move forward), hence the key. Decisions made before this migration count as announced.
CREATE TABLE qualification_decisions (
    application_id TEXT NOT NULL REFERENCES qualification_applications (id) ON DELETE CASCADE,
    kenpo_id       TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    status         TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'issued')),
    decided_at     BIGINT NOT NULL,
    announced_at   BIGINT,
    PRIMARY KEY (application_id, status)
);
INSERT INTO qualification_decisions (application_id, kenpo_id, status, decided_at, announced_at)
    SELECT id, kenpo_id, status, decided_at, decided_at FROM qualification_applications
    WHERE status <> 'applied' AND decided_at IS NOT NULL;
CREATE INDEX qualification_decisions_announce ON qualification_decisions (kenpo_id, announced_at);
