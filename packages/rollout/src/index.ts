// @ferry/rollout: progressive delivery of a model. So far the canary judge (judge/): pure logic
// that compares canary with stable over one analysis window and decides continue, extend, abort
// or inconclusive, explaining every verdict with its numbers.
export * from './judge/index.js';
