import type { Canary } from '../api/canary.ts';
import { fieldIssue, isFieldError, type ValidationIssue } from '../api/validate.ts';
import { TemplateRenderError } from '../analysis/template.ts';
import { webhookUrlIssues, type UrlPolicy } from '../hooks/url-policy.ts';
import { apiErrorMessage, statusCode } from '../kube/client.ts';
import { checkCapabilities, UNSUPPORTED_BY_PROVIDER } from '../routers/capabilities.ts';
import { RoutingNotSupportedError } from '../routers/router.ts';

// What ends a reconcile in Stalled rather than a retry: a spec its provider cannot route or
// whose webhook URLs the controller's allowlist refuses (checked before anything is
// written), and effect errors that would answer the same however often they are retried
// (decision 0018-permanent-errors).

/** The condition reason for an effect the apiserver refused (Stalled=True). */
export const API_REFUSED_REASON = 'ApiRefused';

/** The condition reason for a webhook URL that --allowed-url-hosts refuses (Stalled=True). */
export const URL_NOT_ALLOWED_REASON = 'UrlNotAllowed';

/** HTTP statuses the apiserver answers the same way until a person changes something. */
const PERMANENT_STATUSES = new Set([400, 403, 404, 422]);

/**
 * What the Canary asks for that this controller will not do, before anything is written:
 * routing its provider cannot express (UnsupportedByProvider), webhook URLs outside
 * --allowed-url-hosts (UrlNotAllowed). Empty when there is nothing to refuse.
 */
export function refusedSpec(
  canary: Canary,
  options: { defaultProvider?: string; urlPolicy?: UrlPolicy },
): ValidationIssue[] {
  const capabilities = checkCapabilities(
    canary,
    options.defaultProvider ? { defaultProvider: options.defaultProvider } : {},
  );
  const urls = webhookUrlIssues(options.urlPolicy, canary.spec.analysis.webhooks ?? []).map((issue) => ({
    ...issue,
    reason: URL_NOT_ALLOWED_REASON,
  }));
  return [...capabilities, ...urls];
}

/**
 * The issue a permanent effect error stalls the Canary with (the field, or the object and
 * the apiserver's own message), or undefined when the error may go away and is retried:
 * a connection that failed, 409, 429, 5xx, an error without a status.
 */
export function permanentIssue(effect: string, error: unknown): ValidationIssue | undefined {
  if (error instanceof RoutingNotSupportedError) {
    const message = error.message.slice(`Canary ${error.canary}: `.length);
    return { path: 'spec.provider', message, reason: UNSUPPORTED_BY_PROVIDER };
  }
  if (isFieldError(error)) return fieldIssue(error);
  if (error instanceof TemplateRenderError) return { path: '', message: error.message };
  const code = apiStatus(error);
  if (code !== undefined && PERMANENT_STATUSES.has(code)) {
    return {
      path: effect,
      message: `the apiserver refused it (${code}): ${apiErrorMessage(error)}`,
      reason: API_REFUSED_REASON,
    };
  }
  return undefined;
}

/** The apiserver's HTTP status behind an error, also when a helper wrapped it (`cause`). */
function apiStatus(error: unknown): number | undefined {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth += 1) {
    const code = statusCode(current);
    if (code !== undefined) return code;
    current = current instanceof Error ? current.cause : undefined;
  }
  return undefined;
}
