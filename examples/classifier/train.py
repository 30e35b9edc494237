"""Trains the example classifier and writes every file `ferry pipeline` uses on it. Deterministic
(fixed seeds, one thread, weights rounded before export), so re-running it rewrites the committed
files byte for byte. Only re-training needs Python (torch, onnx, numpy); the demo does not.

Usage: python3 train.py [OUT_DIR]      (default: the directory of this script)

The task: three kinds of parts told apart by four sensor readings (f0..f3). Classes are Gaussian
blobs with some overlap, so no model gets everything right.

OUT_DIR/data/eval.csv           labelled evaluation set (f0..f3, label): the accuracy gate scores it
OUT_DIR/data/reference.csv      a sample of the training inputs: the drift gate's reference
OUT_DIR/data/traffic.jsonl      Open Inference Protocol v2 request bodies sampled from "live" traffic,
                                for the benchmark and the canary's paired load. About 8% of them carry
                                a glitched f0 reading far outside the training range (sensors do that).
OUT_DIR/models/<name>/model.onnx and MODEL_CARD.md, for
  v1             the stable version: softmax regression on f0..f2
  v2             the good candidate: a small MLP, at least as accurate as v1
  slow           v2 plus a large redundant computation whose result is multiplied by 0: the same
                 answers, several times the latency
  erroring       v2 with a lookup indexed by the input that goes out of bounds when f0 is glitched:
                 onnxruntime fails those requests (HTTP 500), about 8% of live traffic, none of the
                 evaluation set
  less-accurate  an MLP trained on f3 alone: clearly worse on the evaluation set
  hostile-pickle v2 shipped with a preprocessing pickle whose __reduce__ runs a shell command on load
OUT_DIR/models/expected.json    what each model is meant to show, with its accuracy on eval.csv as
                                computed here with torch (not by Ferry)
"""
import csv
import json
import os
import pickle
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
FEATURES, CLASSES = 4, 3
OPSET = 13
SLOW_LAYERS, SLOW_WIDTH, SLOW_ROWS = 40, 256, 96
GLITCH_AT = 8.0  # f0 above this is a glitched reading (training data stays within about ±6)

torch.manual_seed(2024)
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
rng = np.random.default_rng(2024)

CENTERS = np.array([[1.6, 0.0, -0.8, 0.6], [-1.4, 1.2, 0.0, -0.4], [0.2, -1.5, 1.2, -0.6]])
SCALES = np.array([1.15, 1.0, 1.1, 1.05])


def sample(n):
    y = rng.integers(0, CLASSES, n)
    x = CENTERS[y] + rng.standard_normal((n, FEATURES)) * SCALES
    # A curved boundary between classes 1 and 2 that a linear model cannot follow exactly.
    x[:, 1] += 0.5 * (x[:, 0] ** 2 - 1) * (y == 1)
    return np.round(x, 4).astype(np.float32), y.astype(np.int64)


x_train, y_train = sample(3000)
x_eval, y_eval = sample(800)


def train(model, x, y, epochs, lr):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt), yt).backward()
        opt.step()
    model.eval()
    # Rounded so that another BLAS summing in another order still writes the same bytes.
    with torch.no_grad():
        return [np.round(p.detach().numpy().astype(np.float64), 4).astype(np.float32) for p in model.parameters()]


V1_COLUMNS = [0, 1, 2]


def linear_params():
    return train(torch.nn.Linear(len(V1_COLUMNS), CLASSES), x_train[:, V1_COLUMNS], y_train, 300, 0.05)


def mlp_params(x, columns=None):
    model = torch.nn.Sequential(torch.nn.Linear(len(columns or range(FEATURES)), 24), torch.nn.ReLU(), torch.nn.Linear(24, CLASSES))
    return train(model, x if columns is None else x[:, columns], y_train, 1500, 0.02)


def accuracy_of(forward, x, y):
    return float((forward(x).argmax(axis=1) == y).mean())


# ---- ONNX graphs, written node by node so that the bad variants are the good graph plus one part.

def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def base_nodes(params, columns=None):
    """Nodes from `features` to `logits` (a linear model for 2 parameters, an MLP for 4), and their initializers."""
    nodes, inits, src = [], [], "features"
    if columns is not None:
        nodes.append(helper.make_node("Gather", ["features", "columns"], ["selected"], axis=1))
        inits.append(init("columns", np.array(columns, np.int64)))
        src = "selected"
    if len(params) == 2:
        w, b = params
        return nodes + [helper.make_node("Gemm", [src, "w", "b"], ["logits"], transB=1)], inits + [init("w", w), init("b", b)]
    w1, b1, w2, b2 = params
    nodes += [
        helper.make_node("Gemm", [src, "w1", "b1"], ["h1"], transB=1),
        helper.make_node("Relu", ["h1"], ["a1"]),
        helper.make_node("Gemm", ["a1", "w2", "b2"], ["logits"], transB=1),
    ]
    return nodes, inits + [init("w1", w1), init("b1", b1), init("w2", w2), init("b2", b2)]


