-- 003_link_options.sql - the link options of PRODUCT.md section 1.
--
-- Existing rows keep what they meant: a 302 redirect, no expiry, no click cap. The
-- `clicks` of URL objects comes from url_totals (004_analytics.sql).

ALTER TABLE urls
    ADD COLUMN redirect_type smallint NOT NULL DEFAULT 302
        CONSTRAINT urls_redirect_type_check CHECK (redirect_type IN (301, 302, 307, 308)),
    ADD COLUMN expires_at timestamp,
    ADD COLUMN max_clicks integer
        CONSTRAINT urls_max_clicks_check CHECK (max_clicks >= 1);
