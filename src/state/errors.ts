import { toHex32 } from "../crypto";

/** Base class of the state store's errors. */
export class StateError extends Error {
  override name = "StateError";
}

/**
 * A value outside 0 ≤ v < 2^64: a negative result (e.g. stock below zero) or an overflow. In a
 * domain of named fields (valueFields), `field` names the field out of range and `value` is its value.
 */
export class StateValueError extends StateError {
  override name = "StateValueError";
  constructor(
    message: string,
    readonly key: string | undefined,
    readonly value: unknown,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * A key cannot be added: the one slot its key fixes (stateSlotOf) holds another key of the domain. A
 * key's position is fixed so that the circuits can open no other leaf for it; two keys that collide
 * cannot live in one domain of this depth (choose another key).
 */
export class StateSlotTakenError extends StateError {
  override name = "StateSlotTakenError";
  constructor(
    readonly domain: string,
    readonly key: string,
    readonly slot: number,
    readonly holder: string,
  ) {
    super(
      `state domain "${domain}" cannot hold key "${key}": its slot ${slot} (fixed by the key) holds "${holder}"; use another key`,
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
