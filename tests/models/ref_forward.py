#!/usr/bin/env python3
"""ref_forward.py - a deliberately naive reference forward pass for GGUF models.

The engine's logits are checked against this: it shares no code with the
engine (nor with gen_gguf.py, whose quantizers it must not trust), reads the
GGUF file with its own parser, dequantizes every tensor from the ggml block
layouts, and runs the model one position at a time in float64, one head at
a time, with the loops written out, the way the model is defined by
llama.cpp on GGUF tensors:

  x = token_embd[token]
  per layer:  h = rmsnorm(x) * attn_norm
              q, k, v = Wq h (+bq), Wk h (+bk), Wv h (+bv)
              rope(q), rope(k) at the position: "normal" pairs (x[2i], x[2i+1])
                for llama, NeoX pairs (x[i], x[i + n_rot/2]) for qwen2, angle
                pos * freq_scale * base^(-2i/n_rot) / rope_freqs[i]
              attention per head over positions 0..pos, scale 1/sqrt(head_dim),
                query head j reads kv head j / (n_head / n_head_kv)
              x += Wo attn (+bo)
              h = rmsnorm(x) * ffn_norm
              x += Wdown (silu(Wgate h) * (Wup h))
  logits = W_output (rmsnorm(x) * output_norm), W_output = token_embd when
           output.weight is absent

Usage: ref_forward.py --model FILE --tokens 1,2,3 [--out FILE] [--act-quant]
       ref_forward.py --batch SPECS --dir DIR --tokens 1,2,3 [--suffix .ref]
  (the second writes DIR/NAME.ref for each DIR/NAME.gguf named in SPECS)
--act-quant rounds each activation to 8 bits (per block of 32, or 256 for
the k-quants) before a product with quantized weights, as the engine's
kernels and llama.cpp's do; without it the reference is exact float64.
Output: a line "N_POS N_VOCAB", then one line of logits per position.
"""

import argparse
import math
import shlex
import struct
import sys

import numpy as np

# ---------------------------------------------------------------- GGUF


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("GGUF truncated at %d" % self.pos)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        return self.take(self.u("Q")).decode("utf-8")


SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


def read_value(r, t):
    if t == 8:
        return r.string()
    if t == 9:
        et, n = r.u("I"), r.u("Q")
        return [read_value(r, et) for _ in range(n)]
    return r.u(SCALARS[t])


