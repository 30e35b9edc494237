// @ferry/stats: pure statistics, no I/O.
export {};
