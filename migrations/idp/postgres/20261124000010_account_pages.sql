-- The self-service account pages (3-5): a new address is verified before it replaces the old
-- one, by a link mailed to the new address, so the action tokens' kinds gain 'update-email'.
ALTER TABLE action_tokens DROP CONSTRAINT action_tokens_kind_check;
ALTER TABLE action_tokens ADD CONSTRAINT action_tokens_kind_check
    CHECK (kind IN ('reset-credentials', 'verify-email', 'update-email'));
