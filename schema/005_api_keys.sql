-- 005_api_keys.sql - API keys (PRODUCT.md section 4, API_AUTH=keys).
--
-- Only the SHA-256 of a key is stored (hex, 64 characters): the key itself is shown once,
-- in the answer of POST /api-keys or the CLI. Keys are never deleted: DELETE /api-keys/<id>
-- sets revoked_at, so the listing keeps who had access and until when. A key bound to a user
-- goes with the user (ON DELETE CASCADE). Timestamps are UTC, like the other tables.

CREATE TABLE api_keys (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL
        CONSTRAINT api_keys_name_check CHECK (length(name) BETWEEN 1 AND 100),
    key_hash   text NOT NULL
        CONSTRAINT api_keys_hash_check CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    scopes     text[] NOT NULL
        CONSTRAINT api_keys_scopes_check
            CHECK (cardinality(scopes) >= 1 AND scopes <@ ARRAY['read', 'write', 'admin']),
    user_id    bigint REFERENCES users (id) ON DELETE CASCADE,
    expires_at timestamp,
    created_at timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    revoked_at timestamp
);

CREATE UNIQUE INDEX api_keys_key_hash_idx ON api_keys (key_hash);
