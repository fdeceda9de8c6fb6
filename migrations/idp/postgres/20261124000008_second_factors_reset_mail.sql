-- The kenpo's reset of a member's second factors (a lost phone, 3-8) tells the member by mail,
-- so the outbox's list of kinds gains 'second-factors-reset'.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('verify-email', 'reset-password', 'username-reminder', 'first-login-done', 'login-code',
                    'second-factors-reset'));
