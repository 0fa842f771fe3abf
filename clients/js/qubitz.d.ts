// Type declarations for qubitz.js (the qubitz WebSocket API client).

/** Any server event: the reference's fields plus `job_id` and `seq` (absent on keepalives). */
export interface QubitzEvent {
  type: string;
  job_id?: string;
  seq?: number;
  session_id?: string;
  message?: string;
  data?: Record<string, any>;
  [key: string]: any;
}

export interface ResearchRequest {
  prompt: string;
  company_name: string;
  company_url: string;
  user_id: string;
  session_id: string;
  documents?: string[];
  depth?: "quick" | "standard" | "deep";
  language?: string;
}

export interface ChatMessage {
  role: "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  user_id: string;
  session_id: string;
  /** Provide exactly one of s3_report_url or report. */
  s3_report_url?: string;
  report?: string;
  project_id?: string;
  company_name?: string;
  token_limit?: number;
}

export interface GetSpecRequest {
  user_id: string;
  project_id: string;
  use_case_name: string;
  use_case_description: string;
  s3_uri?: string;
  session_id?: string;
}

export interface UpdateSpecRequest {
  user_id: string;
  project_id: string;
  /** Provide exactly one of user_input or rollback_to. */
  user_input?: string;
  rollback_to?: number;
  session_id?: string;
}

export interface DeployRequest {
  user_id: string;
  project_id: string;
  github_username?: string;
  action?: "deploy" | "destroy";
}

export interface CreateApiKeyRequest {
  user_id: string;
  project_id: string;
  key_name?: string;
  rate_limit?: number;
  burst_limit?: number;
  quota_limit?: number;
  quota_period?: "DAY" | "WEEK" | "MONTH";
}

export interface DeleteApiKeyRequest {
  user_id: string;
  project_id: string;
  api_key_id: string;
  usage_plan_id?: string;
}

export type Endpoint =
  | "research"
  | "chat"
  | "getspec"
  | "updatespec"
  | "deploy"
  | "createapikey"
  | "deleteapikey";

export declare const TERMINAL_SUCCESS: Readonly<Record<Endpoint, readonly string[]>>;

export interface ErrorOptions {
  event?: QubitzEvent | null;
  closeCode?: number | null;
  code?: string | null;
}

export declare class QubitzClientError extends Error {
  constructor(message: string, options?: ErrorOptions);
  /** The error event that came with the failure, if any. */
  event: QubitzEvent | null;
  /** The WebSocket close code, for connection-level failures. */
  closeCode: number | null;
  /** The error event's `error` code (e.g. "TOKEN_LIMIT_EXCEEDED", "no_architecture"). */
  code: string | null;
}
/** Close 1008: the key is missing, invalid, revoked, or has the wrong scope. */
export declare class AuthError extends QubitzClientError {}
/** Close 1007: the payload is invalid, or the job to resume is unknown. */
export declare class ValidationError extends QubitzClientError {}
/** Close 1009. */
export declare class MessageTooLarge extends QubitzClientError {}
/** Close 1013 (rate limited) before a job started. */
export declare class Overloaded extends QubitzClientError {}
/** The connection failed and could not be resumed within the backoff budget. */
export declare class ConnectionLost extends QubitzClientError {}
/** The job ended with an error event. */
export declare class JobFailed extends QubitzClientError {}
export declare class TokenLimitExceeded extends JobFailed {}
export declare class Cancelled extends JobFailed {}

export interface BackoffOptions {
  /** First delay in seconds (default 0.5). */
  initial?: number;
  factor?: number;
  /** Largest delay in seconds (default 10). */
  maximum?: number;
  /** Reconnection attempts without progress before ConnectionLost (default 8). */
  attempts?: number;
}

export declare class Backoff implements Required<BackoffOptions> {
  constructor(options?: BackoffOptions);
  initial: number;
  factor: number;
  maximum: number;
  attempts: number;
  delays(): Generator<number, void, void>;
}

/** A WebSocket constructor (the browser's, Node 22's global, or the `ws` package's). */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: any }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface ClientOptions {
  WebSocket?: WebSocketConstructor;
  backoff?: Backoff | BackoffOptions;
  /** Seconds to wait for a connection to open (default 10). */
  openTimeout?: number;
}

export declare class JobStream implements AsyncIterable<QubitzEvent> {
  readonly client: QubitzClient;
  readonly endpoint: Endpoint | string;
  /** Known after the first event. */
  jobId: string | null;
  /** The highest `seq` delivered. */
  lastSeq: number;
  /** The terminal success event, once received. */
  final: QubitzEvent | null;
  /** The error event, once received. */
  error: QubitzEvent | null;
  /** How many times the connection was re-established. */
  reconnects: number;
  done: boolean;
  /** Call `handler` for each event of `type` ("*" for every event). */
  on(type: string, handler: (event: QubitzEvent) => void): this;
  /** The final event; rejects with JobFailed/TokenLimitExceeded/Cancelled or a connection error. */
  result(): Promise<QubitzEvent>;
  /** Ask the server to cancel the job (idempotent). */
  cancel(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterator<QubitzEvent>;
}

export declare class QubitzClient {
  constructor(baseUrl: string, apiKey: string, options?: ClientOptions);
  readonly wsBase: string;
  apiKey: string;
  backoff: Backoff;
  openTimeout: number;
  stream(endpoint: Endpoint | string, payload: Record<string, any>): JobStream;
  resume(endpoint: Endpoint | string, jobId: string, since?: number): JobStream;
  research(payload: ResearchRequest): JobStream;
  chat(payload: ChatRequest): JobStream;
  getSpec(payload: GetSpecRequest): JobStream;
  updateSpec(payload: UpdateSpecRequest): JobStream;
  deploy(payload: DeployRequest): JobStream;
  createApiKey(payload: CreateApiKeyRequest): JobStream;
  deleteApiKey(payload: DeleteApiKeyRequest): JobStream;
}

export declare function errorCode(event: QubitzEvent): string;
export declare function eventMessage(event: QubitzEvent): string;
export declare function eventText(event: QubitzEvent): string;
export declare function progressPercent(event: QubitzEvent): number | null;
export declare function isErrorEvent(event: QubitzEvent): boolean;
/** "uct" for qk_uct_ keys, "ch" for qk_ch_ keys, else null. */
export declare function keyScope(apiKey: string): "uct" | "ch" | null;
