"""Checkers for the practice notebooks: say right or wrong, and give a hint when wrong.

Every check takes the learner's answer (and what it needs to judge it), returns a
:class:`CheckResult` when the answer is right and raises :class:`ExerciseIncomplete` when it is
missing ("no answer yet") or wrong. A wrong answer that matches a typical mistake gets a hint
for that mistake (precision and recall swapped, the bias forgotten, r instead of alpha / r, ...);
no message ever shows the expected answer.

One module per practice notebook; everything is also available here, ``checks.check_...``:

- :mod:`~labkit.checks.parameters`: practice 1, counting parameters
- :mod:`~labkit.checks.freezing`: practice 2, freezing and the Trainer
- :mod:`~labkit.checks.lora`: practice 3, LoRA
- :mod:`~labkit.checks.qlora`: practice 4, quantization and QLoRA
- :mod:`~labkit.checks.evaluation`: practice 5, evaluating a run
- :mod:`~labkit.checks.counts`: practice 6, metrics by hand and choosing metrics
- :mod:`~labkit.checks.beyond`: practice 7, beyond the benchmark
"""

from __future__ import annotations

from labkit.checks._core import (
    CheckList,
    CheckResult,
    ExerciseIncomplete,
    Mistake,
    check_number,
    check_value,
    each,
)
from labkit.checks.beyond import (
    check_accuracy_drop,
    check_inflation,
    check_leak_count,
    check_merged,
    check_model_card,
    check_percentiles,
    check_timings,
    check_typo_function,
)
from labkit.checks.counts import (
    SCENARIOS,
    check_accuracy,
    check_base_rate_accuracy,
    check_base_rate_recall,
    check_cost_function,
    check_counts,
    check_f1,
    check_metric_choices,
    check_precision,
    check_production_ready,
    check_recall,
    check_specificity,
    check_threshold_choice,
    true_counts,
)
from labkit.checks.evaluation import (
    check_auc,
    check_confusion_counts,
    check_confusion_matrix,
    check_cross_entropy,
    check_diagnoses,
    check_verdict,
)
from labkit.checks.freezing import (
    check_evaluation,
    check_frozen,
    check_head,
    check_last_layers,
    check_split_shares,
    check_token_count,
    check_trainable_count,
    check_training_arguments,
    check_tuning_effect,
)
from labkit.checks.lora import (
    check_adapter_count,
    check_lora_config,
    check_lora_forward,
    check_lora_update_count,
    check_peft_config_matches,
    check_rank_choice,
    check_rank_sweep,
    check_same_outputs,
    check_target_modules,
)
from labkit.checks.parameters import (
    check_dense_parameters,
    check_fraction,
    check_lora_parameters,
    lora_parameters,
)
from labkit.checks.qlora import (
    check_absmax_int8,
    check_constant_bits,
    check_dequantized,
    check_difference,
    check_model_gb,
    check_nf4_config,
    check_qlora_model,
    check_quantization_error,
    check_ratio,
    check_real_equivalents,
)

__all__ = [
    "CheckList",
    "each",
    "CheckResult",
    "ExerciseIncomplete",
    "Mistake",
    "SCENARIOS",
    "check_absmax_int8",
    "check_accuracy",
    "check_accuracy_drop",
    "check_adapter_count",
    "check_auc",
    "check_base_rate_accuracy",
    "check_base_rate_recall",
    "check_confusion_counts",
    "check_confusion_matrix",
    "check_constant_bits",
    "check_cost_function",
    "check_counts",
    "check_cross_entropy",
    "check_dense_parameters",
    "check_dequantized",
    "check_diagnoses",
    "check_difference",
    "check_evaluation",
    "check_f1",
    "check_fraction",
    "check_frozen",
    "check_head",
    "check_inflation",
    "check_last_layers",
    "check_leak_count",
    "check_lora_config",
    "check_lora_forward",
    "check_lora_parameters",
    "check_lora_update_count",
    "check_merged",
    "check_metric_choices",
    "check_model_card",
    "check_model_gb",
    "check_nf4_config",
    "check_number",
    "check_peft_config_matches",
    "check_percentiles",
    "check_timings",
    "check_precision",
    "check_production_ready",
    "check_qlora_model",
    "check_quantization_error",
    "check_rank_choice",
    "check_rank_sweep",
    "check_ratio",
    "check_real_equivalents",
    "check_recall",
    "check_same_outputs",
    "check_specificity",
    "check_split_shares",
    "check_target_modules",
    "check_threshold_choice",
    "check_token_count",
    "check_trainable_count",
    "check_training_arguments",
    "check_tuning_effect",
    "check_typo_function",
    "check_value",
    "check_verdict",
    "lora_parameters",
    "true_counts",
]
