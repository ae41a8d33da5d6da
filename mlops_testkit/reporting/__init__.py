"""Results people and tools can read: the one result type and its recorder
(:mod:`~mlops_testkit.reporting.results`), the terminal summary, JSON, JUnit properties,
the Markdown/HTML report, and the ML Test Score (:mod:`~mlops_testkit.reporting.score`).
Everything here imports only the standard library at module level."""
