-- Projects may name a git repository; pipelines may live in it (a path instead of stored content).
-- The credentials are a project secret's name, never the credential itself.
alter table projects
  add column repository_url text,
  add column repository_default_branch text,
  add column repository_credentials_secret text;

-- A repository pipeline stores its path; its content is read at each run's commit.
alter table pipeline_versions add column path text;
alter table pipeline_versions add constraint pipeline_versions_content_or_path check (path is null or content = '');

-- What a run of a repository pipeline ran: the file's exact content at the run's commit (commit_sha),
-- so a run always shows what ran and a re-run runs the same thing. Its path and kind are the pipeline
-- version's (runs.pipeline_id, pipeline_version).
alter table runs add column pipeline_content text;
