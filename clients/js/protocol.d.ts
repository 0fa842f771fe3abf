// The qubitz WebSocket API's messages, generated from its AsyncAPI document; do not edit.
// Source: the service's /asyncapi.json (qubitz 0.1.0, AsyncAPI 3.0.0).
// Regenerate: npm run generate-types -- <base url>/asyncapi.json

export interface ResumeTarget {
  job_id: string;
  /** Default: 0. */
  since?: number;
}

/** *extension*: first message that re-attaches to a running or finished job. */
export interface ResumeMessage {
  resume: ResumeTarget;
}

/** *extension*: cancels the job this socket is attached to (idempotent). */
export interface CancelMessage {
  type: "cancel";
}

export interface ResearchRequest {
  prompt: string;
  company_name: string;
  company_url: string;
  user_id: string;
  session_id: string;
  documents?: string[] | null;
  /** Default: "standard". */
  depth?: "quick" | "standard" | "deep";
  /** Default: "en". */
  language?: string;
}

export interface ResearchChunkData {
  chunk: string;
  chunk_index: number;
  step?: string | null;
}

export interface UseCase {
  id: string;
  title: string;
  description: string;
  business_value: string;
  impact_score: "High" | "Medium" | "Low";
  implementation: string;
  estimated_roi: string;
  alignment_score: "High" | "Medium" | "Low";
}

export interface TokenUsage {
  /** Default: 0. */
  input_tokens?: number;
  /** Default: 0. */
  output_tokens?: number;
  /** Default: 0. */
  cache_read_tokens?: number;
  /** Default: 0. */
  cache_write_tokens?: number;
  /** Default: 0. */
  total_tokens?: number;
  cost_usd?: number | null;
}

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  user_id: string;
  session_id: string;
  s3_report_url?: string | null;
  report?: string | null;
  project_id?: string | null;
  company_name?: string | null;
  /** Default: 250000. */
  token_limit?: number;
}

export interface ChatMetadata {
  tools_used: ToolsUsed;
  citations?: string[] | null;
}

export interface ChatResponse {
  metadata: ChatMetadata;
  token_usage: ChatTurnUsage;
}

export interface ChatTurnUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

export interface ReportGenerated {
  success: boolean;
  url?: string | null;
}

export interface SessionInfo {
  user_id: string;
  session_id: string;
  message_count: number;
  token_usage: SessionTokenUsage;
}

export interface SessionTokenUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  limit: number;
  limit_reached: boolean;
}

export interface ToolsUsed {
  web_search?: string[];
  report_generated?: ReportGenerated;
}

export interface GetSpecRequest {
  user_id: string;
  project_id: string;
  use_case_name: string;
  use_case_description: string;
  s3_uri?: string | null;
  session_id?: string | null;
}

export interface AckData {
  user_id: string;
  session_id: string;
  project_id: string;
  action: "generate" | "update" | "rollback";
  status?: "processing";
}

export interface StreamStartData {
  message: string;
  model: string;
}

export interface StreamChunkData {
  chunk: string;
  chunk_index: number;
}

export interface SpecStatusData {
  status?: "processing";
  message: string;
}

export interface StreamEndData {
  total_chunks: number;
  completion_time: number;
}

export interface AgentConfig {
  name: string;
  description: string;
  model: string;
  prompt: string;
  tools?: Array<"http_fetch" | "calculator" | "current_time" | "json_query" | "document_reader">;
  memory?: Memory;
}

export interface Architecture {
  agents_config: {
    /** Keys match ^[a-z][a-z0-9_]{0,47}$. */
    [key: string]: AgentConfig;
  };
  orchestration?: Orchestration | null;
  gateway_config?: GatewayConfig;
}

export interface ArchitectureData {
  user_id: string;
  project_id: string;
  architecture: Architecture;
  status: "pending" | "deployed";
  version?: number | null;
  diff?: SpecDiff | null;
}

export interface GatewayConfig {
  /** Default: "api_gateway". */
  provider?: "api_gateway" | "local";
  targets?: GatewayTarget[];
  throttling?: Throttling;
}

export interface GatewayTarget {
  /** Default: "/invoke". */
  path?: string;
  agent: string;
}

export interface Memory {
  /** Default: false. */
  enabled?: boolean;
  strategies?: Array<"buffer" | "summary">;
}

/**
 * How agents hand work to each other.
 * 
 * pipeline: each agent in `order` gets the previous agent's output; the entry agent is first.
 * supervisor: the entry agent decides, turn by turn, which other agent to call.
 */
export interface Orchestration {
  /** Default: "pipeline". */
  pattern?: "pipeline" | "supervisor";
  entry_agent: string;
  order?: string[];
  /** Default: 8. */
  max_turns?: number;
}

export interface SpecDiff {
  added?: string[];
  removed?: string[];
  changed?: string[];
}

