"""Native batched envs, one per file; see docs/env_contract.md."""
