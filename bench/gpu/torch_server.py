"""A small GPU model server for running benchmark-on-gpu-runner for real on a GPU machine.

Test and bench infrastructure only (Ferry itself is TypeScript): it gives the benchmark step real GPU
work behind the two protocol families it measures.

  --mode oip     Open Inference Protocol v2 (KServe v2 REST): a fp16 MLP on CUDA. Each request
                 carries a [rows, features] FP32 tensor; the answer is the arg-max class per row.
  --mode openai  OpenAI-compatible /v1/chat/completions with streaming: a randomly initialised
                 GPT-2-shaped decoder (no download: weights are seeded) that greedily decodes one
                 token per forward pass, so time to first token and inter-token latency are real.

Requests are served by threads; the GPU work is serialised by one lock (token by token in openai
mode, so concurrent streams interleave). Usage: torch_server.py --port P --mode oip|openai.
"""
import argparse
import faulthandler
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--mode", choices=["oip", "openai"], default="oip")
parser.add_argument("--model-name", default="mlp")
parser.add_argument("--rows", type=int, default=64)
parser.add_argument("--features", type=int, default=64)
parser.add_argument("--expand", type=int, default=64, help="each request's rows are repeated this many times on the GPU, so the work is the GPU's and not JSON parsing")
parser.add_argument("--hidden", type=int, default=8192)
parser.add_argument("--layers", type=int, default=8)
parser.add_argument("--classes", type=int, default=1000)
args = parser.parse_args()

if not torch.cuda.is_available():
    raise SystemExit("torch_server.py: no CUDA device")
device = torch.device("cuda")
torch.manual_seed(20261123)
LOCK = threading.Lock()
# Streams take turns token by token; the default 5 ms GIL switch interval would make each turn wait.
sys.setswitchinterval(0.0002)
ACTIVE = {}  # thread name -> (path, started, tokens)


def watchdog():
    """Prints every thread's stack when requests are open but none made progress for 5 s."""
    last = None
    while True:
        time.sleep(5)
        snap = {k: v[2] for k, v in ACTIVE.items()}
        if snap and snap == last:
            print(f"torch_server: no progress in 5 s with {len(snap)} open requests {snap}", file=sys.stderr, flush=True)
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        last = snap


threading.Thread(target=watchdog, daemon=True).start()

if args.mode == "oip":
    dims = [args.features] + [args.hidden] * args.layers + [args.classes]
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.GELU()]
    MODEL = torch.nn.Sequential(*layers[:-1]).to(device=device, dtype=torch.float16).eval()
    with torch.inference_mode():
        MODEL(torch.zeros(args.rows * args.expand, args.features, device=device, dtype=torch.float16))
    torch.cuda.synchronize()
else:
    from transformers import GPT2Config, GPT2LMHeadModel

    CONFIG = GPT2Config(n_layer=12, n_embd=768, n_head=12, vocab_size=8192, n_positions=1024)
    MODEL = GPT2LMHeadModel(CONFIG).to(device=device, dtype=torch.float16).eval()
    with torch.inference_mode():
        MODEL(torch.zeros(1, 8, dtype=torch.long, device=device))
    torch.cuda.synchronize()


def infer_oip(body):
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ValueError("no inputs")
    t = inputs[0]
    shape = t.get("shape")
    data = t.get("data")
    x = torch.tensor(data, dtype=torch.float32).reshape(shape)
    with LOCK, torch.inference_mode():
        y = MODEL(x.to(device=device, dtype=torch.float16).repeat(args.expand, 1))
        cls = torch.argmax(y[: x.shape[0]], dim=-1).to("cpu")
    return {
        "model_name": args.model_name,
        "outputs": [{"name": "class", "datatype": "INT64", "shape": list(cls.shape), "data": cls.flatten().tolist()}],
    }


def stream_tokens(prompt_ids, max_tokens):
    """Greedy decoding with a KV cache: yields one token id per forward pass."""
    past = None
    ids = torch.tensor([prompt_ids], dtype=torch.long, device=device)
    for _ in range(max_tokens):
        with LOCK, torch.inference_mode():
            out = MODEL(input_ids=ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = int(torch.argmax(out.logits[0, -1]).item())
        ids = torch.tensor([[nxt]], dtype=torch.long, device=device)
        yield nxt


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Small SSE writes otherwise wait on Nagle's algorithm and the client's delayed ACK (~40 ms).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path in ("/v2/health/ready", "/v2/health/live", "/health", "/v1/models"):
            if self.path == "/v1/models":
                return self.reply(200, {"object": "list", "data": [{"id": args.model_name, "object": "model"}]})
            return self.reply(200, {"ready": True})
        if self.path == f"/v2/models/{args.model_name}" and args.mode == "oip":
            return self.reply(200, {
                "name": args.model_name, "platform": "pytorch_cuda",
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [args.rows, args.features]}],
                "outputs": [{"name": "class", "datatype": "INT64", "shape": [args.rows]}],
            })
        self.reply(404, {"error": f"no route {self.path}"})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError as e:
            return self.reply(400, {"error": f"bad json: {e}"})
        if args.mode == "oip" and self.path == f"/v2/models/{args.model_name}/infer":
            try:
                return self.reply(200, infer_oip(body))
            except Exception as e:  # noqa: BLE001 - the protocol reports any failure as {"error"}
                return self.reply(400, {"error": str(e)})
        if args.mode == "openai" and self.path == "/v1/chat/completions":
            return self.chat(body)
        self.reply(404, {"error": f"no route {self.path}"})

    def chat(self, body):
        text = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        prompt = [b % CONFIG.vocab_size for b in text.encode()[:512]] or [0]
        max_tokens = int(body.get("max_tokens") or 64)
        created = int(time.time())
        if not body.get("stream"):
            toks = list(stream_tokens(prompt, max_tokens))
            return self.reply(200, {
                "id": "chatcmpl-gpu", "object": "chat.completion", "created": created, "model": args.model_name,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(f" t{t}" for t in toks)}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(toks), "total_tokens": len(prompt) + len(toks)},
            })
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

        def send(obj):
            data = b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        n = 0
        me = threading.current_thread().name
        ACTIVE[me] = (self.path, time.time(), 0)
        try:
            for tok in stream_tokens(prompt, max_tokens):
                n += 1
                ACTIVE[me] = (self.path, ACTIVE[me][1], n)
                send({"id": "chatcmpl-gpu", "object": "chat.completion.chunk", "created": created, "model": args.model_name,
                      "choices": [{"index": 0, "delta": {"content": f" t{tok}"}, "finish_reason": None}]})
            send({"id": "chatcmpl-gpu", "object": "chat.completion.chunk", "created": created, "model": args.model_name,
                  "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
            send({"id": "chatcmpl-gpu", "object": "chat.completion.chunk", "created": created, "model": args.model_name,
                  "choices": [], "usage": {"prompt_tokens": len(prompt), "completion_tokens": n, "total_tokens": len(prompt) + n}})
            data = b"data: [DONE]\n\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n0\r\n\r\n")
            self.wfile.flush()
        finally:
            ACTIVE.pop(me, None)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 128
server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
print(f"torch_server: {args.mode} on 127.0.0.1:{args.port} ({torch.cuda.get_device_name(0)})", flush=True)
server.serve_forever()
