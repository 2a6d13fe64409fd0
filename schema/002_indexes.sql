-- 002_indexes.sql - an index for every filter the API offers.
CREATE INDEX urls_user_id_idx ON urls (user_id);
CREATE INDEX urls_is_active_idx ON urls (is_active);
CREATE INDEX events_url_id_idx ON events (url_id);
CREATE INDEX events_user_id_idx ON events (user_id);
CREATE INDEX events_event_type_idx ON events (event_type);
CREATE INDEX users_username_idx ON users (username);
CREATE INDEX users_email_idx ON users (email);
