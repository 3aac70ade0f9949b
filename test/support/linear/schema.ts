import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate, type GraphQLError, type GraphQLSchema } from 'graphql';

/** Linear's public schema (MIT, see LICENSE beside it). Built once per process: the SDL is 1.2 MB. */
export const LINEAR_SCHEMA_PATH = new URL('./schema.graphql', import.meta.url);

let cached: GraphQLSchema | undefined;

export function linearSchema(): GraphQLSchema {
  cached ??= buildSchema(readFileSync(LINEAR_SCHEMA_PATH, 'utf8'), { assumeValidSDL: true });
  return cached;
}

/** Parse and validate a document against Linear's schema; the errors are empty when it is valid. */
export function validateAgainstLinearSchema(query: string): readonly GraphQLError[] {
  try {
    return validate(linearSchema(), parse(query));
  } catch (err) {
    return [err as GraphQLError];
  }
}
