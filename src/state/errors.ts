import { toHex32 } from "../crypto";

/** Base class of the state store's errors. */
export class StateError extends Error {
  override name = "StateError";
}

/** A value outside 0 ≤ v < 2^64: a negative result (e.g. stock below zero) or an overflow. */
export class StateValueError extends StateError {
  override name = "StateValueError";
  constructor(
    message: string,
    readonly key: string | undefined,
    readonly value: unknown,
  ) {
    super(message);
  }
}

/** The domain's 1,024 slots are all taken: a new key cannot be added. */
export class StateFullError extends StateError {
  override name = "StateFullError";
  constructor(
    readonly domain: string,
    readonly key: string,
    readonly capacity: number,
  ) {
    super(
      `state domain "${domain}" is full: all ${capacity} slots are taken, so key "${key}" cannot be added`,
    );
  }
}

/**
 * A transition was prepared against a root that is no longer the domain's current root (another
 * transition was applied in between): prepare it again against the current root (rebase).
 */
export class StaleStateError extends StateError {
  override name = "StaleStateError";
  constructor(
    readonly domain: string,
    readonly transitionId: number,
    /** The root the transition was prepared against. */
    readonly expectedRoot: bigint,
    /** The domain's current root. */
    readonly actualRoot: bigint,
  ) {
    super(
      `state transition #${transitionId} of "${domain}" is stale: prepared against root ${toHex32(expectedRoot)}, ` +
        `but the domain's root is now ${toHex32(actualRoot)}; prepare it again against the current root`,
    );
  }
}

export class UnknownStateDomainError extends StateError {
  override name = "UnknownStateDomainError";
}

export class UnknownStateTransitionError extends StateError {
  override name = "UnknownStateTransitionError";
}

/** createDomain with a name that exists with other genesis contents. */
export class StateDomainExistsError extends StateError {
  override name = "StateDomainExistsError";
}

/** The stored entries do not hash to the stored root (the database was changed behind the store's back). */
export class StateIntegrityError extends StateError {
  override name = "StateIntegrityError";
}