export interface Throttling {
  /** Default: 10. */
  rate_limit?: number;
  /** Default: 20. */
  burst_limit?: number;
  quota_limit?: number | null;
  /** Default: "MONTH". */
  quota_period?: "DAY" | "WEEK" | "MONTH";
}

export interface KeepaliveData {
  message: string;
  elapsed_seconds: number;
}

export interface ErrorData {
  error: string;
  message: string;
  details?: string[] | null;
}

export interface UpdateSpecRequest {
  user_id: string;
  project_id: string;
  user_input?: string | null;
  rollback_to?: number | null;
  session_id?: string | null;
}

export interface DeployRequest {
  user_id: string;
  project_id: string;
  github_username?: string | null;
  /** Default: "deploy". */
  action?: "deploy" | "destroy";
}

export interface DeploymentStartedData {
  status?: "started";
  message: string;
  user_id: string;
  project_id: string;
}

export interface DeploymentCompleteData {
  status: "success" | "deployed" | "destroyed";
  deployment_status: "deploying_via_cicd" | "deployed" | "destroyed";
  message: string;
  github_repo: string;
  user_id: string;
  project_id: string;
  agent_endpoint?: string | null;
  spec_version?: number | null;
}

export interface DeployStatusData {
  status: string;
  message: string;
  progress_percent: number;
}

export interface CreateApiKeyRequest {
  user_id: string;
  project_id: string;
  key_name?: string | null;
  rate_limit?: number | null;
  burst_limit?: number | null;
  quota_limit?: number | null;
  quota_period?: "DAY" | "WEEK" | "MONTH" | null;
}

export interface ApiKeyCreatedData {
  api_key_value: string;
  api_key_id: string;
  usage_plan_id: string;
  api_endpoint: string;
}

export interface DeleteApiKeyRequest {
  user_id: string;
  project_id: string;
  api_key_id: string;
  usage_plan_id?: string | null;
}

export interface ApiKeyDeletedData {
  api_key_id: string;
}

