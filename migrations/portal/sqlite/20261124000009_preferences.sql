-- 通知設定 and what update mails need. A member opts in per category (spec §2.11); a row is a
-- yes, its absence a no: mails go only to those who asked. The address is the one the IdP
-- vouched for (a verified `email` in the ID token) at the member's latest login, so a member
-- who never logged in has none and gets no mail (spec §1, update mails).
CREATE TABLE mail_opt_ins (
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    category   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (member_id, category)
);

CREATE TABLE member_logins (
    member_id      TEXT PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    email          TEXT,
    first_login_at BIGINT NOT NULL,
    last_login_at  BIGINT NOT NULL
);
