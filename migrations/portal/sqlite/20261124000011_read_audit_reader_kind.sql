-- (SQLite twin of the PostgreSQL migration.) Who read health data: one of the kenpo's members
-- (reader_id is their members.id) or one of the kenpo's systems calling the kenpo API (reader_id
-- is its IdP client_id), e.g. reading a dependant's survey sheet and its documents. Earlier rows
-- were all members' reads.
ALTER TABLE health_data_reads ADD COLUMN reader_kind TEXT NOT NULL DEFAULT 'member'
    CHECK (reader_kind IN ('member', 'api_client'));
