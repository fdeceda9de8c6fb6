-- Closing the gaps of お知らせ・MYメール (spec §2.10).
--
-- A member may delete a message from their MYメール. The delivery is marked, not removed: the
-- member no longer sees it anywhere (list, page, unread count), while the kenpo's list of sent
-- messages keeps counting it as delivered (and read, if it was). The row goes with its message
-- when the kenpo recalls it or the retention job purges it.
ALTER TABLE inbox_deliveries ADD COLUMN deleted_at BIGINT;

-- The retention job purges notices by kenpo and expiry (notice_retention_months after it).
CREATE INDEX notices_kenpo_expires ON notices (kenpo_id, expires_at);
