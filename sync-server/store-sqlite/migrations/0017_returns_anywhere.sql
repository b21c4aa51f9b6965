-- Returns at any till (issue 12): every return indexed under the ticket it gives back (any
-- till's), and the reservations of returns in progress, so a lookup shows what the chain
-- already took back and two tills cannot both take back the last unit.
CREATE TABLE ticket_returns (
    original_till TEXT NOT NULL,
    original_ticket INTEGER NOT NULL,
    till_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (till_id, seq)
);
CREATE INDEX ticket_returns_by_original ON ticket_returns (original_till, original_ticket);
CREATE TABLE return_reservations (
    till_id TEXT NOT NULL,
    reservation_id TEXT NOT NULL,
    original_till TEXT NOT NULL,
    original_ticket INTEGER NOT NULL,
    lines TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (till_id, reservation_id)
);
CREATE INDEX return_reservations_by_original ON return_reservations (original_till, original_ticket);
