"""Learners (DREAM, its baselines, First-Explore) built on the native env API."""
