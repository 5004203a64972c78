export { PIPELINE_NAME } from '../../contract/pipelines.contract';
