"""Evaluation: sampling, the Inception Score and its critiques, Fréchet distances, classifiers, truncation."""
