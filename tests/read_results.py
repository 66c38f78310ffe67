#!/usr/bin/env python3
"""Checks that a negsim results file is usable from Python.

Usage: python3 tests/read_results.py FILE

Opens FILE with h5py, reads every table (/jobs, /outcomes, /rounds,
/transcripts and each scenario's issues and frontier) into numpy structured
arrays, decodes the string columns, and checks what the layout promises
(docs/hdf5-layout.md): row counts agree with the /run attributes and with
each other, job ids are unique, ascending and the same in /jobs and
/outcomes, every round and transcript row belongs to a job, and the value
columns v0..v{K-1} match the max_issues attribute. In runs with LLM agents
(root attribute llm = 1) it also checks the LLM columns: present with their
types, the transcript text column UTF-8 and every text valid UTF-8 (texts
are cut at a character boundary), latency NaN exactly without requests,
judge scores NaN or 1..10. Builds pandas DataFrames when pandas is
installed. Exits 1 with a message naming the first problem.
"""
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as exc:
    # A Python from pyenv or a venv may shadow Debian's, which has
    # python3-h5py and python3-numpy; use that one when it exists.
    if os.path.exists("/usr/bin/python3") and os.environ.get("NEGSIM_REEXEC") != "1" \
            and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.environ["NEGSIM_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit(f"read_results: cannot import h5py/numpy ({exc}); install python3-h5py")


class Problem(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Problem(msg)


def decode(arr):
    """Returns a dict of columns with fixed-length byte strings as str."""
    cols = {}
    for name in arr.dtype.names:
        col = arr[name]
        if col.dtype.kind == "S":
            col = np.char.decode(col, "utf-8")
        cols[name] = col
    return cols


def read_table(f, path):
    check(path in f, f"missing table {path}")
    d = f[path]
    check(isinstance(d, h5py.Dataset), f"{path} is not a dataset")
    check(d.ndim == 1 and d.dtype.names, f"{path} is not a 1-D table of records")
    arr = d[...]
    check(arr.shape == d.shape, f"{path}: read {arr.shape} rows, dataset has {d.shape}")
    return arr


def attr_str(obj, name):
    check(name in obj.attrs, f"{obj.name}: missing attribute {name}")
    v = obj.attrs[name]
    return v.decode("utf-8") if isinstance(v, bytes) else str(v)


def check_sorted_ids(name, ids, strict):
    if len(ids) > 1:
        d = np.diff(ids.astype(np.int64))
        ok = np.all(d > 0) if strict else np.all(d >= 0)
        check(ok, f"{name}: job ids are not {'strictly ' if strict else ''}ascending")


LLM_TEXT_LEN = 8192     # NS_LLM_TEXT_LEN
LLM_SUMMARY_LEN = 2048  # NS_LLM_SUMMARY_LEN
LLM_COLUMNS = {
    "jobs": [("buyer_model", "S64"), ("seller_model", "S64"), ("judge_model", "S64")],
    "outcomes": [("cost_usd", "f8"), ("buyer_cost_usd", "f8"), ("seller_cost_usd", "f8"),
                 ("judge_cost_usd", "f8"), ("input_tokens", "i8"), ("output_tokens", "i8"),
                 ("requests", "i4"), ("cache_hits", "i4"), ("retries", "i4"),
                 ("repairs", "i4"), ("invalid_outputs", "i4"), ("latency_ms", "f8"),
                 ("error", "S16"), ("error_message", "S256"),
                 ("buyer_influencing_score", "f8"), ("buyer_tactic_score", "f8"),
                 ("seller_influencing_score", "f8"), ("seller_tactic_score", "f8"),
                 ("buyer_judge_summary", f"S{LLM_SUMMARY_LEN}"),
                 ("seller_judge_summary", f"S{LLM_SUMMARY_LEN}")],
    "rounds": [("model", "S64"), ("input_tokens", "i4"), ("output_tokens", "i4"),
               ("latency_ms", "f8"), ("cost_usd", "f8"), ("cached", "i1"),
               ("attempts", "i1"), ("repaired", "i1")],
    "transcripts": [("text", f"S{LLM_TEXT_LEN}"), ("text_truncated", "i1")],
}


def check_llm(f, arrays):
    """The LLM columns (docs/hdf5-layout.md, "LLM columns")."""
    for name, cols in LLM_COLUMNS.items():
        dt = arrays[name].dtype
        names = list(dt.names)
        for col, kind in cols:
            check(col in names, f"/{name}: LLM column {col} missing")
            check(dt[col] == np.dtype(kind), f"/{name} {col}: {dt[col]}, expected {kind}")
        # the LLM columns come last, in this order
        check(names[-len(cols):] == [c for c, _ in cols],
              f"/{name}: LLM columns out of order: {names[-len(cols):]}")
    tid = f["transcripts"].id.get_type()
    text = tid.get_member_type(tid.get_member_index(b"text"))
    check(text.get_cset() == h5py.h5t.CSET_UTF8, "/transcripts text is not marked UTF-8")
    texts = arrays["transcripts"]
    cut = texts["text_truncated"]
    check(np.all((cut == 0) | (cut == 1)), "/transcripts text_truncated is not 0/1")
    for t in texts["text"][cut == 1]:
        check(len(t) >= LLM_TEXT_LEN - 4, f"a text flagged as cut holds {len(t)} bytes")
    out = arrays["outcomes"]
    lat = out["latency_ms"]
    check(np.array_equal(np.isnan(lat), out["requests"] == 0),
          "/outcomes latency_ms is not NaN exactly where requests is 0")
    for side in ("buyer", "seller"):
        for kind in ("influencing", "tactic"):
            v = out[f"{side}_{kind}_score"]
            ok = np.isnan(v) | ((v >= 1) & (v <= 10))
            check(np.all(ok), f"/outcomes {side}_{kind}_score outside 1..10")
    for c in ("cost_usd", "buyer_cost_usd", "seller_cost_usd", "judge_cost_usd"):
        check(np.all(out[c] >= 0), f"/outcomes {c} is negative")


def check_file(path):
    f = h5py.File(path, "r")
    for a in ("negsim_version", "format_version", "spec", "spec_digest", "master_seed",
              "max_issues", "value_columns", "created"):
        check(a in f.attrs, f"root attribute {a} missing")
    check("run" in f, "group /run missing")
    run = f["run"]
    state = attr_str(run, "state")
    check(state in ("running", "interrupted", "complete"), f"/run state is {state!r}")
    jobs_done = int(run.attrs["jobs_done"])
    k = int(f.attrs["max_issues"])

    jobs = read_table(f, "jobs")
    outcomes = read_table(f, "outcomes")
    rounds = read_table(f, "rounds")
    texts = read_table(f, "transcripts")

    check(len(jobs) == jobs_done,
          f"/jobs has {len(jobs)} rows but /run jobs_done is {jobs_done}")
    check(len(outcomes) == len(jobs),
          f"/outcomes has {len(outcomes)} rows, /jobs {len(jobs)}")
    check(np.array_equal(jobs["job_id"], outcomes["job_id"]),
          "job ids in /outcomes differ from /jobs")
    check(len(np.unique(outcomes["job_id"])) == len(outcomes), "job ids in /outcomes repeat")
    check_sorted_ids("/jobs", jobs["job_id"], True)
    if len(jobs):
        check(int(jobs["job_id"][-1]) < int(run.attrs["next_index"]),
              "a job id is beyond /run next_index")
    check(len(rounds) == int(outcomes["turns"].sum()),
          f"/rounds has {len(rounds)} rows, outcomes count {int(outcomes['turns'].sum())} turns")
    check_sorted_ids("/rounds", rounds["job_id"], False)
    check(np.all(np.isin(rounds["job_id"], jobs["job_id"])), "/rounds has rows of unknown jobs")
    want_texts = len(rounds) if int(f.attrs.get("transcripts", 1)) else 0
    check(len(texts) == want_texts,
          f"/transcripts has {len(texts)} rows, expected {want_texts}")
    if len(texts):
        check(np.array_equal(texts["job_id"], rounds["job_id"]) and
              np.array_equal(texts["turn"], rounds["turn"]),
              "/transcripts rows do not match /rounds rows")

    for name, arr in (("outcomes", outcomes), ("rounds", rounds)):
        vcols = [c for c in arr.dtype.names if c.startswith("v") and c[1:].isdigit()]
        check(vcols == [f"v{i}" for i in range(k)],
              f"/{name} value columns {vcols}, expected v0..v{k - 1}")

    llm = int(f.attrs.get("llm", 0))
    if llm:
        check_llm(f, {"jobs": jobs, "outcomes": outcomes, "rounds": rounds,
                      "transcripts": texts})

    # decoding checks every string is valid UTF-8 (LLM texts are cut at a
    # character boundary, never inside one)
    tables = {n: decode(a) for n, a in
              (("jobs", jobs), ("outcomes", outcomes), ("rounds", rounds), ("transcripts", texts))}
    endings = set(tables["outcomes"]["ending"].tolist())
    check(endings <= {"agreement", "walkaway", "impasse"}, f"unexpected endings {endings}")

    check("scenarios" in f, "group /scenarios missing")
    scen_names = set(tables["jobs"]["scenario"].tolist())
    for name in scen_names:
        check(name in f["scenarios"], f"jobs use scenario {name!r} without /scenarios/{name}")
    for name, g in f["scenarios"].items():
        issues = decode(read_table(f, f"scenarios/{name}/issues"))
        frontier = read_table(f, f"scenarios/{name}/frontier")
        n = len(issues["name"])
        check(1 <= n <= k, f"/scenarios/{name}: {n} issues, max_issues {k}")
        check(list(frontier.dtype.names) == ["u_buyer", "u_seller"] + [f"v{i}" for i in range(n)],
              f"/scenarios/{name}/frontier columns {frontier.dtype.names}")
        for a in ("title", "source", "nash_index", "ks_index"):
            check(a in g.attrs, f"/scenarios/{name}: attribute {a} missing")

    frames = ""
    try:
        import pandas as pd
    except ImportError:
        pd = None
    if pd is not None:
        dfs = {n: pd.DataFrame(cols) for n, cols in tables.items()}
        merged = dfs["jobs"].merge(dfs["outcomes"], on="job_id", validate="one_to_one")
        check(len(merged) == len(jobs), "pandas merge of jobs and outcomes lost rows")
        frames = ", pandas DataFrames built"
    f.close()
    return (f"{path}: {state}, {len(jobs)} jobs, {len(rounds)} rounds, "
            f"{len(texts)} transcript rows, K={k}{', LLM columns' if llm else ''}{frames}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: read_results.py FILE")
    try:
        print("read_results: " + check_file(sys.argv[1]))
    except Problem as p:
        sys.exit(f"read_results: {sys.argv[1]}: {p}")
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"read_results: {sys.argv[1]}: cannot read: {e}")


if __name__ == "__main__":
    main()
