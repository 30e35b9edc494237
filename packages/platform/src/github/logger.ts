// A Logger on top of @actions/core: groups fold in the job log, progress prints a line every 10%.
import * as core from '@actions/core';
import type { Logger, Progress } from '@ferry/core';
import { formatAmount } from '../local/progress.js';

export function githubLogger(): Logger {
  return {
    debug: (m) => core.debug(m),
    info: (m) => core.info(m),
    warn: (m) => core.warning(m),
    error: (m) => core.error(m),
    group: (title, fn) => core.group(title, fn),
    setSecret: (v) => core.setSecret(v),
    progress(label, total, unit): Progress {
      let lastDecile = 0;
      const started = Date.now();
      return {
        update(done) {
          const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
          if (decile > lastDecile && decile < 10) {
            lastDecile = decile;
            core.info(`${label}: ${decile * 10}% (${formatAmount(done, unit)} of ${formatAmount(total, unit)})`);
          }
        },
        end() {
          core.info(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        },
      };
    },
  };
}
