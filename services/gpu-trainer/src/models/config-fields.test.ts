import { describe, expect, it } from "vitest";
import { parseOrExplain } from "../io/json-file.ts";
import { BertConfigSchema } from "./bert.ts";
import { Gpt2ConfigSchema } from "./gpt2.ts";

const gpt2 = { vocab_size: 10, n_positions: 8, n_embd: 8, n_layer: 2, n_head: 2 };
const bert = { vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 8 };
const gpt2Config = (extra: Record<string, unknown>) => parseOrExplain("gpt2/config.json", Gpt2ConfigSchema, { ...gpt2, ...extra });
const bertConfig = (extra: Record<string, unknown>) => parseOrExplain("bert/config.json", BertConfigSchema, { ...bert, ...extra });

describe("config fields that change the math", () => {
  it("accepts every GELU name transformers configs use, and the fields ranklab computes", () => {
    for (const act of ["gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "gelu_python", "relu"]) {
      expect(gpt2Config({ activation_function: act }).activation_function).toBe(act);
      expect(bertConfig({ hidden_act: act }).hidden_act).toBe(act);
    }
    expect(
      gpt2Config({ scale_attn_by_inverse_layer_idx: true, scale_attn_weights: false, reorder_and_upcast_attn: true, add_cross_attention: false }),
    ).toMatchObject({ scale_attn_by_inverse_layer_idx: true, scale_attn_weights: false });
    // transformers' defaults when absent.
    expect(gpt2Config({})).toMatchObject({ scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, activation_function: "gelu_new" });
    expect(bertConfig({ position_embedding_type: "absolute", is_decoder: false, add_cross_attention: false }).hidden_act).toBe("gelu");
  });

  it("refuses what ranklab would otherwise ignore, naming the file and the field", () => {
    expect(() => gpt2Config({ add_cross_attention: true })).toThrow(
      /gpt2\/config\.json: add_cross_attention: true is not supported: ranklab's GPT-2 has no cross-attention layers/,
    );
    expect(() => gpt2Config({ activation_function: "quick_gelu" })).toThrow(/gpt2\/config\.json: activation_function: /);
    expect(() => gpt2Config({ scale_attn_by_inverse_layer_idx: "yes" })).toThrow(/scale_attn_by_inverse_layer_idx/);
    expect(() => bertConfig({ position_embedding_type: "relative_key_query" })).toThrow(
      /bert\/config\.json: position_embedding_type: "relative_key_query" is not supported: ranklab's encoder adds absolute position embeddings/,
    );
    expect(() => bertConfig({ is_decoder: true })).toThrow(/is_decoder: true is not supported/);
    expect(() => bertConfig({ add_cross_attention: true })).toThrow(/add_cross_attention: true is not supported/);
    expect(() => bertConfig({ hidden_act: "silu" })).toThrow(/bert\/config\.json: hidden_act: /);
    expect(() => bertConfig({ pruned_heads: { "0": [1] } })).toThrow(/pruned_heads: \{"0":\[1\]\} is not supported: ranklab computes every attention head/);
    expect(() => gpt2Config({ pruned_heads: { "1": [0] } })).toThrow(/gpt2\/config\.json: pruned_heads: /);
    expect(bertConfig({ pruned_heads: {} }).hidden_size).toBe(8);
  });
});
