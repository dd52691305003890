/** Errors of multi-host clusters: an agent and a coordinator that do not accept each other, a lost host. */
import { ConvoyError } from '../errors.js';

/**
 * An agent and a coordinator did not accept each other: a wrong cluster secret on one side, another
 * protocol version, or an agent already serving another coordinator. `host` names the agent.
 */
export class AgentRefusedError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_AGENT_REFUSED';
  readonly host: string;
  constructor(host: string, message: string) {
    super('ERR_CONVOY_AGENT_REFUSED', message);
    this.host = host;
  }
}

/** The host a worker was placed on is down (its agent was lost, or it left), or never came up. */
export class HostDownError extends ConvoyError {
  declare readonly code: 'ERR_CONVOY_HOST_DOWN';
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CONVOY_HOST_DOWN', message, options);
    this.host = host;
  }
}
