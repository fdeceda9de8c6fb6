-- Each kenpo signs its members in with its own client at its own IdP realm. The configured
-- kenpo's secret comes from configuration; every other kenpo's is kept here, sealed with the
-- portal's master key (AES-256-GCM, bound to the kenpo's issuer), never in the clear.
ALTER TABLE kenpos ADD COLUMN client_secret_sealed TEXT;

-- よくある質問 per kenpo and language (a TOML document of categories → questions → answers).
-- A kenpo without one shows the manual's FAQ that the portal carries.
CREATE TABLE kenpo_faqs (
    kenpo_id   TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    locale     TEXT NOT NULL,
    document   TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kenpo_id, locale)
);
