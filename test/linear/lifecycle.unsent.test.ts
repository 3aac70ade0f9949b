import { describe, expect, it } from 'vitest';
import { LinearApiError, LinearCircuitOpenError, LinearWorkspaceUnavailableError } from '../../src/linear/errors.js';
import { unsent } from '../../src/linear/lifecycle.js';

/** Calls that never reached Linear are neither counted in a task's linear_calls nor logged per call. */
describe('which failed Linear calls were never sent', () => {
  it('counts the circuit, a missing token and a revoked or uninstalled app as unsent', () => {
    expect(unsent(new LinearCircuitOpenError('IssueLifecycle'))).toBe(true);
    expect(unsent(new LinearApiError('no token', { code: 'TOKEN_UNAVAILABLE' }))).toBe(true);
    expect(unsent(new LinearWorkspaceUnavailableError('org-1', 'WORKSPACE_REVOKED', 'the app was revoked'))).toBe(true);
    expect(unsent(new LinearWorkspaceUnavailableError('org-1', 'REINSTALL_REQUIRED', 'reinstall the app'))).toBe(true);
  });

  it('counts what Linear answered, even with an error, as sent', () => {
    expect(unsent(new LinearApiError('refused', { code: 'AUTHENTICATION_ERROR', status: 401 }))).toBe(false);
    expect(unsent(new LinearApiError('server error', { status: 500 }))).toBe(false);
    expect(unsent(new Error('anything else'))).toBe(false);
  });
});
