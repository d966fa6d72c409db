// The canary state machine: pure decisions, effects as data. See docs/state-machine.md
// and docs/decisions/0003-pure-machine.md.
export { canaryMachine, type CanaryMachine } from './machine.ts';
export {
  MachineSnapshotError,
  parseSnapshot,
  PersistedMachine,
  statusOf,
  step,
  stepAll,
  wakeAt,
  type MachineStatus,
  type StepOptions,
  type StepResult,
} from './driver.ts';
export {
  planFromSpec,
  PlanError,
  type Plan,
  type PlanOptions,
  type PlanSpec,
  type ProgramStep,
} from './plan.ts';
export {
  Effect,
  MANUAL_COMMANDS,
  type EffectKind,
  type ManualCommand,
  type Observation,
  type Phase,
  type Readiness,
} from './types.ts';
