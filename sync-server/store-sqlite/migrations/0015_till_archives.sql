-- The signed archives the tills upload (a month or a fiscal year each), kept at least six
-- years: nothing deletes or changes one, and the database refuses it. Each verification is a
-- row of archive_checks (append-only too): the one made on arrival, then each re-check.
CREATE TABLE till_archives (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    till_id TEXT NOT NULL REFERENCES tills(id),
    period_from TEXT NOT NULL,
    period_to TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    content BLOB NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (till_id, sha256)
);
CREATE INDEX till_archives_by_till ON till_archives (till_id, period_from);
CREATE TABLE archive_checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    archive_id INTEGER NOT NULL REFERENCES till_archives(id),
    checked_at TEXT NOT NULL,
    intact INTEGER NOT NULL,
    defect TEXT
);
CREATE INDEX archive_checks_by_archive ON archive_checks (archive_id, id);
CREATE TRIGGER till_archives_no_update BEFORE UPDATE ON till_archives
BEGIN SELECT RAISE(ABORT, 'archives are kept unchanged'); END;
CREATE TRIGGER till_archives_no_delete BEFORE DELETE ON till_archives
BEGIN SELECT RAISE(ABORT, 'archives are kept unchanged'); END;
CREATE TRIGGER archive_checks_no_update BEFORE UPDATE ON archive_checks
BEGIN SELECT RAISE(ABORT, 'archive checks are append-only'); END;
CREATE TRIGGER archive_checks_no_delete BEFORE DELETE ON archive_checks
BEGIN SELECT RAISE(ABORT, 'archive checks are append-only'); END;
