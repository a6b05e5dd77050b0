/**
 * Evaluation of inpainting methods on a folder of photos under fixed protocols: see evaluate.ts for
 * the harness, protocols.ts for how inputs are made reproducible, report.ts for the output files.
 */
export { evaluate, type EvaluateOptions, type EvaluationResult, SPLIT_SEED, VAL_FRACTION } from './evaluate.ts';
export { checkProtocols, maskSeed, prepareImage, type Protocol, type ProtocolMask, protocolMask, PROTOCOL_NAMES, PROTOCOLS, type ProtocolName } from './protocols.ts';
export { bootstrapMean, type BootstrapOptions, type Interval, pairedDifferences, type PairedRow } from './paired.ts';
export { type GridEntry, type MetricColumn, reportHtml, type ResultRow, resultsCsv, type RunInfo, type SummaryRow, summaryMarkdown } from './report.ts';
