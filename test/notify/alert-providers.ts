import { apply } from '../../src/kube/client.ts';
import type { TestNamespace } from '../support/kube.ts';

/**
 * Writes an AlertProvider `name` in the test namespace with `spec` (its `type` at least),
 * reading its address and token from the Secret `<name>-secret`, written first with `secret`
 * (left unwritten when undefined, so that the provider names a Secret that does not exist).
 */
export async function createAlertProvider(
  ns: TestNamespace,
  name: string,
  spec: { type: string } & Record<string, unknown>,
  secret: Record<string, string> | undefined,
): Promise<void> {
  const secretName = `${name}-secret`;
  if (secret) {
    await ns.kube.core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: secretName, namespace: ns.name }, stringData: secret },
    });
  }
  await apply(ns.kube, {
    apiVersion: 'sluice.dev/v1alpha1',
    kind: 'AlertProvider',
    metadata: { name, namespace: ns.name },
    spec: { ...spec, secretRef: { name: secretName } },
  });
}
