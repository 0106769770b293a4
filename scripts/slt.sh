#!/usr/bin/env bash
# Runs sqllogictest files through idbsql's engine natively: `npm run slt -- <files or folders>`
# (default: tests/slt and SQLite's corpus in ../shared/sqllogictest, or IDBSQL_SLT_CORPUS).
# Prints a line per file and the totals; reports only, exits 0 whatever the counts, unless
# asked to judge with --check.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# --check replays the records it lists as division by zero on a throwaway PostgreSQL.
case " $* " in *" --check "* | *" --postgres "*) bash scripts/setup.sh --postgres ;; esac
source scripts/env.sh
cargo build --quiet --profile slt -p idbsql-slt
exec "$ROOT/target/slt/idbsql-slt" "$@"
