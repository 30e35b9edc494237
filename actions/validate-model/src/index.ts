// Bundle entry for the validate-model action: only calls run().
import { run } from './main.js';

await run();
