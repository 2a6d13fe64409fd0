-- 003_link_options.sql - the link options of PRODUCT.md section 1, and the per-link
-- click total that URL objects report as `clicks`.
--
-- Existing rows keep what they meant: a 302 redirect, no expiry, no click cap.
-- url_totals holds one row per link that has clicks; the event-worker adds to it
-- in the same transaction as the click rows (never COUNT over events at read time).
-- Backfilled here from the clicks already stored.

ALTER TABLE urls
    ADD COLUMN redirect_type smallint NOT NULL DEFAULT 302
        CONSTRAINT urls_redirect_type_check CHECK (redirect_type IN (301, 302, 307, 308)),
    ADD COLUMN expires_at timestamp,
    ADD COLUMN max_clicks integer
        CONSTRAINT urls_max_clicks_check CHECK (max_clicks >= 1);

CREATE TABLE url_totals (
    url_id        bigint PRIMARY KEY,
    clicks        bigint NOT NULL DEFAULT 0,
    human_clicks  bigint NOT NULL DEFAULT 0,
    bot_clicks    bigint NOT NULL DEFAULT 0,
    last_click    timestamp
);

INSERT INTO url_totals (url_id, clicks, human_clicks, last_click)
SELECT url_id, count(*), count(*), max("timestamp")
FROM events
WHERE event_type = 'click' AND url_id IS NOT NULL
GROUP BY url_id;
