//! Accounting exports derived from day closures: the balanced daily journal entry of a till,
//! and its FEC and hledger renderings (see `shared/specs/fiscal.md`, "Accounting export").
