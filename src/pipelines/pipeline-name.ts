// The rule for pipeline names: the API refuses any other, and the web UI names pipelines it derives
// from repository files by it. No imports, so the web build can take it as it is.
export const PIPELINE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
