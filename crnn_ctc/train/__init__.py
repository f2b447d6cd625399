"""Training: the config (config.py: ModelConfig + training fields, config.json) and presets
(presets.py), strategy and precision (strategy.py), optimizer and schedule (optimizer.py),
checks that records, config and model folder agree (consistency.py), the loop (loop.py),
checkpoints (checkpoints.py) and fine-tuning from a trained folder (finetune.py).

Imports crnn_ctc.data, model and evaluate; never serve.
"""
