// Compiled with `tsc --noEmit --strict` against the installed package: the types of a user's
// program. Each @ts-expect-error line must be an error, so loose (`any`) types fail this file.

import { JobFailed, QubitzClient, type Events, type research, type Requests } from "qubitz-client";

const client = new QubitzClient("http://127.0.0.1:8008", "qk_uct_x");
const request: Requests["research"] = {
  prompt: "p",
  company_name: "Acme",
  company_url: "https://acme.example/",
  user_id: "u",
  session_id: "s",
  depth: "quick",
};
const job = client.research(request);

job.on("s3_upload_complete", (e) => {
  const url: string = e.s3_url; // narrowed to research.S3UploadComplete
  void url;
});
job.on("*", (e: research.Event) => void e);

export async function follow(): Promise<number> {
  let chunks = 0;
  for await (const event of job) {
    switch (event.type) {
      case "stream_chunk":
        chunks += event.data.chunk.length;
        break;
      case "complete": {
        const report: string = event.s3_deep_research_report_url;
        void report;
        break;
      }
      case "error":
        return event.error.length;
      default:
        break;
    }
  }
  const done: Events["research"] = await job.result();
  return chunks + (done.seq ?? 0);
}

export async function chat(): Promise<void> {
  const answer = await client
    .chat({ messages: [{ role: "user", content: "hi" }], user_id: "u", session_id: "c", report: "# r" })
    .result();
  if (answer.type === "chat_complete") {
    const total: number = answer.session_info.token_usage.total_tokens;
    void total;
  }
  try {
    await client.deploy({ user_id: "u", project_id: "p" }).result();
  } catch (err) {
    if (err instanceof JobFailed) void err.code;
  }
}

// @ts-expect-error: a research request needs company_name
client.research({ prompt: "p", company_url: "u", user_id: "u", session_id: "s" });
// @ts-expect-error: depth is quick | standard | deep
client.research({ ...request, depth: "thorough" });
// @ts-expect-error: /research sends no event of this type
job.on("architecture", () => undefined);
job.on("status", (e) => {
  // @ts-expect-error: status events of /research carry no data envelope
  void e.data.status;
});
