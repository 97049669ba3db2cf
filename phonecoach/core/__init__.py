"""Plain records and helpers at the bottom of the house, importing nothing else of phonecoach's:
the timeline (who said what, when), the measures and the verdict of a call, live warnings, the
[measures] settings, errors, bounded and atomic file handling, spoken-character counts and the
process-wide settings made at start. Every stage above reads and writes these, so stages share
data without importing each other."""
