export type { BranchList, GitRef, GitRefKind, PipelineFile, PipelineFiles, RefList, RepositoryConfig } from '../../contract/repositories.contract';