def slow_nodes():
    """A chain of SLOW_LAYERS matrix products on the input, multiplied by 0 and added to the logits."""
    g = np.random.default_rng(7)
    inits = [
        init("slow_in", np.round(g.standard_normal((FEATURES, SLOW_WIDTH)) * 0.5, 3).astype(np.float32)),
        # One weight matrix reused by every layer keeps the file small; the work is done every time.
        init("slow_w", np.round(g.standard_normal((SLOW_WIDTH, SLOW_WIDTH)) / np.sqrt(SLOW_WIDTH), 3).astype(np.float32)),
        init("zero", np.zeros((1,), np.float32)),
        init("slow_repeats", np.array([SLOW_ROWS, 1], np.int64)),
    ]
    # The same work for every request whatever its batch (so scoring the evaluation set stays quick):
    # the batch's mean row, repeated SLOW_ROWS times, through the chain.
    nodes = [
        helper.make_node("ReduceMean", ["features"], ["slow_mean"], axes=[0], keepdims=1),
        helper.make_node("Tile", ["slow_mean", "slow_repeats"], ["slow_rows"]),
        helper.make_node("MatMul", ["slow_rows", "slow_in"], ["slow_0"]),
    ]
    for i in range(SLOW_LAYERS):
        nodes.append(helper.make_node("MatMul", [f"slow_{i}", "slow_w"], [f"slow_mm_{i}"]))
        nodes.append(helper.make_node("Tanh", [f"slow_mm_{i}"], [f"slow_{i + 1}"]))
    nodes += [
        helper.make_node("ReduceSum", [f"slow_{SLOW_LAYERS}"], ["slow_sum"], keepdims=1),  # [1, 1]
        helper.make_node("Mul", ["slow_sum", "zero"], ["slow_nothing"]),
        helper.make_node("Add", ["logits_base", "slow_nothing"], ["logits"]),
    ]
    return nodes, inits


def erroring_nodes():
    """index = 7 where f0 > GLITCH_AT, else 0, into a table of 4 zeros: out of bounds for glitched rows."""
    inits = [
        init("f0_index", np.array([0], np.int64)),
        init("glitch_at", np.array([GLITCH_AT], np.float32)),
        init("bad_index", np.array([7], np.int64)),
        init("table", np.zeros((4,), np.float32)),
        init("axis_1", np.array([1], np.int64)),
    ]
    nodes = [
        helper.make_node("Gather", ["features", "f0_index"], ["f0"], axis=1),  # [N, 1]
        helper.make_node("Greater", ["f0", "glitch_at"], ["glitched"]),
        helper.make_node("Cast", ["glitched"], ["glitched_i"], to=TensorProto.INT64),
        helper.make_node("Mul", ["glitched_i", "bad_index"], ["index"]),
        helper.make_node("Squeeze", ["index", "axis_1"], ["index_flat"]),  # [N]
        helper.make_node("Gather", ["table", "index_flat"], ["looked_up"], axis=0),  # [N]
        helper.make_node("Unsqueeze", ["looked_up", "axis_1"], ["looked_up_col"]),  # [N, 1]
        helper.make_node("Add", ["logits_base", "looked_up_col"], ["logits"]),
    ]
    return nodes, inits


def write_model(name, nodes, inits, doc):
    nodes = nodes + [helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)]
    graph = helper.make_graph(
        nodes,
        "classifier",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", CLASSES])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ferry-example", producer_version="1")
    model.ir_version = 7
    model.doc_string = doc
    onnx.checker.check_model(model)
    d = OUT / "models" / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.onnx").write_bytes(model.SerializeToString())
    return d


