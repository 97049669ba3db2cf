"""QA at archive scale: batch scoring into a resumable SQLite store, re-judging stored calls,
rules judged across calls (callbacks), views and exports of the store, and calibration against
a team's audits."""