def read_gguf(path):
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    if r.take(4) != b"GGUF" or r.u("I") != 3:
        raise ValueError("not a GGUF v3 file")
    n_tensors, n_kv = r.u("Q"), r.u("Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = read_value(r, r.u("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.u("I")
        ne = [r.u("Q") for _ in range(nd)]
        infos.append((name, ne, r.u("I"), r.u("Q")))
    align = meta.get("general.alignment", 32)
    base = (r.pos + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        size = n // BLOCK[t][0] * BLOCK[t][1]
        tensors[name] = (ne, t, data[base + off: base + off + size])
    return meta, tensors

# ---------------------------------------------------------------- dequantization

# type -> (elements per block, bytes per block)
BLOCK = {0: (1, 4), 1: (1, 2), 30: (1, 2), 8: (32, 34), 2: (32, 18), 6: (32, 22),
         7: (32, 24), 12: (256, 144), 14: (256, 210), 3: (32, 20), 10: (256, 84)}


def half(b, off):
    return np.frombuffer(b[:, off:off + 2].tobytes(), dtype="<f2").astype(np.float64)


def deq_bf16(raw, n):
    u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    return u.view(np.float32).astype(np.float64)


def deq_q8_0(b):
    d = half(b, 0)
    q = b[:, 2:34].view(np.int8).astype(np.float64)
    return (q * d[:, None]).ravel()


def deq_q4_0(b):
    d = half(b, 0)
    qs = b[:, 2:18].astype(np.int64)
    lo, hi = (qs & 15) - 8, (qs >> 4) - 8
    return (np.concatenate([lo, hi], axis=1) * d[:, None]).ravel()


def fifth_bits(b, off):
    qh = np.frombuffer(b[:, off:off + 4].tobytes(), dtype="<u4").astype(np.int64)
    return (qh[:, None] >> np.arange(32)[None, :]) & 1


def deq_q5_0(b):
    d = half(b, 0)
    hb = fifth_bits(b, 2)
    qs = b[:, 6:22].astype(np.int64)
    q = np.concatenate([qs & 15, qs >> 4], axis=1) | (hb << 4)
    return ((q - 16) * d[:, None]).ravel()


def deq_q5_1(b):
    d, m = half(b, 0), half(b, 2)
    hb = fifth_bits(b, 4)
    qs = b[:, 8:24].astype(np.int64)
    q = np.concatenate([qs & 15, qs >> 4], axis=1) | (hb << 4)
    return (q * d[:, None] + m[:, None]).ravel()


def deq_q4_k(b):
    """256 elements: eight sub-blocks of 32 with 6-bit scale and min
    (get_scale_min_k4 in ggml), 4-bit values, low nibbles of 32 bytes
    first, then their high nibbles."""
    d, dmin = half(b, 0), half(b, 2)
    s = b[:, 4:16].astype(np.int64)
    sc = np.zeros((b.shape[0], 8), dtype=np.int64)
    mn = np.zeros((b.shape[0], 8), dtype=np.int64)
    for j in range(8):
        if j < 4:
            sc[:, j], mn[:, j] = s[:, j] & 63, s[:, j + 4] & 63
        else:
            sc[:, j] = (s[:, j + 4] & 15) | ((s[:, j - 4] >> 6) << 4)
            mn[:, j] = (s[:, j + 4] >> 4) | ((s[:, j] >> 6) << 4)
    qs = b[:, 16:144].astype(np.int64)
    out = np.zeros((b.shape[0], 256))
    for j in range(8):
        chunk = qs[:, 32 * (j // 2): 32 * (j // 2) + 32]
        q = chunk & 15 if j % 2 == 0 else chunk >> 4
        out[:, 32 * j: 32 * j + 32] = (d * sc[:, j])[:, None] * q - (dmin * mn[:, j])[:, None]
    return out.ravel()


def deq_q6_k(b):
    """256 elements: 6-bit values (low 4 bits in ql, high 2 in qh) minus 32,
    times d and the int8 scale of each 16 elements."""
    d = half(b, 208)
    ql, qh = b[:, 0:128].astype(np.int64), b[:, 128:192].astype(np.int64)
    sc = b[:, 192:208].view(np.int8).astype(np.int64)
    out = np.zeros((b.shape[0], 256))
    for e in range(256):
        n, r = divmod(e, 128)  # which half, then position within it
        k, l = divmod(r, 32)   # which of the four 32-element groups
        low = ql[:, 64 * n + 32 * (k % 2) + l]
        low = low & 15 if k < 2 else low >> 4
        high = (qh[:, 32 * n + l] >> (2 * k)) & 3
        out[:, e] = d * sc[:, e // 16] * ((low | (high << 4)) - 32)
    return out.ravel()


def dequant(ne, t, raw):
    n = int(np.prod(ne))
    if t == 0:
        v = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    elif t == 1:
        v = np.frombuffer(raw, dtype="<f2").astype(np.float64)
    elif t == 30:
        v = deq_bf16(raw, n)
    else:
        per, nbytes = BLOCK[t]
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, nbytes)
        v = {8: deq_q8_0, 2: deq_q4_0, 6: deq_q5_0, 7: deq_q5_1, 12: deq_q4_k, 14: deq_q6_k}[t](b)
    assert v.size == n
    return v.reshape(list(reversed(ne))) if len(ne) > 1 else v

# ---------------------------------------------------------------- the model


def rmsnorm(x, w, eps):
    ss = 0.0
    for v in x:
        ss += v * v
    return x / math.sqrt(ss / len(x) + eps) * w


# The engine's kernels quantize the activation before a product with
# quantized weights (docs/quant.md): blocks of 32 for the 32-element
# types, 256 for the k-quants; d = max|x| / 127, q = x / d rounded to
# nearest. --act-quant mirrors that step, so the comparison can separate
# the kernels' arithmetic (tight) from the 8-bit activations' error.
ACT_BLOCK = {8: 32, 2: 32, 6: 32, 7: 32, 12: 256, 14: 256}
ACT_QUANT = False


def act_quant(x, wtype):
    if not ACT_QUANT or wtype not in ACT_BLOCK:
        return x
    n = ACT_BLOCK[wtype]
    out = np.zeros_like(x)
    for b in range(0, len(x), n):
        blk = x[b:b + n].astype(np.float32)
        d = np.float32(np.abs(blk).max()) / np.float32(127.0)
        if d == 0:
            continue
        q = np.clip(np.rint(blk * (np.float32(1.0) / d)), -127, 127)
        out[b:b + n] = q.astype(np.float64) * float(d)
    return out


def matvec(W, x, wtype=0):
    x = act_quant(x, wtype)
    y = np.zeros(W.shape[0])
    for r in range(W.shape[0]):
        y[r] = float(np.dot(W[r], x))
    return y


def rope(v, pos, n_rot, neox, base, freq_scale, freqs):
    out = v.copy()
    for i in range(n_rot // 2):
        theta = pos * freq_scale * base ** (-2.0 * i / n_rot)
        if freqs is not None:
            theta /= freqs[i]
        c, s = math.cos(theta), math.sin(theta)
        a, b = (i, i + n_rot // 2) if neox else (2 * i, 2 * i + 1)
        out[a] = v[a] * c - v[b] * s
        out[b] = v[a] * s + v[b] * c
    return out


def forward(meta, tensors, tokens):
    arch = meta["general.architecture"]
    if arch not in ("llama", "qwen2"):
        raise ValueError("architecture %s" % arch)
    g = lambda k, d=None: meta.get(arch + "." + k, d)
    n_layer, n_head = g("block_count"), g("attention.head_count")
    n_kv = g("attention.head_count_kv", n_head)
    dim = g("embedding_length")
    hd = g("attention.key_length", dim // n_head)
    n_rot = g("rope.dimension_count", hd)
    eps = g("attention.layer_norm_rms_epsilon")
    base = g("rope.freq_base", 10000.0)
    freq_scale = 1.0
    if g("rope.scaling.type", "none") == "linear":
        freq_scale = 1.0 / g("rope.scaling.factor")
    neox = arch == "qwen2"
    W = {name: dequant(*t) for name, t in tensors.items()}
    TY = {name: t[1] for name, t in tensors.items()}
    freqs = W.get("rope_freqs.weight")
    out_name = "output.weight" if "output.weight" in W else "token_embd.weight"

    def mv(name, x):
        return matvec(W[name], x, TY[name])

    def opt(name):
        return W.get(name)

    keys = [[] for _ in range(n_layer)]
    vals = [[] for _ in range(n_layer)]
    logits = []
    for pos, tok in enumerate(tokens):
        x = W["token_embd.weight"][tok].copy()
        for l in range(n_layer):
            p = "blk.%d." % l
            h = rmsnorm(x, W[p + "attn_norm.weight"], eps)
            q, k, v = mv(p + "attn_q.weight", h), mv(p + "attn_k.weight", h), mv(p + "attn_v.weight", h)
            for name, vec in (("attn_q.bias", q), ("attn_k.bias", k), ("attn_v.bias", v)):
                if opt(p + name) is not None:
                    vec += W[p + name]
            for hh in range(n_head):
                q[hh * hd:(hh + 1) * hd] = rope(q[hh * hd:(hh + 1) * hd], pos, n_rot, neox, base, freq_scale, freqs)
            for hh in range(n_kv):
                k[hh * hd:(hh + 1) * hd] = rope(k[hh * hd:(hh + 1) * hd], pos, n_rot, neox, base, freq_scale, freqs)
            keys[l].append(k)
            vals[l].append(v)
            att = np.zeros(n_head * hd)
            for hh in range(n_head):
                kvh = hh // (n_head // n_kv)
                qh = q[hh * hd:(hh + 1) * hd]
                scores = [float(np.dot(qh, keys[l][t][kvh * hd:(kvh + 1) * hd])) / math.sqrt(hd) for t in range(pos + 1)]
                m = max(scores)
                e = [math.exp(s - m) for s in scores]
                z = sum(e)
                for t in range(pos + 1):
                    att[hh * hd:(hh + 1) * hd] += e[t] / z * vals[l][t][kvh * hd:(kvh + 1) * hd]
            o = mv(p + "attn_output.weight", att)
            if opt(p + "attn_output.bias") is not None:
                o += W[p + "attn_output.bias"]
            x = x + o
            h = rmsnorm(x, W[p + "ffn_norm.weight"], eps)
            gate, up = mv(p + "ffn_gate.weight", h), mv(p + "ffn_up.weight", h)
            act = np.array([gv / (1.0 + math.exp(-gv)) * uv for gv, uv in zip(gate, up)])
            x = x + mv(p + "ffn_down.weight", act)
        logits.append(mv(out_name, rmsnorm(x, W["output_norm.weight"], eps)))
    return np.array(logits)


def write_logits(path, logits):
    with open(path, "w") as f:
        f.write("%d %d\n" % logits.shape)
        for row in logits:
            f.write(" ".join("%.17g" % v for v in row) + "\n")


def main(argv):
    p = argparse.ArgumentParser(description="naive float64 reference logits for a GGUF model")
    p.add_argument("--model")
    p.add_argument("--batch")
    p.add_argument("--dir")
    p.add_argument("--tokens", required=True)
    p.add_argument("--out", default="-")
    p.add_argument("--act-quant", action="store_true",
                   help="quantize activations to 8 bits before quantized products, as the kernels do")
    p.add_argument("--suffix", default=".ref", help="--batch output name suffix")
    a = p.parse_args(argv)
    global ACT_QUANT
    ACT_QUANT = a.act_quant
    tokens = [int(t) for t in a.tokens.split(",")]
    jobs = []
    if a.batch:
        with open(a.batch) as f:
            for line in f:
                words = shlex.split(line, comments=True)
                if words:
                    jobs.append(("%s/%s.gguf" % (a.dir, words[0]), "%s/%s%s" % (a.dir, words[0], a.suffix)))
    else:
        jobs.append((a.model, a.out))
    for model, out in jobs:
        meta, tensors = read_gguf(model)
        logits = forward(meta, tensors, tokens)
        if out == "-":
            write_logits("/dev/stdout", logits)
        else:
            write_logits(out, logits)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
