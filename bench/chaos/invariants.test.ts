import { describe, expect, it } from 'vitest';
import {
  repeatedSideEffects,
  routeSumViolations,
  shares,
  skippedChatMessages,
  skippedSteps,
  type VirtualServiceObject,
} from './invariants.ts';
import type { ReceivedCall } from './receiver.ts';

const vs = (http: NonNullable<VirtualServiceObject['spec']['http']>): VirtualServiceObject => ({
  metadata: { name: 'shop' },
  spec: { http },
});
const to = (host: string, weight?: number) => ({
  destination: { host },
  ...(weight === undefined ? {} : { weight }),
});

describe('the routing invariants', () => {
  it('accepts routes that send 100 % in total, a lone destination without weight included', () => {
    expect(routeSumViolations(vs([{ route: [to('shop-primary', 80), to('shop-canary', 20)] }]))).toEqual([]);
    expect(
      routeSumViolations(
        vs([
          { match: [{}], route: [to('shop-canary')] },
          { route: [to('shop-primary', 100), to('shop-canary', 0)] },
        ]),
      ),
    ).toEqual([]);
  });

  it('names the route that sends more or less than 100 %, or nothing at all', () => {
    expect(routeSumViolations(vs([{ route: [to('shop-primary', 80), to('shop-canary', 30)] }]))).toEqual([
      'VirtualService shop http[0] sends 110 % in total, not 100 %',
    ]);
    expect(routeSumViolations(vs([{ route: [] }]))).toEqual([
      'VirtualService shop http[0] has no destination',
    ]);
  });

  it('reads the largest share each workload gets, by short or qualified host', () => {
    const matched = vs([
      { match: [{}], route: [to('shop-canary.ns.svc.cluster.local')] },
      { route: [to('shop-primary', 100), to('shop-canary', 0)] },
    ]);
    expect(shares(matched, 'shop')).toEqual({ canary: 100, primary: 100 });
    expect(shares(vs([{ route: [to('shop-primary', 100), to('shop-canary', 0)] }]), 'shop')).toEqual({
      canary: 0,
      primary: 100,
    });
  });
});

describe('the side-effect invariants', () => {
  const call = (over: Partial<ReceivedCall>): ReceivedCall => ({
    at: 0,
    kind: 'event',
    what: 'promotion completed',
    namespace: 'ns',
    name: 'shop',
    checksum: 'rev1',
    ...over,
  });

  it('counts an event, a pre/post-rollout hook or a Slack message twice as repeated', () => {
    const calls = [
      call({}),
      call({}),
      call({ checksum: 'rev2' }),
      call({ kind: 'hook', what: 'pre-rollout' }),
      call({ kind: 'hook', what: 'pre-rollout' }),
      call({ kind: 'hook', what: 'rollout' }),
      call({ kind: 'hook', what: 'rollout' }),
      call({ kind: 'slack', what: 'slack', text: 'shop.ns: promotion completed', at: 5 }),
      call({ kind: 'slack', what: 'slack', text: 'shop.ns: promotion completed', at: 50 }),
    ];
    expect(repeatedSideEffects(calls, (at) => (at < 10 ? 1 : 2))).toEqual([
      'event "promotion completed" of ns/shop rev rev1 happened 2 times',
      'pre-rollout hook of ns/shop rev rev1 happened 2 times',
    ]);
    expect(repeatedSideEffects(calls, () => 1)).toContain(
      'Slack "shop.ns: promotion completed" in round 1 happened 2 times',
    );
  });

  it('counts a hook or event hook repeated under the same idempotency key once, unless asked for raw calls', () => {
    const calls = [
      call({ kind: 'hook', what: 'post-rollout', key: 'k1' }),
      call({ kind: 'hook', what: 'post-rollout', key: 'k1' }),
      call({ kind: 'hook', what: 'pre-rollout', key: 'k2' }),
      call({ kind: 'hook', what: 'pre-rollout', key: 'k3' }),
      call({ what: 'advance canary weight 60', key: 'k4' }),
      call({ what: 'advance canary weight 60', key: 'k4' }),
    ];
    expect(repeatedSideEffects(calls, () => 1)).toEqual([
      'pre-rollout hook of ns/shop rev rev1 happened 2 times',
    ]);
    expect(repeatedSideEffects(calls, () => 1, { raw: true })).toEqual([
      'post-rollout hook of ns/shop rev rev1 happened 2 times',
      'pre-rollout hook of ns/shop rev rev1 happened 2 times',
      'event "advance canary weight 60" of ns/shop rev rev1 happened 2 times',
    ]);
  });

  it('lists the steps a rollout should have announced and did not', () => {
    expect(
      skippedSteps(
        ['advance canary weight 20', 'advance canary weight 60'],
        ['advance canary weight 20', 'advance canary weight 40', 'advance canary weight 60'],
      ),
    ).toEqual(['advance canary weight 40']);
  });
});

describe('chat messages', () => {
  const event = (what: string, key: string, at = 1): ReceivedCall => ({
    at,
    kind: 'event',
    what,
    namespace: 'ns',
    name: 'shop',
    checksum: 'rev1',
    key,
  });
  const slack = (text: string): ReceivedCall => ({
    at: 2,
    kind: 'slack',
    what: 'slack',
    namespace: '',
    name: '',
    checksum: '',
    text,
  });
  const toldChat = (message: string) =>
    message === 'promotion completed' || message.startsWith('rolling back');

  it('counts a chat message owed per announcement that chat hears and none was sent', () => {
    const calls = [
      // One announcement whose event hook was repeated under its key: one message owed, one sent.
      event('promotion completed', 'k1'),
      event('promotion completed', 'k1'),
      slack('*shop.ns*: promotion completed'),
      // A second rollout's: owed and lost.
      event('promotion completed', 'k2'),
      // Escaped as Slack's mrkdwn wants it, and lost.
      event('rolling back: p99 > 500 & rising', 'k3'),
      // A routine step is not told to chat.
      event('advance canary weight 20', 'k4'),
    ];
    expect(skippedChatMessages(calls, toldChat)).toEqual([
      'Slack "*shop.ns*: promotion completed": 1 of 2 not sent',
      'Slack "*shop.ns*: rolling back: p99 &gt; 500 &amp; rising": 1 of 1 not sent',
    ]);
    expect(skippedChatMessages([...calls, slack('*shop.ns*: promotion completed')], toldChat)).toEqual([
      'Slack "*shop.ns*: rolling back: p99 &gt; 500 &amp; rising": 1 of 1 not sent',
    ]);
  });

  it('waits for a message still on its way', () => {
    expect(skippedChatMessages([event('promotion completed', 'k1', 100)], toldChat, 50)).toEqual([]);
  });
});
