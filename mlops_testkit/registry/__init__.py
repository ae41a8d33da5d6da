"""The MLflow model registry: the candidate and the champion (:mod:`~mlops_testkit.registry.tracking`),
and fail-closed, reversible promotion under a registry lock
(:mod:`~mlops_testkit.registry.promotion`, :mod:`~mlops_testkit.registry.lock`).
mlflow is imported by the functions that need it."""
