# ranklab_bert.py: import this module once, then use the Auto classes as usual.
import torch
from torch import nn
from transformers import (AutoConfig, AutoModelForSequenceClassification, BertConfig,
                          BertModel, BertPreTrainedModel)
from transformers.modeling_outputs import SequenceClassifierOutput

BIGRAM_HASH_PRIME = 100003  # services/gpu-trainer/src/models/bert.ts

class RanklabBertConfig(BertConfig):
    model_type = "ranklab_bert"

    def __init__(self, classifier_pooling="cls", bigram_buckets=0, add_pooling_layer=True, **kwargs):
        super().__init__(**kwargs)
        self.classifier_pooling = classifier_pooling
        self.bigram_buckets = bigram_buckets
        self.add_pooling_layer = add_pooling_layer

class RanklabBertForSequenceClassification(BertPreTrainedModel):
    config_class = RanklabBertConfig

    def __init__(self, config):
        super().__init__(config)
        self.bert = BertModel(config, add_pooling_layer=config.add_pooling_layer)
        if config.bigram_buckets > 0:  # weight name: bert.embeddings.bigram_embeddings.weight
            self.bert.embeddings.bigram_embeddings = nn.Embedding(config.bigram_buckets, config.hidden_size)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, **kwargs):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        embeds = self.bert.embeddings.word_embeddings(input_ids)
        if self.config.bigram_buckets > 0:
            # Each token with the next ([PAD] = 0 after the last), hashed to (a·P + b) mod buckets.
            following = torch.cat([input_ids[:, 1:], torch.zeros_like(input_ids[:, :1])], dim=1)
            buckets = (input_ids * BIGRAM_HASH_PRIME + following) % self.config.bigram_buckets
            embeds = embeds + self.bert.embeddings.bigram_embeddings(buckets)
        hidden = self.bert(inputs_embeds=embeds, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        if self.config.classifier_pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:
            pooled = hidden[:, 0]
        if self.config.add_pooling_layer:
            pooled = torch.tanh(self.bert.pooler.dense(pooled))
        return SequenceClassifierOutput(logits=self.classifier(pooled))

AutoConfig.register("ranklab_bert", RanklabBertConfig)
AutoModelForSequenceClassification.register(RanklabBertConfig, RanklabBertForSequenceClassification)
