// @ferry/platform: runs a step for a door and shows its result where that platform shows it.
// The GitHub Action door lives in @ferry/platform/github, so the CLI never loads @actions/*.
export { executeStep, exitCodeForVerdict, publicInputs, type Execution, type ExecuteOptions } from './execute.js';
export { stepMarkdown, sectionsMarkdown, markdownTable, verdictLabel } from './render/markdown.js';
export { upsertSection, parseSections, reportRun, isPipelineReport, REPORT_MARKER } from './render/pipeline-report.js';
export { isGitLabCi, readGitLabEnvironment, type GitLabEnvironment } from './gitlab/environment.js';
export { publishGitLab, reportFiles } from './gitlab/publish.js';
export { dotenvName, dotenvText } from './gitlab/dotenv.js';
export { junitXml, codeQualityJson, openMetrics, k6Summary } from './gitlab/reports.js';
export { terminalLogger } from './local/logger.js';
export { terminalProgress, formatAmount } from './local/progress.js';
export { renderTerminal } from './local/render.js';
