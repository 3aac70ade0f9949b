import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Inside AgentCore Runtime every invocation request carries the workload access token in the
 * `WorkloadAccessToken` header (the Python bedrock-agentcore SDK reads the same header into its
 * BedrockAgentCoreContext). The server that receives invocations runs the handler inside
 * `runWithWorkloadAccessToken(headerValue, handler)`; the AgentCore provider reads it from here.
 */
export const WORKLOAD_ACCESS_TOKEN_HEADER = 'workloadaccesstoken';

/** Where the AgentCore provider gets a runtime-supplied workload access token; undefined when there is none. */
export type WorkloadTokenSource = () => string | undefined | Promise<string | undefined>;

const storage = new AsyncLocalStorage<{ workloadAccessToken: string | undefined }>();

export function runWithWorkloadAccessToken<T>(token: string | undefined, fn: () => T): T {
  return storage.run({ workloadAccessToken: token || undefined }, fn);
}

/** The token of the AgentCore Runtime request being handled, if any. */
export const runtimeWorkloadAccessToken: WorkloadTokenSource = () => storage.getStore()?.workloadAccessToken;

/** Reads the header from a Node/Fastify header object (names are lower-cased there). */
export function workloadAccessTokenFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers[WORKLOAD_ACCESS_TOKEN_HEADER];
  return (Array.isArray(v) ? v[0] : v) || undefined;
}
