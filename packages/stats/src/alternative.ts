// Direction of a test's alternative hypothesis, shared by every test that offers one-sided p-values.

/** `greater`: the first sample tends to be larger (or its rate/odds higher); `less`: smaller. */
export type Alternative = 'two-sided' | 'less' | 'greater';
