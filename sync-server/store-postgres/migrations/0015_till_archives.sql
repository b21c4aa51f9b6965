-- The signed archives the tills upload (a month or a fiscal year each), kept at least six
-- years: nothing deletes or changes one, and the database refuses it. Each verification is a
-- row of archive_checks (append-only too): the one made on arrival, then each re-check.
CREATE TABLE till_archives (
    id BIGSERIAL PRIMARY KEY,
    till_id TEXT NOT NULL REFERENCES tills(id),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BYTEA NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (till_id, sha256)
);
CREATE INDEX till_archives_by_till ON till_archives (till_id, period_from);
CREATE TABLE archive_checks (
    id BIGSERIAL PRIMARY KEY,
    archive_id BIGINT NOT NULL REFERENCES till_archives(id),
    checked_at TEXT NOT NULL,
    intact BOOLEAN NOT NULL,
    defect TEXT
);
CREATE INDEX archive_checks_by_archive ON archive_checks (archive_id, id);
CREATE TRIGGER till_archives_append_only BEFORE UPDATE OR DELETE ON till_archives
    FOR EACH ROW EXECUTE FUNCTION append_only();
CREATE TRIGGER archive_checks_append_only BEFORE UPDATE OR DELETE ON archive_checks
    FOR EACH ROW EXECUTE FUNCTION append_only();
