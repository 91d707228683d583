"""A BERT classifier that reads the mean of the token vectors instead of the [CLS] vector.

``BertForSequenceClassification`` classifies ``tanh(W h_[CLS])``, the pooler's output. The
bundled all-MiniLM-L6-v2 was trained by sentence-transformers with *mean pooling*: its sentence
vector is the average of the token vectors, padding left out. This model keeps the encoder and
puts the classifier on that average (dropout, then one linear layer), so a head trained on top
reads the representation the encoder was trained to produce. Load it with
``labkit.load_model(pooling="mean")``.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor | None) -> torch.Tensor:
    """Average of the token vectors of each sequence, padding positions left out."""
    if attention_mask is None:
        return hidden.mean(dim=1)
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class BertMeanPoolingForSequenceClassification(BertPreTrainedModel):
    """BERT encoder (no pooler), mean pooling, dropout and a linear classifier.

    The same interface as ``BertForSequenceClassification``: ``forward(input_ids,
    attention_mask, token_type_ids, labels)`` returns a ``SequenceClassifierOutput`` with the
    cross-entropy loss when labels are given. Its head is ``classifier``.
    """

    def __init__(self, config) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = getattr(config, "classifier_dropout", None)
        self.dropout = nn.Dropout(config.hidden_dropout_prob if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput:
        outputs = self.bert(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            **kwargs,
        )
        pooled = mean_pool(outputs.last_hidden_state, attention_mask)
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
        )
