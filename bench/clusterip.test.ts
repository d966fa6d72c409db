import { describe, expect, it } from 'vitest';
import { allocatorArgs } from './clusterip.ts';
import {
  BENCH_APISERVER_ARGS,
  BENCH_CONTROLLER_MANAGER_ARGS,
  BENCH_EMULATED_VERSION,
  BENCH_SCHEDULER_ARGS,
} from './harness.ts';

const emulated = (args: readonly string[]) => args.filter((arg) => arg.startsWith('--emulated-version='));

describe('the benchmarks control plane', () => {
  it('emulates one Kubernetes version in the apiserver, kube-controller-manager and kube-scheduler', () => {
    // A 1.36 controller-manager or scheduler beside an apiserver emulating 1.33 waits on APIs
    // (resource.k8s.io/v1) the apiserver then does not serve.
    expect(emulated(BENCH_EMULATED_VERSION)).toHaveLength(1);
    for (const args of [BENCH_APISERVER_ARGS, BENCH_CONTROLLER_MANAGER_ARGS, BENCH_SCHEDULER_ARGS])
      expect(emulated(args)).toEqual(BENCH_EMULATED_VERSION);
  });

  it('uses the bitmap ClusterIP allocator', () => {
    expect(BENCH_APISERVER_ARGS).toContain('--feature-gates=MultiCIDRServiceAllocator=false');
  });
});

describe('allocatorArgs', () => {
  it('is the benchmarks own apiserver flags for the bitmap allocator', () => {
    expect(allocatorArgs('bitmap')).toEqual(BENCH_APISERVER_ARGS);
  });

  it('differs from them only in the allocator for the ipaddress one, as 1.36 runs it (no dual write)', () => {
    const ipaddress = allocatorArgs('ipaddress');
    expect(emulated(ipaddress)).toEqual(BENCH_EMULATED_VERSION);
    expect(ipaddress).not.toContain('--feature-gates=MultiCIDRServiceAllocator=false');
    expect(ipaddress).toContain('--feature-gates=DisableAllocatorDualWrite=true');
    expect(ipaddress).toHaveLength(BENCH_APISERVER_ARGS.length);
  });
});
