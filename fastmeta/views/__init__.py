"""Views over native envs: Gymnasium (vector and single), envpool's calling convention."""
