// Bundle entry for the build-serving-image action: only calls run().
import { run } from './main.js';

await run();
