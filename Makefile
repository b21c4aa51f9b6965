# The two commands: `make run` runs the system on its embedded defaults; `make test` installs
# what is missing and runs every check and test. Both work as root on a fresh Debian machine.

SHELL := /bin/bash
CARGO ?= cargo

.PHONY: run demo test deps build lint unit conformance doc bench bench-quick clean bindings

run: deps
	scripts/run-app.sh

# A scripted tour of the headless till CLI on a fresh ledger.
demo: deps
	scripts/demo.sh

# Regenerate the UI's TypeScript types from the API's Rust types (crates/till-service/API.md).
bindings:
	UPDATE_BINDINGS=1 $(CARGO) test -p pos-till-service --lib bindings

test: deps lint doc
	scripts/run-tests.sh

deps:
	scripts/install-deps.sh

build:
	$(CARGO) build --workspace --all-targets

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

conformance:
	@for script in scripts/test-*-conformance.sh; do \
		[ -x "$$script" ] || continue; echo "== $$script"; "$$script" || exit 1; done

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet

bench:
	$(CARGO) bench -p pos-till --bench ledger

bench-quick:
	$(CARGO) bench -p pos-till --bench ledger -- --quick

clean:
	$(CARGO) clean
	rm -rf out .venv
