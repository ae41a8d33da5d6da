"""What the CI templates and pre-commit hooks run: change detection
(:mod:`~mlops_testkit.ci.changes`) and the hooks (:mod:`~mlops_testkit.ci.hooks`)."""
