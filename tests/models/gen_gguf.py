#!/usr/bin/env python3
"""gen_gguf.py - writes tiny GGUF v3 models with random weights for the tests.

No model weights can be downloaded, so the engine and tokenizer tests make
their own: a seeded random model of the llama or qwen2 architecture, with
any of the tensor types the engine computes with, one of the two tokenizer
kinds (SentencePiece-style with scores and byte tokens, or GPT-2 byte-level
BPE with merges) and a chat template. The models are defined in GGUF terms
(as llama.cpp reads them, after its converter has permuted Q/K for llama),
so the reference forward pass (ref_forward.py) follows llama.cpp's semantics
on the tensors as stored.

The quantizers are written here from the ggml block layouts (docs/quant.md).
They need only produce valid blocks that are close to the weights: the
reference dequantizes the bytes that were written, so what it compares is
the engine's arithmetic, not the quality of these quantizers.

One model:    gen_gguf.py --out FILE [options]
Many at once: gen_gguf.py --batch SPECS --dir DIR
  (SPECS has one "NAME options..." line per model; each becomes DIR/NAME.gguf,
  which saves a Python start-up per model in the tests.)

Options that break the model on purpose (for the engine's negative tests):
--arch-name, --tensor-type NAME=TYPE (also types the engine refuses: the
bytes are then random), --omit NAME, --shape NAME=A,B, --set KEY=TYPE:VALUE,
--drop-key KEY.

Only numpy and the standard library, so it runs with the distribution's
python3 and python3-numpy.
"""

import argparse
import os
import re
import shlex
import struct
import sys

import numpy as np

# ggml type numbers (ggml.h) and (elements, bytes) per block.
GGML_TYPES = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8,
    "Q8_1": 9, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14,
    "Q8_K": 15, "BF16": 30,
}
BLOCKS = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20),
    "Q5_0": (32, 22), "Q5_1": (32, 24), "Q8_0": (32, 34), "Q8_1": (32, 36),
    "Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176),
    "Q6_K": (256, 210), "Q8_K": (256, 292),
}
# When a row is not a whole number of 256-element super-blocks, llama.cpp's
# quantizer falls back to a 32-element type; so does this generator.
K_FALLBACK = {"Q4_K": "Q5_0", "Q6_K": "Q8_0", "Q2_K": "Q4_0", "Q3_K": "Q4_0", "Q5_K": "Q5_1"}

# GGUF metadata value types (gguf.md).
GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STR, GT_ARR, GT_U64, GT_I64, GT_F64 = range(13)
SCALAR_FMT = {GT_U8: "<B", GT_I8: "<b", GT_U16: "<H", GT_I16: "<h", GT_U32: "<I", GT_I32: "<i",
              GT_F32: "<f", GT_BOOL: "<?", GT_U64: "<Q", GT_I64: "<q", GT_F64: "<d"}
TYPE_NAMES = {"u8": GT_U8, "i8": GT_I8, "u16": GT_U16, "i16": GT_I16, "u32": GT_U32,
              "i32": GT_I32, "f32": GT_F32, "bool": GT_BOOL, "str": GT_STR, "u64": GT_U64,
              "i64": GT_I64, "f64": GT_F64}

# ---------------------------------------------------------------- quantizers


def f16_bytes(a):
    return np.asarray(a, dtype="<f2")


def round_away(v):
    """C's roundf: halves away from zero (numpy rounds them to even)."""
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def safe_inv(d):
    out = np.zeros_like(d, dtype=np.float32)
    nz = d != 0
    out[nz] = 1.0 / d[nz]
    return out


def signed_absmax(x):
    """The element of largest magnitude in each row of the last axis, with its sign."""
    idx = np.argmax(np.abs(x), axis=-1)
    return np.take_along_axis(x, idx[..., None], axis=-1)[..., 0]


def q_f32(x):
    return x.astype("<f4").tobytes()


