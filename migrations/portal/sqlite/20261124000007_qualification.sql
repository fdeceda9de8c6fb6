-- (SQLite twin of the PostgreSQL migration.)
-- 資格情報のお知らせ and 資格確認書 (spec §6). The documents themselves are drawn from these rows
-- and the member's card as it stands; dates are 'YYYY-MM-DD' (Japan time), times epoch ms.

-- Each 資格情報のお知らせ the kenpo issued to a member (加入, 記号番号・氏名・負担割合の変更, 再交付 …).
-- The member's latest one is the one they download. 負担割合 and its dates are kept here, not on
-- the member, because they are what this issue stated (only members aged 70–74 have one).
-- `announced_at` stays NULL until the update mail about the issue was queued, so each issue is
-- announced once however often the mail job runs.
CREATE TABLE qualification_notices (
    id            TEXT PRIMARY KEY,
    kenpo_id      TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    issued_on     TEXT NOT NULL,
    reason        TEXT NOT NULL CHECK (reason IN
                      ('enrolment', 'card_change', 'name_change', 'copay_change', 'reissue', 'other')),
    copay_percent BIGINT CHECK (copay_percent IN (10, 20, 30)),
    copay_from    TEXT,
    copay_until   TEXT,
    announced_at  BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX qualification_notices_member ON qualification_notices (member_id, issued_on);
CREATE INDEX qualification_notices_announce ON qualification_notices (kenpo_id, announced_at);

-- Each 資格確認書 the kenpo issued: the card is physical, the portal shows its state. A member's
-- latest row decides the status (交付済み, 有効期限切れ, 返却済み); no row is 未交付.
CREATE TABLE qualification_certificates (
    id            TEXT PRIMARY KEY,
    kenpo_id      TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    issued_on     TEXT NOT NULL,
    valid_until   TEXT NOT NULL,
    copay_percent BIGINT CHECK (copay_percent IN (10, 20, 30)),
    copay_from    TEXT,
    returned_on   TEXT,
    created_at    BIGINT NOT NULL,
    CHECK (valid_until >= issued_on)
);
CREATE INDEX qualification_certificates_member ON qualification_certificates (member_id, issued_on);

-- A member's application for a (re)issued 資格確認書, which the kenpo reviews:
-- applied (申請中) → accepted (受付) → issued (交付済み), or rejected (却下) with a reason.
-- `member_id` is whom the card is for, `applicant_id` who asked (the insured for a dependant).
CREATE TABLE qualification_applications (
    id             TEXT PRIMARY KEY,
    kenpo_id       TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    member_id      TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    applicant_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    reason         TEXT NOT NULL CHECK (reason IN ('lost', 'damaged', 'needs_helper')),
    note           TEXT NOT NULL DEFAULT '',
    status         TEXT NOT NULL CHECK (status IN ('applied', 'accepted', 'rejected', 'issued')),
    rejection      TEXT,
    certificate_id TEXT REFERENCES qualification_certificates (id) ON DELETE SET NULL,
    applied_at     BIGINT NOT NULL,
    decided_at     BIGINT
);
-- One open application per person: two browsers (or the insured and the dependant) applying at
-- once cannot both succeed, whatever the pages checked before.
CREATE UNIQUE INDEX qualification_applications_open
    ON qualification_applications (member_id) WHERE status IN ('applied', 'accepted');
CREATE INDEX qualification_applications_kenpo ON qualification_applications (kenpo_id, status, applied_at);
CREATE INDEX qualification_applications_member ON qualification_applications (member_id, applied_at);
