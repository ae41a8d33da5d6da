"""A small but real credit-scoring project: synthetic applicants, features, a PyTorch
model and its training loop. It is the subject of mlops-testkit's demo."""