def q_f16(x):
    return x.astype("<f2").tobytes()


def q_bf16(x):
    # Round to nearest even on the top 16 bits of the f32 pattern.
    u = x.astype("<f4").view("<u4").astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype("<u2")
    return r.tobytes()


def q8_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = f16_bytes(np.abs(b).max(axis=1) / 127.0)
    q = np.clip(round_away(b * safe_inv(d.astype(np.float32))[:, None]), -127, 127).astype("<i1")
    out = np.zeros((b.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def q4_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = f16_bytes(signed_absmax(b) / -8.0)
    q = np.clip(np.floor(b * safe_inv(d.astype(np.float32))[:, None] + 8.5), 0, 15).astype(np.uint8)
    out = np.zeros((b.shape[0], 18), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def pack_qh(q):
    """Bit 4 of element j of a 32-element block goes to bit j of a little-endian u32."""
    hi = ((q >> 4) & 1).astype(np.uint32)
    qh = (hi << np.arange(32, dtype=np.uint32)[None, :]).sum(axis=1).astype("<u4")
    return qh.view(np.uint8).reshape(-1, 4)


def q5_0(x):
    b = x.reshape(-1, 32).astype(np.float32)
    d = f16_bytes(signed_absmax(b) / -16.0)
    q = np.clip(np.floor(b * safe_inv(d.astype(np.float32))[:, None] + 16.5), 0, 31).astype(np.uint8)
    out = np.zeros((b.shape[0], 22), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:6] = pack_qh(q)
    out[:, 6:] = (q[:, :16] & 15) | ((q[:, 16:] & 15) << 4)
    return out.tobytes()


def q5_1(x):
    b = x.reshape(-1, 32).astype(np.float32)
    mn, mx = b.min(axis=1), b.max(axis=1)
    d = f16_bytes((mx - mn) / 31.0)
    m = f16_bytes(mn)
    q = np.clip(np.floor((b - m.astype(np.float32)[:, None]) * safe_inv(d.astype(np.float32))[:, None] + 0.5), 0, 31).astype(np.uint8)
    out = np.zeros((b.shape[0], 24), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = m.view(np.uint8).reshape(-1, 2)
    out[:, 4:8] = pack_qh(q)
    out[:, 8:] = (q[:, :16] & 15) | ((q[:, 16:] & 15) << 4)
    return out.tobytes()


def q4_k(x):
    """Super-blocks of 256: eight sub-blocks of 32, each y = d*sc*q - dmin*m with
    q in 0..15 and 6-bit sc, m packed into 12 bytes."""
    b = x.reshape(-1, 8, 32).astype(np.float32)
    nb = b.shape[0]
    mn = np.minimum(b.min(axis=2), 0.0)
    scale = (b.max(axis=2) - mn) / 15.0
    minv = -mn
    d = f16_bytes(scale.max(axis=1) / 63.0)
    dmin = f16_bytes(minv.max(axis=1) / 63.0)
    df, dminf = d.astype(np.float32), dmin.astype(np.float32)
    sc = np.clip(round_away(scale * safe_inv(df)[:, None]), 0, 63).astype(np.uint8)
    m = np.clip(round_away(minv * safe_inv(dminf)[:, None]), 0, 63).astype(np.uint8)
    eff_d = df[:, None] * sc
    eff_m = dminf[:, None] * m
    q = np.clip(round_away((b + eff_m[:, :, None]) * safe_inv(eff_d)[:, :, None]), 0, 15).astype(np.uint8)
    scales = np.zeros((nb, 12), dtype=np.uint8)
    scales[:, 0:4] = (sc[:, 0:4] & 63) | ((sc[:, 4:8] >> 4) << 6)
    scales[:, 4:8] = (m[:, 0:4] & 63) | ((m[:, 4:8] >> 4) << 6)
    scales[:, 8:12] = (sc[:, 4:8] & 15) | ((m[:, 4:8] & 15) << 4)
    qf = q.reshape(nb, 4, 2, 32)  # chunk of 64: low nibbles then high nibbles
    qs = (qf[:, :, 0, :] | (qf[:, :, 1, :] << 4)).reshape(nb, 128)
    out = np.zeros((nb, 144), dtype=np.uint8)
    out[:, 0:2] = d.view(np.uint8).reshape(-1, 2)
    out[:, 2:4] = dmin.view(np.uint8).reshape(-1, 2)
    out[:, 4:16] = scales
    out[:, 16:] = qs
    return out.tobytes()


def q6_k(x):
    """Super-blocks of 256: sixteen sub-blocks of 16, y = d*sc*(q-32) with q in
    0..63 split into low 4 bits (ql) and high 2 bits (qh), int8 sc."""
    b = x.reshape(-1, 16, 16).astype(np.float32)
    nb = b.shape[0]
    s = signed_absmax(b) / -32.0
    smax = signed_absmax(s)
    iscale = np.where(smax != 0, -128.0 / np.where(smax != 0, smax, 1), 0).astype(np.float32)
    sc = np.clip(round_away(s * iscale[:, None]), -128, 127).astype(np.int8)
    d = f16_bytes(safe_inv(iscale))
    eff = d.astype(np.float32)[:, None] * sc
    q = (np.clip(round_away(b * safe_inv(eff)[:, :, None]), -32, 31) + 32).astype(np.uint8).reshape(nb, 256)
    ql = np.zeros((nb, 128), dtype=np.uint8)
    qh = np.zeros((nb, 64), dtype=np.uint8)
    for n in range(2):
        g = [q[:, 128 * n + 32 * k: 128 * n + 32 * k + 32] for k in range(4)]
        ql[:, 64 * n: 64 * n + 32] = (g[0] & 15) | ((g[2] & 15) << 4)
        ql[:, 64 * n + 32: 64 * n + 64] = (g[1] & 15) | ((g[3] & 15) << 4)
        qh[:, 32 * n: 32 * n + 32] = (g[0] >> 4) | ((g[1] >> 4) << 2) | ((g[2] >> 4) << 4) | ((g[3] >> 4) << 6)
    out = np.zeros((nb, 210), dtype=np.uint8)
    out[:, 0:128] = ql
    out[:, 128:192] = qh
    out[:, 192:208] = sc.view(np.uint8)
    out[:, 208:210] = d.view(np.uint8).reshape(-1, 2)
    return out.tobytes()


QUANTIZERS = {"F32": q_f32, "F16": q_f16, "BF16": q_bf16, "Q8_0": q8_0, "Q4_0": q4_0,
              "Q5_0": q5_0, "Q5_1": q5_1, "Q4_K": q4_k, "Q6_K": q6_k}


def encode(x, tname, rng):
    if tname in QUANTIZERS:
        return QUANTIZERS[tname](x)
    # A type the engine refuses: right size, random bytes.
    per, nbytes = BLOCKS[tname]
    return rng.integers(0, 256, size=x.size // per * nbytes, dtype=np.uint8).tobytes()


# ---------------------------------------------------------------- vocabularies

CORPUS = (
    "the quick brown fox jumps over the lazy dog. a sealed model opens only for a worker "
    "that holds the key, and the engine reads the weights and writes the tokens one at a "
    "time. hello world! hello veil, the model is small and the model is random; the "
    "tokens are not words but they are ours. 12 cats and 34 dogs sat on the mat at noon."
)


def train_bpe(words, n_merges):
    """Greedy BPE: repeatedly merge the most frequent adjacent pair (ties by
    the pair's text, so the result is the same on every machine)."""
    words = {tuple(w): c for w, c in words.items()}
    merges = []
    for _ in range(n_merges):
        pairs = {}
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + c
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        new = {}
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] = new.get(tuple(out), 0) + c
        words = new
    return merges


TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER, TT_UNUSED, TT_BYTE = 1, 2, 3, 4, 5, 6


def spm_vocab(n_merges):
    """A SentencePiece-style vocabulary as llama's: <unk> <s> </s>, the 256
    byte tokens <0x00>..<0xFF> for byte fallback, single characters, then
    merged pieces; a space is U+2581 and scores rank the merges."""
    words = {}
    for w in CORPUS.split(" "):
        key = "\u2581" + w
        words[key] = words.get(key, 0) + 1
    merges = train_bpe({tuple(k): c for k, c in words.items()}, n_merges)
    tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % i for i in range(256)]
    types = [TT_UNKNOWN, TT_CONTROL, TT_CONTROL] + [TT_BYTE] * 256
    scores = [0.0] * len(tokens)
    chars = sorted(set("".join(words.keys())))
    for i, ch in enumerate(chars):
        tokens.append(ch)
        types.append(TT_NORMAL)
        scores.append(-float(n_merges + i))
    for rank, (a, b) in enumerate(merges):
        if a + b in tokens:
            continue
        tokens.append(a + b)
        types.append(TT_NORMAL)
        scores.append(-float(rank))
    return {"model": "llama", "tokens": tokens, "types": types, "scores": scores,
            "merges": None, "bos": 1, "eos": 2, "unk": 0, "add_bos": True, "pre": None}


def bytes_to_unicode():
    """GPT-2's map from bytes to printable characters: printable Latin-1 bytes
    stand for themselves, the rest move to U+0100 onwards."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + \
        list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


SPECIALS = {
    "llama3": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"],
    "chatml": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
}


def gpt2_vocab(n_merges, flavour):
    b2u = bytes_to_unicode()
    words = {}
    for piece in re.findall(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+", CORPUS):
        key = "".join(b2u[c] for c in piece.encode("utf-8"))
        words[key] = words.get(key, 0) + 1
    merges = train_bpe({tuple(k): c for k, c in words.items()}, n_merges)
    tokens = [b2u[b] for b in sorted(b2u)]
    types = [TT_NORMAL] * 256
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
            types.append(TT_NORMAL)
    specials = SPECIALS["chatml" if flavour == "chatml" else "llama3"]
    first = len(tokens)
    tokens += specials
    types += [TT_CONTROL] * len(specials)
    if flavour == "chatml":  # Qwen2: no BOS added; <|im_end|> ends a turn
        ids = dict(bos=first, eos=first + 2, eot=first + 2, pre="qwen2", add_bos=False)
    else:  # Llama 3
        ids = dict(bos=first, eos=first + 4, eot=first + 4, pre="llama-bpe", add_bos=True)
    v = {"model": "gpt2", "tokens": tokens, "types": types, "scores": None,
         "merges": ["%s %s" % m for m in merges], "unk": None}
    v.update(ids)
    return v


# Chat templates as model cards ship them (Jinja), for the tokenizer's
# template detection.
TEMPLATES = {
    "llama2": "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
              "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
              "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
              "{% if loop.index0 == 0 and system_message != false %}"
              "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
              "{% else %}{% set content = message['content'] %}{% endif %}"
              "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
              "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}",
    "llama3": "{% set loop_messages = messages %}{% for message in loop_messages %}"
              "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}"
              "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}"
              "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
    "chatml": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
              "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
    "zephyr": "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
              "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
              "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
              "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}",
}

# ---------------------------------------------------------------- GGUF writer


def gguf_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == GT_STR:
        return gguf_str(value)
    if vtype == GT_ARR:
        etype, items = value
        out = struct.pack("<IQ", etype, len(items))
        if etype == GT_STR:
            return out + b"".join(gguf_str(s) for s in items)
        return out + np.asarray(items, dtype=np.dtype(SCALAR_FMT[etype])).tobytes()
    return struct.pack(SCALAR_FMT[vtype], value)


def write_gguf(path, kvs, tensors, alignment):
    """kvs: list of (key, type, value); tensors: list of (name, ne, type name, bytes)."""
    head = bytearray(b"GGUF")
    head += struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        head += gguf_str(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offset = 0
    offsets = []
    for name, ne, tname, data in tensors:
        offsets.append(offset)
        head += gguf_str(name) + struct.pack("<I", len(ne))
        head += b"".join(struct.pack("<Q", n) for n in ne)
        head += struct.pack("<IQ", GGML_TYPES[tname], offset)
        offset += len(data)
        offset += (-offset) % alignment
    head += b"\0" * ((-len(head)) % alignment)
    with open(path, "wb") as f:
        f.write(head)
        pos = 0
        for (name, ne, tname, data), off in zip(tensors, offsets):
            f.write(b"\0" * (off - pos))
            f.write(data)
            pos = off + len(data)


# ---------------------------------------------------------------- the model


def parser():
    p = argparse.ArgumentParser(description="write a tiny random GGUF model")
    p.add_argument("--out")
    p.add_argument("--batch", help="file of 'NAME options...' lines")
    p.add_argument("--dir", help="output folder for --batch")
    p.add_argument("--arch", choices=["llama", "qwen2"], default="llama")
    p.add_argument("--arch-name", help="write this as general.architecture (negative tests)")
    p.add_argument("--type", default="F32", choices=sorted(BLOCKS))
    p.add_argument("--embd-type", choices=sorted(BLOCKS))
    p.add_argument("--output-type", choices=sorted(BLOCKS))
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int)
    p.add_argument("--head-dim", type=int, help="write attention.key_length/value_length")
    p.add_argument("--n-rot", type=int, help="rope.dimension_count (default head dim)")
    p.add_argument("--ctx", type=int, default=256)
    p.add_argument("--rope-base", type=float, default=10000.0)
    p.add_argument("--rope-linear", type=float, help="rope.scaling.type linear with this factor")
    p.add_argument("--rope-freqs", action="store_true", help="add rope_freqs.weight (Llama 3.1 style)")
    p.add_argument("--eps", type=float, default=1e-5)
    p.add_argument("--tied", action="store_true", help="no output.weight: logits from token_embd")
    p.add_argument("--attn-bias", action="store_true", help="q/k/v biases (always for qwen2)")
    p.add_argument("--out-bias", action="store_true", help="attn_output bias")
    p.add_argument("--vocab", choices=["spm", "gpt2"], default="spm")
    p.add_argument("--template", choices=["llama2", "llama3", "chatml", "zephyr", "none"])
    p.add_argument("--merges", type=int, default=48)
    p.add_argument("--vocab-size", type=int, help="pad the vocabulary with unused tokens")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--wide-ints", action="store_true", help="u64 for sizes, as some converters write")
    p.add_argument("--alignment", type=int, default=32)
    p.add_argument("--tensor-type", action="append", default=[], metavar="NAME=TYPE")
    p.add_argument("--omit", action="append", default=[], metavar="NAME")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=A,B")
    p.add_argument("--set", action="append", default=[], metavar="KEY=TYPE:VALUE")
    p.add_argument("--drop-key", action="append", default=[], metavar="KEY")
    return p


def build_vocab(a):
    if a.vocab == "spm":
        v = spm_vocab(a.merges)
        template = a.template or "llama2"
    else:
        flavour = "chatml" if (a.template or ("chatml" if a.arch == "qwen2" else "llama3")) == "chatml" else "llama3"
        v = gpt2_vocab(a.merges, flavour)
        template = a.template or flavour
    if a.vocab_size:
        if a.vocab_size < len(v["tokens"]):
            sys.exit("gen_gguf: --vocab-size %d is below the %d tokens built" % (a.vocab_size, len(v["tokens"])))
        for i in range(len(v["tokens"]), a.vocab_size):
            v["tokens"].append("[UNUSED%d]" % i)
            v["types"].append(TT_UNUSED)
            if v["scores"] is not None:
                v["scores"].append(-1e9)
    v["template"] = None if template == "none" else TEMPLATES[template]
    return v


def model_tensors(a, n_vocab, rng):
    """(name, ne, type, float32 array shaped (ne[1], ne[0])) in llama.cpp's order."""
    dim, hid = a.dim, a.hidden
    n_kv = a.kv_heads or a.heads
    hd = a.head_dim or dim // a.heads
    qd, kvd = a.heads * hd, n_kv * hd
    wt = a.type

    def mat(rows, cols, scale=None):
        s = scale if scale is not None else 1.0 / np.sqrt(cols)
        return (rng.standard_normal((rows, cols)) * s).astype(np.float32)

    def vec(n, base, spread):
        return (base + spread * rng.standard_normal(n)).astype(np.float32)

    out = [("token_embd.weight", a.embd_type or wt, mat(n_vocab, dim, 1.0))]
    if a.rope_freqs:
        n_rot = a.n_rot or hd
        out.append(("rope_freqs.weight", "F32", (1.0 + 3.0 * rng.random(n_rot // 2)).astype(np.float32)))
    bias = a.attn_bias or a.arch == "qwen2"
    for i in range(a.layers):
        p = "blk.%d." % i
        out.append((p + "attn_norm.weight", "F32", vec(dim, 1.0, 0.1)))
        out.append((p + "attn_q.weight", wt, mat(qd, dim)))
        if bias:
            out.append((p + "attn_q.bias", "F32", vec(qd, 0.0, 0.2)))
        out.append((p + "attn_k.weight", wt, mat(kvd, dim)))
        if bias:
            out.append((p + "attn_k.bias", "F32", vec(kvd, 0.0, 0.2)))
        out.append((p + "attn_v.weight", wt, mat(kvd, dim)))
        if bias:
            out.append((p + "attn_v.bias", "F32", vec(kvd, 0.0, 0.2)))
        out.append((p + "attn_output.weight", wt, mat(dim, qd)))
        if a.out_bias:
            out.append((p + "attn_output.bias", "F32", vec(dim, 0.0, 0.2)))
        out.append((p + "ffn_norm.weight", "F32", vec(dim, 1.0, 0.1)))
        out.append((p + "ffn_gate.weight", wt, mat(hid, dim)))
        out.append((p + "ffn_up.weight", wt, mat(hid, dim)))
        out.append((p + "ffn_down.weight", wt, mat(dim, hid)))
    out.append(("output_norm.weight", "F32", vec(dim, 1.0, 0.1)))
    if not a.tied:
        out.append(("output.weight", a.output_type or wt, mat(n_vocab, dim)))
    return out


def parse_set(spec):
    key, _, rest = spec.partition("=")
    tname, _, val = rest.partition(":")
    vtype = TYPE_NAMES[tname]
    if vtype == GT_STR:
        return key, vtype, val
    if vtype in (GT_F32, GT_F64):
        return key, vtype, float(val)
    if vtype == GT_BOOL:
        return key, vtype, val == "true"
    return key, vtype, int(val)


def generate(a, path):
    rng = np.random.default_rng(a.seed)
    v = build_vocab(a)
    n_vocab = len(v["tokens"])
    arch = a.arch_name or a.arch
    U = GT_U64 if a.wide_ints else GT_U32
    kv = [("general.architecture", GT_STR, arch),
          ("general.name", GT_STR, "veil-test-%s-%s" % (a.arch, a.type.lower())),
          ("general.file_type", GT_U32, GGML_TYPES[a.type]),
          ("general.quantization_version", GT_U32, 2)]
    if a.alignment != 32:
        kv.append(("general.alignment", GT_U32, a.alignment))
    kv += [(arch + ".context_length", U, a.ctx),
           (arch + ".embedding_length", U, a.dim),
           (arch + ".block_count", U, a.layers),
           (arch + ".feed_forward_length", U, a.hidden),
           (arch + ".attention.head_count", U, a.heads),
           (arch + ".attention.head_count_kv", U, a.kv_heads or a.heads),
           (arch + ".attention.layer_norm_rms_epsilon", GT_F32, a.eps),
           (arch + ".rope.freq_base", GT_F32, a.rope_base),
           (arch + ".rope.dimension_count", U, a.n_rot or a.head_dim or a.dim // a.heads),
           (arch + ".vocab_size", U, n_vocab)]
    if a.head_dim:
        kv += [(arch + ".attention.key_length", U, a.head_dim),
               (arch + ".attention.value_length", U, a.head_dim)]
    if a.rope_linear:
        kv += [(arch + ".rope.scaling.type", GT_STR, "linear"),
               (arch + ".rope.scaling.factor", GT_F32, a.rope_linear)]
    kv += [("tokenizer.ggml.model", GT_STR, v["model"])]
    if v["pre"]:
        kv.append(("tokenizer.ggml.pre", GT_STR, v["pre"]))
    kv.append(("tokenizer.ggml.tokens", GT_ARR, (GT_STR, v["tokens"])))
    if v["scores"] is not None:
        kv.append(("tokenizer.ggml.scores", GT_ARR, (GT_F32, v["scores"])))
    kv.append(("tokenizer.ggml.token_type", GT_ARR, (GT_I32, v["types"])))
    if v["merges"] is not None:
        kv.append(("tokenizer.ggml.merges", GT_ARR, (GT_STR, v["merges"])))
    kv += [("tokenizer.ggml.bos_token_id", GT_U32, v["bos"]),
           ("tokenizer.ggml.eos_token_id", GT_U32, v["eos"])]
    if v.get("eot") is not None:
        kv.append(("tokenizer.ggml.eot_token_id", GT_U32, v["eot"]))
    if v["unk"] is not None:
        kv.append(("tokenizer.ggml.unknown_token_id", GT_U32, v["unk"]))
    kv.append(("tokenizer.ggml.add_bos_token", GT_BOOL, v["add_bos"]))
    if v["template"]:
        kv.append(("tokenizer.chat_template", GT_STR, v["template"]))

    drops = set(a.drop_key)
    kv = [x for x in kv if x[0] not in drops]
    for spec in a.set:
        key, vtype, val = parse_set(spec)
        kv = [x for x in kv if x[0] != key] + [(key, vtype, val)]

    overrides = dict(s.split("=", 1) for s in a.tensor_type)
    shapes = {n: [int(x) for x in s.split(",")] for n, s in (t.split("=", 1) for t in a.shape)}
    tensors = []
    for name, tname, arr in model_tensors(a, n_vocab, rng):
        if name in a.omit:
            continue
        if name in shapes:
            ne = shapes[name]
            arr = rng.standard_normal(int(np.prod(ne))).astype(np.float32).reshape(ne[::-1])
        tname = overrides.get(name, tname)
        if arr.ndim == 1:
            ne = [arr.shape[0]]
        else:
            ne = [arr.shape[1], arr.shape[0]]
        per = BLOCKS[tname][0]
        if ne[0] % per != 0:
            tname = K_FALLBACK.get(tname, tname)
            if ne[0] % BLOCKS[tname][0] != 0:
                tname = "F16"
        tensors.append((name, ne, tname, encode(arr, tname, rng)))
    write_gguf(path, kv, tensors, a.alignment)


def main(argv):
    p = parser()
    a = p.parse_args(argv)
    if a.batch:
        if not a.dir:
            p.error("--batch needs --dir")
        with open(a.batch) as f:
            for line in f:
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                sub = p.parse_args(words[1:])
                generate(sub, os.path.join(a.dir, words[0] + ".gguf"))
        return 0
    if not a.out:
        p.error("--out or --batch is required")
    generate(a, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
