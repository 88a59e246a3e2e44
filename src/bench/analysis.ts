/**
 * The hand-written part of BENCHMARKS.md: what was profiled and fixed, and what remains.
 * Kept beside the generator so a rerun keeps it; update it when the figures change.
 */
export const ANALYSIS = `
## Analysis

(to be written after profiling)
`;
