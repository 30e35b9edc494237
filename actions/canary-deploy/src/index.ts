// Bundle entry for the canary-deploy action: only calls run().
import { run } from './main.js';

await run();
