"""The GraphQL schema of /graphql, in SDL: the queries the MLflow web UI sends and the types they read.

Type, field and input names are MLflow's (the UI's queries name the input types of their variables, and
its cache keys on __typename); every field resolves from the answer of the MLflow REST endpoint that
resolvers.py names for it. Numbers the REST API sends as int64 are LongString here, as in MLflow.
"""

SDL = '''
"Names the part of the UI a query serves; it changes nothing in the answer."
directive @component(name: String!) on QUERY | MUTATION

"A 64-bit integer written as a string, so that JavaScript numbers do not round it."
scalar LongString

type Query {
  test(inputString: String): Test
  mlflowGetExperiment(input: MlflowGetExperimentInput): MlflowGetExperimentResponse
  mlflowGetRun(input: MlflowGetRunInput): MlflowGetRunResponse
  mlflowSearchRuns(input: MlflowSearchRunsInput): MlflowSearchRunsResponse
  mlflowGetMetricHistoryBulkInterval(input: MlflowGetMetricHistoryBulkIntervalInput): MlflowGetMetricHistoryBulkIntervalResponse
  mlflowListArtifacts(input: MlflowListArtifactsInput): MlflowListArtifactsResponse
  mlflowSearchModelVersions(input: MlflowSearchModelVersionsInput): MlflowSearchModelVersionsResponse
}

type Mutation {
  testMutation(inputString: String): TestMutation
  mlflowSearchRuns(input: MlflowSearchRunsInput): MlflowSearchRunsResponse
  mlflowSearchDatasets(input: MlflowSearchDatasetsInput): MlflowSearchDatasetsResponse
}

"Echoes its input: a probe that the endpoint answers."
type Test { output: String }
type TestMutation { output: String }

type ErrorDetail { field: String, message: String }
type ApiError { code: String, message: String, helpUrl: String, traceId: String, errorDetails: [ErrorDetail] }

input MlflowGetExperimentInput { experimentId: String }
input MlflowGetRunInput { runId: String, runUuid: String }
input MlflowSearchRunsInput {
  experimentIds: [String]
  filter: String
  runViewType: MlflowViewType
  maxResults: Int
  orderBy: [String]
  pageToken: String
}
input MlflowGetMetricHistoryBulkIntervalInput {
  runIds: [String]
  metricKey: String
  startStep: Int
  endStep: Int
  maxResults: Int
}
input MlflowListArtifactsInput { runId: String, runUuid: String, path: String, pageToken: String }
input MlflowSearchModelVersionsInput { filter: String, maxResults: LongString, orderBy: [String], pageToken: String }
input MlflowSearchDatasetsInput { experimentIds: [String] }

enum MlflowViewType { ACTIVE_ONLY DELETED_ONLY ALL }
enum MlflowRunStatus { RUNNING SCHEDULED FINISHED FAILED KILLED }
enum MlflowModelVersionStatus { PENDING_REGISTRATION FAILED_REGISTRATION READY }
enum MlflowDeploymentJobConnectionState {
  DEPLOYMENT_JOB_CONNECTION_STATE_UNSPECIFIED NOT_SET_UP CONNECTED NOT_FOUND REQUIRED_PARAMETERS_CHANGED
}
enum MlflowModelVersionDeploymentJobStateDeploymentJobRunState {
  DEPLOYMENT_JOB_RUN_STATE_UNSPECIFIED NO_VALID_DEPLOYMENT_JOB_FOUND RUNNING SUCCEEDED FAILED PENDING APPROVAL
}

type MlflowExperimentTag { key: String, value: String }
type MlflowExperiment {
  experimentId: String
  name: String
  artifactLocation: String
  lifecycleStage: String
  lastUpdateTime: LongString
  creationTime: LongString
  tags: [MlflowExperimentTag!]
  effectiveTraceArchivalRetention: String
  workspace: String
}
type MlflowGetExperimentResponse { experiment: MlflowExperiment, apiError: ApiError }

type MlflowRunInfo {
  runId: String
  runUuid: String
  runName: String
  experimentId: String
  userId: String
  status: MlflowRunStatus
  startTime: LongString
  endTime: LongString
  artifactUri: String
  lifecycleStage: String
}
"A metric's latest value; NaN and infinities read as null (GraphQL floats are finite)."
type MlflowMetricExtension {
  key: String
  value: Float
  timestamp: LongString
  step: LongString
  datasetName: String
  datasetDigest: String
  modelId: String
  runId: String
}
type MlflowParam { key: String, value: String }
type MlflowRunTag { key: String, value: String }
type MlflowRunData { metrics: [MlflowMetricExtension!], params: [MlflowParam!], tags: [MlflowRunTag!] }
type MlflowDataset { name: String, digest: String, sourceType: String, source: String, schema: String, profile: String }
type MlflowInputTag { key: String, value: String }
type MlflowDatasetInput { tags: [MlflowInputTag!], dataset: MlflowDataset }
type MlflowModelInput { modelId: String }
type MlflowRunInputs { datasetInputs: [MlflowDatasetInput!], modelInputs: [MlflowModelInput!] }
type MlflowModelOutput { modelId: String, step: LongString }
type MlflowRunOutputs { modelOutputs: [MlflowModelOutput!] }
"A run, with its experiment and the model versions registered from it."
type MlflowRunExtension {
  info: MlflowRunInfo
  data: MlflowRunData
  inputs: MlflowRunInputs
  outputs: MlflowRunOutputs
  experiment: MlflowExperiment
  modelVersions: [MlflowModelVersion!]
}
type MlflowGetRunResponse { run: MlflowRunExtension, apiError: ApiError }
type MlflowSearchRunsResponse { runs: [MlflowRunExtension!], nextPageToken: String, apiError: ApiError }

type MlflowMetricWithRunId { key: String, value: Float, timestamp: LongString, step: LongString, runId: String }
type MlflowGetMetricHistoryBulkIntervalResponse { metrics: [MlflowMetricWithRunId!], apiError: ApiError }

type MlflowFileInfo { path: String, isDir: Boolean, fileSize: LongString }
type MlflowListArtifactsResponse { rootUri: String, files: [MlflowFileInfo!], nextPageToken: String, apiError: ApiError }

type MlflowModelVersionTag { key: String, value: String }
type MlflowModelParam { name: String, value: String }
type MlflowModelMetric {
  key: String
  value: Float
  timestamp: LongString
  step: LongString
  datasetName: String
  datasetDigest: String
  modelId: String
  runId: String
}
type MlflowModelVersionDeploymentJobState {
  jobId: String
  runId: String
  jobState: MlflowDeploymentJobConnectionState
  runState: MlflowModelVersionDeploymentJobStateDeploymentJobRunState
  currentTaskName: String
}
type MlflowModelVersion {
  name: String
  version: String
  creationTimestamp: LongString
  lastUpdatedTimestamp: LongString
  userId: String
  currentStage: String
  description: String
  source: String
  runId: String
  status: MlflowModelVersionStatus
  statusMessage: String
  tags: [MlflowModelVersionTag!]
  runLink: String
  aliases: [String]
  modelId: String
  modelParams: [MlflowModelParam!]
  modelMetrics: [MlflowModelMetric!]
  deploymentJobState: MlflowModelVersionDeploymentJobState
}
type MlflowSearchModelVersionsResponse { modelVersions: [MlflowModelVersion!], nextPageToken: String, apiError: ApiError }

type MlflowDatasetSummary { experimentId: String, name: String, digest: String, context: String }
type MlflowSearchDatasetsResponse { datasetSummaries: [MlflowDatasetSummary!], apiError: ApiError }
'''
