import { inspect } from 'node:util';

const REDACTED = '[redacted]';

/**
 * A resolved secret value. Every way an object is usually turned into text (string conversion,
 * JSON, util.inspect, pino) shows `[redacted]`; only `reveal()` returns the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
