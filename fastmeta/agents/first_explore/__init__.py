"""First-Explore (Norman & Clune) in PyTorch: the shared-trunk transformer (model.py), KV-cached
batched rollouts (rollout.py), credit rules and losses (losses.py), the original's optimiser
(optim.py), training with `paper` / `fast` presets (train.py) and the evaluation protocol
(evaluate.py). The always-exploit control is `train.py --control always-exploit`."""
