// Bundle entry for the benchmark-on-gpu-runner action: only calls run().
import { run } from './main.js';

await run();
