#!/usr/bin/env python3
"""Make an "LLM run" results file from a built-in one, for t_analyze.sh.

usage: make_llm_columns.py IN.h5 OUT.h5

Copies IN.h5 and rewrites /jobs, /outcomes and /rounds with the columns an
LLM run adds (docs/hdf5-layout.md), filled with known values so that the
test can check analyze's cost and judge tables against its own numpy
arithmetic:
  buyer_model: "model-a" on even rows of /jobs, "model-b" on odd rows;
  seller_model "model-b"; judge_model "judge-j";
  buyer_cost_usd 0.002 (model-a) or 0.010 (model-b), seller 0.010,
  judge 0.001, cost_usd their sum;
  /rounds latency_ms = 100 + 7 * (turn % 13) for the buyer, 300 + turn for
  the seller; tokens 50 + turn in, 20 out;
  judge scores: buyer_tactic_score = 8 when the buyer's tactic is boulware,
  else 5, NaN on every tenth job; the other scores 6.
"""
import shutil
import sys

import h5py
import numpy as np

S64 = "S64"


def add_fields(old, extra):
    dt = np.dtype([(k, old.dtype.fields[k][0]) for k in old.dtype.names] + extra)
    new = np.zeros(old.shape, dtype=dt)
    for name in old.dtype.names:
        new[name] = old[name]
    return new


def rewrite(f, name, data):
    ds = f[name]
    chunks, comp = ds.chunks, ds.compression
    del f[name]
    f.create_dataset(name, data=data, maxshape=(None,), chunks=chunks, compression=comp)


def main(src, dst):
    shutil.copyfile(src, dst)
    with h5py.File(dst, "r+") as f:
        jobs, out, rounds = f["jobs"][...], f["outcomes"][...], f["rounds"][...]
        n = len(jobs)
        even = np.arange(n) % 2 == 0
        j = add_fields(jobs, [("buyer_model", S64), ("seller_model", S64), ("judge_model", S64)])
        j["buyer_model"] = np.where(even, b"model-a", b"model-b")
        j["seller_model"] = b"model-b"
        j["judge_model"] = b"judge-j"
        o = add_fields(out, [("cost_usd", "<f8"), ("buyer_cost_usd", "<f8"),
                             ("seller_cost_usd", "<f8"), ("judge_cost_usd", "<f8"),
                             ("input_tokens", "<i8"), ("output_tokens", "<i8"),
                             ("requests", "<i4"), ("cache_hits", "<i4"), ("retries", "<i4"),
                             ("repairs", "<i4"), ("invalid_outputs", "<i4"),
                             ("latency_ms", "<f8"), ("error", "S16"),
                             ("buyer_influencing_score", "<f8"), ("buyer_tactic_score", "<f8"),
                             ("seller_influencing_score", "<f8"),
                             ("seller_tactic_score", "<f8")])
        o["buyer_cost_usd"] = np.where(even, 0.002, 0.010)
        o["seller_cost_usd"] = 0.010
        o["judge_cost_usd"] = 0.001
        o["cost_usd"] = o["buyer_cost_usd"] + o["seller_cost_usd"] + o["judge_cost_usd"]
        o["requests"] = out["turns"] + 1
        o["cache_hits"] = 1
        o["latency_ms"] = 150.0
        boul = jobs["buyer_tactic"] == b"boulware"
        o["buyer_tactic_score"] = np.where(boul, 8.0, 5.0)
        o["buyer_tactic_score"][np.arange(n) % 10 == 0] = np.nan
        o["buyer_influencing_score"] = 6.0
        o["seller_influencing_score"] = 6.0
        o["seller_tactic_score"] = 6.0
        r = add_fields(rounds, [("model", S64), ("input_tokens", "<i4"), ("output_tokens", "<i4"),
                                ("latency_ms", "<f8"), ("cost_usd", "<f8"), ("cached", "i1"),
                                ("attempts", "i1")])
        row_of = {int(jid): i for i, jid in enumerate(jobs["job_id"])}
        idx = np.array([row_of[int(x)] for x in rounds["job_id"]])
        buyer = rounds["speaker"] == b"buyer"
        r["model"] = np.where(buyer, j["buyer_model"][idx], j["seller_model"][idx])
        r["input_tokens"] = 50 + rounds["turn"]
        r["output_tokens"] = 20
        r["latency_ms"] = np.where(buyer, 100.0 + 7 * (rounds["turn"] % 13),
                                   300.0 + rounds["turn"])
        r["attempts"] = 1
        rewrite(f, "jobs", j)
        rewrite(f, "outcomes", o)
        rewrite(f, "rounds", r)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