def rename_output(nodes, new):
    return [helper.make_node(n.op_type, list(n.input), [new if o == "logits" else o for o in n.output], name=n.name, **{a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in nodes]


def model_card(d, name, summary, accuracy):
    d.joinpath("MODEL_CARD.md").write_text(
        f"""---
license: Apache-2.0
---
# Example classifier, {name}

## Intended use
Sorting three kinds of parts by four sensor readings, in Ferry's example pipeline. {summary}

## Limitations
Trained on synthetic data; readings outside the training range (about ±6) are not meaningful.

## Evaluation
Accuracy {accuracy:.4f} on data/eval.csv (800 labelled rows), computed by train.py with torch.
"""
    )


# ---- Train.

def np_linear(params):
    w, b = params
    return lambda x: x[:, V1_COLUMNS] @ w.T + b


def np_mlp(params, columns=None):
    w1, b1, w2, b2 = params
    return lambda x: np.maximum((x if columns is None else x[:, columns]) @ w1.T + b1, 0) @ w2.T + b2


v1 = linear_params()
v2 = mlp_params(x_train)
weak_columns = [3]
weak = mlp_params(x_train, weak_columns)

acc = {
    "v1": accuracy_of(np_linear(v1), x_eval, y_eval),
    "v2": accuracy_of(np_mlp(v2), x_eval, y_eval),
    "less-accurate": accuracy_of(np_mlp(weak, weak_columns), x_eval, y_eval),
}
assert acc["v2"] >= acc["v1"], acc
assert acc["less-accurate"] < acc["v1"] - 0.1, acc

# ---- Data files.

data = OUT / "data"
data.mkdir(parents=True, exist_ok=True)
names = [f"f{i}" for i in range(FEATURES)]


def write_csv(path, x, y=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(names + ([] if y is None else ["label"]))
        for i, row in enumerate(x.tolist()):
            w.writerow([f"{v:.4f}" for v in row] + ([] if y is None else [int(y[i])]))


write_csv(data / "eval.csv", x_eval, y_eval)
write_csv(data / "reference.csv", x_train[:1000])

x_live, _ = sample(400)
glitched = rng.random(400) < 0.08
x_live[glitched, 0] = np.round(rng.uniform(GLITCH_AT + 1, GLITCH_AT + 6, glitched.sum()), 4)
with open(data / "traffic.jsonl", "w") as f:
    for row in x_live.tolist():
        f.write(json.dumps({"inputs": [{"name": "features", "shape": [1, FEATURES], "datatype": "FP32", "data": [round(v, 4) for v in row]}]}) + "\n")

# ---- Models.

n, i = base_nodes(v1, V1_COLUMNS)
model_card(write_model("v1", n, i, "stable: softmax regression"), "v1", "The stable version: softmax regression on f0, f1 and f2.", acc["v1"])
n, i = base_nodes(v2)
model_card(write_model("v2", n, i, "candidate: MLP 4-24-3"), "v2", "A small MLP (4-24-3).", acc["v2"])

n, i = base_nodes(v2)
sn, si = slow_nodes()
model_card(write_model("slow", rename_output(n, "logits_base") + sn, i + si, "v2 plus a redundant computation"), "slow", f"v2 plus {SLOW_LAYERS} redundant matrix products of {SLOW_ROWS}x{SLOW_WIDTH} by {SLOW_WIDTH}x{SLOW_WIDTH} per request.", acc["v2"])

n, i = base_nodes(v2)
en, ei = erroring_nodes()
model_card(write_model("erroring", rename_output(n, "logits_base") + en, i + ei, "v2 that fails on glitched readings"), "erroring", f"v2 with a lookup that fails when f0 > {GLITCH_AT}.", acc["v2"])

n, i = base_nodes(weak, weak_columns)
model_card(write_model("less-accurate", n, i, "MLP on f3 alone"), "less-accurate", "An MLP that reads f3 alone.", acc["less-accurate"])

n, i = base_nodes(v2)
hostile = write_model("hostile-pickle", n, i, "v2 with a hostile preprocessing pickle")
model_card(hostile, "hostile-pickle", "v2 with a preprocessing step saved as a pickle.", acc["v2"])


class Preprocessor:
    """Unpickling this runs a shell command: pickle.dumps only records the call, it never makes it."""

    def __reduce__(self):
        return (os.system, ("echo 'ferry example: this pickle ran a command' > /tmp/ferry-example-pwned",))


(hostile / "preprocess.pkl").write_bytes(pickle.dumps(Preprocessor(), protocol=4))

expected = {
    "eval": {"rows": len(y_eval), "file": "data/eval.csv"},
    "traffic": {"requests": len(x_live), "glitched": int(glitched.sum()), "file": "data/traffic.jsonl"},
    "models": {
        "v1": {"accuracy": round(acc["v1"], 4), "expect": "stable"},
        "v2": {"accuracy": round(acc["v2"], 4), "expect": "promoted"},
        "slow": {"accuracy": round(acc["v2"], 4), "expect": "rejected at canary-deploy: latency"},
        "erroring": {"accuracy": round(acc["v2"], 4), "expect": "rejected at benchmark-on-gpu-runner: errors on glitched readings"},
        "less-accurate": {"accuracy": round(acc["less-accurate"], 4), "expect": "rejected at validate-model: accuracy gate"},
        "hostile-pickle": {"accuracy": round(acc["v2"], 4), "expect": "rejected at validate-model: pickle scan"},
    },
}
(OUT / "models" / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
print(json.dumps(acc))
