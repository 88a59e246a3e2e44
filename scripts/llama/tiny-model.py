"""Writes a tiny random-weight LLaMA-architecture GGUF for tests and the demo local stack.

Runs inside the llama chroot built by scripts/llama.sh (python3-gguf, python3-sentencepiece,
python3-mistral-common). No Debian package ships model weights, so the weights are random:
the model loads and streams tokens like a real one, but what it says is gibberish and it
almost never emits an end-of-turn token (callers must always send max_tokens).

The tokenizer is real (Mistral-7B's SentencePiece model from python3-mistral-common, 32,000
tokens) so that prompt token counts, /tokenize and context limits behave as with a real
model; two ChatML control tokens and a ChatML chat template are added on top.

    python3 tiny-model.py OUTPUT.gguf
"""
import sys

import gguf
import numpy as np
import sentencepiece

TOKENIZER = "/usr/lib/python3/dist-packages/mistral_common/data/tokenizer.model.v1"
SEED = 20261129
N_LAYERS = 2
N_EMBD = 64
N_HEADS = 4
N_FF = 128
N_CTX = 512

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def vocab():
    sp = sentencepiece.SentencePieceProcessor(model_file=TOKENIZER)
    tokens, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        tokens.append(sp.id_to_piece(i).encode("utf-8"))
        scores.append(sp.get_score(i))
        if sp.is_unknown(i):
            types.append(gguf.TokenType.UNKNOWN)
        elif sp.is_control(i):
            types.append(gguf.TokenType.CONTROL)
        elif sp.is_unused(i):
            types.append(gguf.TokenType.UNUSED)
        elif sp.is_byte(i):
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
    for extra in ("<|im_start|>", "<|im_end|>"):
        tokens.append(extra.encode("utf-8"))
        scores.append(0.0)
        types.append(gguf.TokenType.CONTROL)
    return tokens, scores, types, sp.bos_id(), sp.unk_id()


def main(out):
    tokens, scores, types, bos, unk = vocab()
    im_end = len(tokens) - 1
    rng = np.random.default_rng(SEED)

    def weight(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float16)

    def norm():
        return np.ones((N_EMBD,), dtype=np.float32)

    w = gguf.GGUFWriter(out, "llama")
    w.add_name("personas-tiny-random (demo: random weights, gibberish replies)")
    w.add_context_length(N_CTX)
    w.add_embedding_length(N_EMBD)
    w.add_block_count(N_LAYERS)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEADS)
    w.add_head_count_kv(N_HEADS)
    w.add_rope_dimension_count(N_EMBD // N_HEADS)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(bos)
    w.add_eos_token_id(im_end)
    w.add_unk_token_id(unk)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    # No output.weight: llama.cpp ties the output projection to the embeddings.
    w.add_tensor("token_embd.weight", weight(len(tokens), N_EMBD))
    for i in range(N_LAYERS):
        w.add_tensor(f"blk.{i}.attn_norm.weight", norm())
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            w.add_tensor(f"blk.{i}.{name}.weight", weight(N_EMBD, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_norm.weight", norm())
        w.add_tensor(f"blk.{i}.ffn_gate.weight", weight(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_up.weight", weight(N_FF, N_EMBD))
        w.add_tensor(f"blk.{i}.ffn_down.weight", weight(N_EMBD, N_FF))
    w.add_tensor("output_norm.weight", norm())

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tiny-model.py OUTPUT.gguf")
    main(sys.argv[1])
