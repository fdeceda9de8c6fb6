-- 被扶養者資格確認 (検認, spec §5): the kenpo's yearly check that each dependant still qualifies.
-- Types as in the foundation: TEXT ids, BIGINT epoch milliseconds, dates 'YYYY-MM-DD' (Japan
-- time) so that text order is time order.

-- One check the kenpo opened: its 基準日 (ages and scope are counted on it) and its 提出期限
-- (the last day an answer is accepted), and who opened it (the kenpo's API client).
CREATE TABLE surveys (
    id         TEXT PRIMARY KEY,
    kenpo_id   TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    base_date  TEXT NOT NULL,
    deadline   TEXT NOT NULL,
    -- Dependants this old or older on the base date were put in scope (NULL: an explicit list only).
    min_age    BIGINT,
    opened_by  TEXT NOT NULL,
    opened_at  BIGINT NOT NULL
);
CREATE INDEX surveys_kenpo ON surveys (kenpo_id, opened_at);

-- One answer sheet (調査票) per dependant in scope. `household_id` is copied from the member at
-- opening so that every member-side read is `WHERE household_id = <the signed-in household>`.
-- The answers are one JSON document: partial answers are saved as the member types them
-- (flows::survey::answers), and they are read and written whole.
CREATE TABLE survey_sheets (
    id            TEXT PRIMARY KEY,
    survey_id     TEXT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    kenpo_id      TEXT NOT NULL REFERENCES kenpos (id) ON DELETE CASCADE,
    household_id  TEXT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN
                      ('unanswered', 'in_progress', 'submitted', 'returned', 'under_review', 'continued', 'removed')),
    answers       TEXT NOT NULL DEFAULT '{}',
    -- The kenpo's reason for 差し戻し, shown to the member until they submit again.
    return_reason TEXT,
    submitted_at  BIGINT,
    decided_at    BIGINT,
    -- The Japan-time day the last reminder went out, so a household gets at most one a day.
    reminded_on   TEXT,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT survey_sheets_member_key UNIQUE (survey_id, member_id)
);
CREATE INDEX survey_sheets_household ON survey_sheets (household_id);
CREATE INDEX survey_sheets_status ON survey_sheets (survey_id, status);

-- An uploaded document of a sheet. The bytes live in the portal's file store under
-- `storage_key` (random, never the member's file name); `original_name` is shown back only.
-- `content_type` is what the content was found to be, not what the browser claimed.
CREATE TABLE survey_files (
    id            TEXT PRIMARY KEY,
    sheet_id      TEXT NOT NULL REFERENCES survey_sheets (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    storage_key   TEXT NOT NULL,
    original_name TEXT NOT NULL,
    uploaded_at   BIGINT NOT NULL
);
CREATE INDEX survey_files_sheet ON survey_files (sheet_id);
