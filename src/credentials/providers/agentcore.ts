import { runtimeWorkloadAccessToken, type WorkloadTokenSource } from '../agentcore-context.js';
import { CredentialError } from '../errors.js';
import type { CredentialReference } from '../reference.js';
import { classifyAwsError, noRegion, sdkUnavailable } from './aws-errors.js';
import type { AwsProviderOptions, CredentialProvider } from './provider.js';

type AgentCoreSdk = typeof import('@aws-sdk/client-bedrock-agentcore');
const PKG = '@aws-sdk/client-bedrock-agentcore';

export interface AgentCoreProviderOptions extends AwsProviderOptions {
  /** BGAGENT_AGENTCORE_WORKLOAD_NAME: used with GetWorkloadAccessToken outside AgentCore Runtime. */
  workloadName?: string;
  /** The runtime-supplied workload access token (default: the current AgentCore Runtime request's header). */
  workloadToken?: WorkloadTokenSource;
  loadSdk?: () => Promise<AgentCoreSdk>;
}

/**
 * `agentcore:PROVIDER` (GetResourceApiKey) and `agentcore-oauth:PROVIDER` (GetResourceOauth2Token, M2M)
 * from AWS Bedrock AgentCore Identity, authorized by a workload access token.
 */
export class AgentCoreCredentialProvider implements CredentialProvider {
  private client: Promise<{ sdk: AgentCoreSdk; client: InstanceType<AgentCoreSdk['BedrockAgentCoreClient']> }> | undefined;

  constructor(private readonly opts: AgentCoreProviderOptions) {}

  async fetch(ref: CredentialReference): Promise<string> {
    if (ref.kind !== 'agentcore' && ref.kind !== 'agentcore-oauth') throw new Error(`agentcore provider cannot fetch ${ref.kind}`);
    if (!this.opts.region) throw noRegion(ref.display);
    const runtimeToken = await (this.opts.workloadToken ?? runtimeWorkloadAccessToken)();
    if (!runtimeToken && !this.opts.workloadName) {
      throw new CredentialError(
        'unavailable',
        ref.display,
        'no workload access token: not inside an AgentCore Runtime request and no workload name configured',
        'set BGAGENT_AGENTCORE_WORKLOAD_NAME to a workload identity (aws bedrock-agentcore-control create-workload-identity --name NAME) and grant bedrock-agentcore:GetWorkloadAccessToken',
        'NoWorkloadToken',
      );
    }
    const { sdk, client } = await this.getClient(ref.display);
    const token = runtimeToken ?? (await this.mintWorkloadToken(sdk, client, ref.display, this.opts.workloadName!));

    if (ref.kind === 'agentcore') {
      let out;
      try {
        out = await client.send(new sdk.GetResourceApiKeyCommand({ workloadIdentityToken: token, resourceCredentialProviderName: ref.provider }));
      } catch (err) {
        throw classifyAwsError(err, {
          ref: ref.display,
          action: 'bedrock-agentcore:GetResourceApiKey',
          notFoundRemedy: `no API-key credential provider named "${ref.provider}" in ${this.opts.region}: create it with \`aws bedrock-agentcore-control create-api-key-credential-provider --name ${ref.provider} --api-key ...\` (or \`agentcore add credential --type api-key --name ${ref.provider}\`)`,
        });
      }
      if (!out.apiKey) throw new CredentialError('persistent', ref.display, `credential provider "${ref.provider}" returned no API key`, 'set the API key on the credential provider (update-api-key-credential-provider)', 'EmptyApiKey');
      return out.apiKey;
    }

    let out;
    try {
      out = await client.send(
        new sdk.GetResourceOauth2TokenCommand({ workloadIdentityToken: token, resourceCredentialProviderName: ref.provider, scopes: ref.scopes, oauth2Flow: 'M2M' }),
      );
    } catch (err) {
      throw classifyAwsError(err, {
        ref: ref.display,
        action: 'bedrock-agentcore:GetResourceOauth2Token',
        notFoundRemedy: `no OAuth2 credential provider named "${ref.provider}" in ${this.opts.region}: create it with \`aws bedrock-agentcore-control create-oauth2-credential-provider --name ${ref.provider} ...\``,
      });
    }
    if (!out.accessToken) {
      const why = out.authorizationUrl ? 'it asks for user authorization, but bgagent uses the machine-to-machine (client credentials) flow' : 'it returned no access token';
      throw new CredentialError('persistent', ref.display, `credential provider "${ref.provider}": ${why}`, 'configure the provider with client credentials for M2M use', 'NoAccessToken');
    }
    return out.accessToken;
  }

  private async mintWorkloadToken(
    sdk: AgentCoreSdk,
    client: InstanceType<AgentCoreSdk['BedrockAgentCoreClient']>,
    display: string,
    workloadName: string,
  ): Promise<string> {
    let out;
    try {
      out = await client.send(new sdk.GetWorkloadAccessTokenCommand({ workloadName }));
    } catch (err) {
      throw classifyAwsError(err, {
        ref: display,
        action: 'bedrock-agentcore:GetWorkloadAccessToken',
        notFoundRemedy: `no workload identity named "${workloadName}" (BGAGENT_AGENTCORE_WORKLOAD_NAME): create it with \`aws bedrock-agentcore-control create-workload-identity --name ${workloadName}\``,
      });
    }
    if (!out.workloadAccessToken) {
      throw new CredentialError('transient', display, 'GetWorkloadAccessToken returned no token', 'retry; if it persists, check the workload identity', 'EmptyWorkloadToken');
    }
    return out.workloadAccessToken;
  }

  private getClient(display: string) {
    this.client ??= (this.opts.loadSdk ?? (() => import(PKG) as Promise<AgentCoreSdk>))().then(
      (sdk) => ({
        sdk,
        client: new sdk.BedrockAgentCoreClient({
          region: this.opts.region,
          maxAttempts: 1,
          ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
          ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
        }),
      }),
      (err: unknown) => {
        this.client = undefined;
        throw sdkUnavailable(display, PKG, err);
      },
    );
    return this.client;
  }
}
