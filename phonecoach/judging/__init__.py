"""The rules: phrase matching tolerant of ASR Chinese, the rule model and its TOML packs, the
generic checks rules are bound to, the call events they judge around (holds, transfers,
messages), and the engine that turns a timeline and its measures into one verdict per rule."""
