/**
 * Settings Claude Code reads for the model endpoint that the platform passes through from its own
 * environment (retry and telemetry switches; Amazon Bedrock's, only when the model is on Bedrock). Nothing
 * else of the platform's environment reaches the agent.
 */
export const MODEL_PASSTHROUGH_VARIABLES = [
  'CLAUDE_CODE_USE_BEDROCK',
  'ANTHROPIC_DEFAULT_HAIKU_MODEL',
  'ANTHROPIC_SMALL_FAST_MODEL',
  'CLAUDE_CODE_MAX_RETRIES',
  'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
  'DISABLE_TELEMETRY',
  'IS_SANDBOX',
] as const;

/** The platform's AWS settings: passed only when the model is on Bedrock (until the model proxy holds them). */
export const BEDROCK_PASSTHROUGH_VARIABLES = ['AWS_REGION', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_BEARER_TOKEN_BEDROCK'] as const;

export interface ModelEnvOptions {
  /** Resolves the ANTHROPIC_API_KEY credential reference, when one is configured. */
  apiKey?: () => Promise<string>;
  baseUrl?: string;
  env?: NodeJS.ProcessEnv;
}

export async function buildModelEnv(opts: ModelEnvOptions): Promise<Record<string, string>> {
  const env = opts.env ?? process.env;
  const out: Record<string, string> = {};
  const bedrock = Boolean(env.CLAUDE_CODE_USE_BEDROCK) && env.CLAUDE_CODE_USE_BEDROCK !== '0';
  for (const name of [...MODEL_PASSTHROUGH_VARIABLES, ...(bedrock ? BEDROCK_PASSTHROUGH_VARIABLES : [])]) {
    const value = env[name];
    if (value) out[name] = value;
  }
  if (opts.baseUrl) out.ANTHROPIC_BASE_URL = opts.baseUrl;
  if (opts.apiKey) out.ANTHROPIC_API_KEY = await opts.apiKey();
  return out;
}
