"""A small, offline, deterministic sentiment classifier for hotel and restaurant
reviews: TF-IDF features and logistic regression, trained on a bundled corpus."""
