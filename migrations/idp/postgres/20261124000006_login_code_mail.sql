-- Mailed one-time passwords (OTPメール認証, 2-4-5) go through the outbox like every other mail,
-- so the audit trail's list of kinds gains 'login-code'. The code itself is never in a row that
-- outlives its sending: the message is sealed while pending and cleared once sent.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('verify-email', 'reset-password', 'username-reminder', 'first-login-done', 'login-code'));
