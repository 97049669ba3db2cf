"""Where verdicts and warnings go, and nothing is judged: the terminal and JSON report, the
call's replay page and the team dashboard (Jinja2 templates), the live outputs (terminal view,
JSON lines, beep), the supervisor feed and the floor view on one web stack, and the Redis
stream live sessions publish to."""