/** `/research`: Multi-agent deep research with Markdown and PDF reports. */
export declare namespace research {
  export interface StatusEvent {
    type: "status";
    message: string;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface MultiagentStep {
    type: "multiagent_step";
    step: string;
    message: string;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface MultiagentProgress {
    type: "multiagent_progress";
    step: string;
    session_id: string;
    message?: string | null;
    progress_percent?: number | null;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** *extension* of /research: the report text as the writer produces it. */
  export interface ResearchStreamChunk {
    type: "stream_chunk";
    data: ResearchChunkData;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface S3UploadComplete {
    type: "s3_upload_complete";
    file_type: "markdown" | "pdf" | "deep_research_markdown" | "deep_research_pdf" | "AI_discovery_markdown" | "AI_discovery_pdf" | "use_cases_pdf" | "use_cases_md";
    s3_url: string;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface UseCasesComplete {
    type: "use_cases_complete";
    use_cases: UseCase[];
    total_use_cases: number;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ResearchComplete {
    type: "complete";
    project_id: string;
    user_id: string;
    s3_deep_research_report_url: string;
    s3_deep_research_pdf_url: string;
    s3_AI_discovery_report_url: string;
    s3_AI_discovery_pdf_url: string;
    s3_use_cases_pdf_url: string;
    s3_use_cases_md_url: string;
    all_s3_urls: {
      [key: string]: string;
    };
    session_id: string;
    usage?: {
      [key: string]: TokenUsage;
    } | null;
    citations_removed?: number | null;
    sources_count?: number | null;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface FlatKeepalive {
    type: "keepalive";
    timestamp: number;
    /** Default: "Processing...". */
    message: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface FlatError {
    type: "error";
    error: string;
    message: string;
    session_id?: string | null;
    step?: string | null;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/research` sends, discriminated by `type`. */
  export type Event =
    | StatusEvent
    | MultiagentStep
    | MultiagentProgress
    | ResearchStreamChunk
    | S3UploadComplete
    | UseCasesComplete
    | ResearchComplete
    | FlatKeepalive
    | FlatError;
  export type Request = ResearchRequest;
}

/** `/chat`: Streamed, grounded Q&A over a stored report. */
export declare namespace chat {
  export interface ChatStatus {
    type: "chat_status";
    message: string;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ChatChunk {
    type: "chat_chunk";
    chunk: string;
    is_final: boolean;
    session_id: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ChatComplete {
    type: "chat_complete";
    success: boolean;
    response: ChatResponse;
    session_info: SessionInfo;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface FlatKeepalive {
    type: "keepalive";
    timestamp: number;
    /** Default: "Processing...". */
    message: string;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ChatError {
    type: "chat_error";
    error: string;
    message: string;
    session_id?: string | null;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/chat` sends, discriminated by `type`. */
  export type Event =
    | ChatStatus
    | ChatChunk
    | ChatComplete
    | FlatKeepalive
    | ChatError;
  export type Request = ChatRequest;
}

/** `/getspec`: Design a multi-agent architecture spec from a use case. */
export declare namespace getspec {
  export interface Ack {
    type: "ack";
    data: AckData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamStart {
    type: "stream_start";
    data: StreamStartData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamChunk {
    type: "stream_chunk";
    data: StreamChunkData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** *extension* of /getspec and /updatespec: progress notes (a model retry, a queue wait). */
  export interface SpecStatus {
    type: "status";
    data: SpecStatusData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamEnd {
    type: "stream_end";
    data: StreamEndData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ArchitectureEvent {
    type: "architecture";
    data: ArchitectureData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataKeepalive {
    type: "keepalive";
    data: KeepaliveData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataError {
    type: "error";
    data: ErrorData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/getspec` sends, discriminated by `type`. */
  export type Event =
    | Ack
    | StreamStart
    | StreamChunk
    | SpecStatus
    | StreamEnd
    | ArchitectureEvent
    | DataKeepalive
    | DataError;
  export type Request = GetSpecRequest;
}

/** `/updatespec`: Change the current spec by instruction, or roll back. */
export declare namespace updatespec {
  export interface Ack {
    type: "ack";
    data: AckData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamStart {
    type: "stream_start";
    data: StreamStartData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamChunk {
    type: "stream_chunk";
    data: StreamChunkData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** *extension* of /getspec and /updatespec: progress notes (a model retry, a queue wait). */
  export interface SpecStatus {
    type: "status";
    data: SpecStatusData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface StreamEnd {
    type: "stream_end";
    data: StreamEndData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface ArchitectureEvent {
    type: "architecture";
    data: ArchitectureData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataKeepalive {
    type: "keepalive";
    data: KeepaliveData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataError {
    type: "error";
    data: ErrorData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/updatespec` sends, discriminated by `type`. */
  export type Event =
    | Ack
    | StreamStart
    | StreamChunk
    | SpecStatus
    | StreamEnd
    | ArchitectureEvent
    | DataKeepalive
    | DataError;
  export type Request = UpdateSpecRequest;
}

/** `/deploy`: Render, check, push and deploy the spec; stream progress. */
export declare namespace deploy {
  export interface DeploymentStarted {
    type: "deployment_started";
    data: DeploymentStartedData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DeploymentComplete {
    type: "deployment_complete";
    data: DeploymentCompleteData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DeployStatus {
    type: "status";
    data: DeployStatusData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface Complete {
    type: "complete";
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataKeepalive {
    type: "keepalive";
    data: KeepaliveData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataError {
    type: "error";
    data: ErrorData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/deploy` sends, discriminated by `type`. */
  export type Event =
    | DeploymentStarted
    | DeploymentComplete
    | DeployStatus
    | Complete
    | DataKeepalive
    | DataError;
  export type Request = DeployRequest;
}

/** `/createapikey`: Create an API key and usage plan for a deployed app. */
export declare namespace createapikey {
  export interface ApiKeyCreated {
    type: "api_key_created";
    data: ApiKeyCreatedData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataKeepalive {
    type: "keepalive";
    data: KeepaliveData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataError {
    type: "error";
    data: ErrorData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/createapikey` sends, discriminated by `type`. */
  export type Event =
    | ApiKeyCreated
    | DataKeepalive
    | DataError;
  export type Request = CreateApiKeyRequest;
}

/** `/deleteapikey`: Revoke and delete a deployed app's API key. */
export declare namespace deleteapikey {
  export interface ApiKeyDeleted {
    type: "api_key_deleted";
    data: ApiKeyDeletedData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataKeepalive {
    type: "keepalive";
    data: KeepaliveData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  export interface DataError {
    type: "error";
    data: ErrorData;
    /** extension: the job this event belongs to */
    job_id?: string;
    /** extension: position in the job's event log (1, 2, 3...) */
    seq?: number;
  }
  /** Every event `/deleteapikey` sends, discriminated by `type`. */
  export type Event =
    | ApiKeyDeleted
    | DataKeepalive
    | DataError;
  export type Request = DeleteApiKeyRequest;
}

/** The request each endpoint takes. */
export interface Requests {
  research: ResearchRequest;
  chat: ChatRequest;
  getspec: GetSpecRequest;
  updatespec: UpdateSpecRequest;
  deploy: DeployRequest;
  createapikey: CreateApiKeyRequest;
  deleteapikey: DeleteApiKeyRequest;
}

/** The events each endpoint sends. */
export interface Events {
  research: research.Event;
  chat: chat.Event;
  getspec: getspec.Event;
  updatespec: updatespec.Event;
  deploy: deploy.Event;
  createapikey: createapikey.Event;
  deleteapikey: deleteapikey.Event;
}

export type Endpoint = keyof Requests;

/** Any event of any endpoint. */
export type AnyEvent = Events[Endpoint];
