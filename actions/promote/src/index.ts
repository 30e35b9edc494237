// Bundle entry for the promote action: only calls run().
import { run } from './main.js';

await run();
