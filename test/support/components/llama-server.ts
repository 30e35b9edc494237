// llama-cpp-python's OpenAI-compatible server (llama.cpp built for CPU by
// scripts/install-model-servers.sh) on loopback, serving the tiny random GGUF model that
// test/fixtures/make_tiny_llm.py writes: real streamed completions for the load generator.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run } from '../repo.js';
import { requirePython } from '../python.js';
import { freePort } from './ports.js';
import { startComponent } from './process.js';
import { makeWorkDir } from './workdir.js';

const VENV = process.env.FERRY_LLAMA_CPP_VENV ?? '/var/cache/ferry/llama-cpp-venv';
/** The name clients send as `model` (the server's alias for the GGUF file). */
export const LLAMA_MODEL = 'tiny-llama';

export interface LlamaServerOptions {
  /** Context size in tokens (default 256, the tiny model's own). */
  readonly nCtx?: number;
  /** llama.cpp threads for generation and prompt processing (default 1: the other core is the load generator's). */
  readonly threads?: number;
}

export interface LlamaServerComponent {
  readonly url: string;
  readonly model: string;
  readonly logFile: string;
  logTail(lines?: number): string;
  stop(): Promise<void>;
}

/** Fails (never skips) with the command that installs llama-cpp-python. */
export function requireLlamaServer(): string {
  const python = join(VENV, 'bin/python');
  if (!existsSync(python)) throw new Error(`llama-cpp-python ${python} is missing: run "sudo bash scripts/install-model-servers.sh" (npm test does this)`);
  return python;
}

/** Writes the tiny GGUF model into `dir` with the test Python's gguf package; returns its path. */
export async function makeTinyLlm(dir: string): Promise<string> {
  const result = await run(requirePython(), [join(REPO_ROOT, 'test/fixtures/make_tiny_llm.py'), dir], { timeoutMs: 60_000 });
  if (result.code !== 0) throw new Error(`make_tiny_llm.py failed (${result.code}):\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { model: string }).model;
}

export async function startLlamaServer(options: LlamaServerOptions = {}): Promise<LlamaServerComponent> {
  const python = requireLlamaServer();
  const workDir = await makeWorkDir('llama-server');
  const modelFile = await makeTinyLlm(workDir.path);
  const port = await freePort();
  const threads = String(options.threads ?? 1);
  const url = `http://127.0.0.1:${port}`;
  const proc = await startComponent({
    name: 'llama-server',
    command: python,
    args: [
      '-m',
      'llama_cpp.server',
      '--model',
      modelFile,
      '--model_alias',
      LLAMA_MODEL,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--n_ctx',
      String(options.nCtx ?? 256),
      '--n_threads',
      threads,
      '--n_threads_batch',
      threads,
      // By default a new request cuts the stream in progress short (it sends [DONE] early): with
      // more than one user that would read as short streams, not as queueing.
      '--interrupt_requests',
      'False',
      '--verbose',
      'False',
    ],
    workDir,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    ready: { url: `${url}/v1/models` },
    readyTimeoutMs: 60_000,
  });
  return { url, model: LLAMA_MODEL, logFile: proc.logFile, logTail: (lines) => proc.logTail(lines), stop: () => proc.stop() };
}
