// Bundle entry for the rollback action: only calls run().
import { run } from './main.js';

await run();
