import { poseidon, rootFromPath } from "../crypto";
import { MAX_STATE_VALUE, stateSlotOf, type StateMove } from "../state";
import { WitnessInputError } from "./sagaInput";

/** The inputs of circuits/lib/stateUpdates.circom's StateUpdates, named as a template wiring it takes them. */
export interface StateUpdatesInput {
  [signal: string]: bigint | bigint[] | bigint[][];
  stateRootBefore: bigint;
  stateRootAfter: bigint;
  stateWriteEnabled: bigint[];
  stateWriteKey: bigint[];
  stateWriteValueBefore: bigint[];
  stateWriteValueAfter: bigint[];
  stateWriteInserted: bigint[];
  stateWritePathElements: bigint[][];
}

/**
 * The witness of a template that moves its state domain with StateUpdates(DEPTH, MAX_WRITES,
 * ALLOW_INSERT) (circuits/lib/stateUpdates.circom), from the run's state move: the public roots and,
 * per write slot, enabled, key, values, inserted and path; the slots after the move's writes are
 * disabled and padded with 0. The move is checked as the circuit will check it (so that a bad move
 * is refused here with its reason, not left to fail in the witness): at most MAX_WRITES writes,
 * each at its key's own slot with that slot's path bits, 64-bit values, inserts only where allowed
 * (an insert's value before is 0), write w opening its leaf under the root write w-1 left (the
 * first under rootBefore) and the last one leaving rootAfter.
 */
export function stateUpdatesInput(args: {
  move: StateMove;
  /** The template's DEPTH, MAX_WRITES and ALLOW_INSERT. */
  depth: number;
  maxWrites: number;
  allowInsert: boolean;
  /** The template's name, for messages. */
  template: string;
  /**
   * StateWrites' LIMBS: how many 64-bit fields a value packs (src/state's packStateValue), default 1
   * (StateUpdates): each value must be below 2^(64·limbs).
   */
  limbs?: number;
}): StateUpdatesInput {
  const { move, depth, maxWrites, allowInsert, template } = args;
  const limbs = args.limbs ?? 1;
  const maxValue = limbs === 1 ? MAX_STATE_VALUE : (1n << BigInt(64 * limbs)) - 1n;
  if (move.writes.length > maxWrites) {
    throw new WitnessInputError(
      `the run writes ${move.writes.length} keys of "${move.domain}"; ${template} proves at most ${maxWrites}`,
    );
  }
  const input: StateUpdatesInput = {
    stateRootBefore: move.rootBefore,
    stateRootAfter: move.rootAfter,
    stateWriteEnabled: [],
    stateWriteKey: [],
    stateWriteValueBefore: [],
    stateWriteValueAfter: [],
    stateWriteInserted: [],
    stateWritePathElements: [],
  };
  let root = move.rootBefore;
  move.writes.forEach((write, w) => {
    const what = `write ${w} ("${write.key}") of "${move.domain}"`;
    if (write.pathElements.length !== depth || write.pathIndices.length !== depth) {
      throw new WitnessInputError(
        `${what}: its path has ${write.pathElements.length} levels; ${template} takes ${depth}`,
      );
    }
    const slot = stateSlotOf(write.keyField, depth);
    if (write.slot !== slot) {
      throw new WitnessInputError(`${what}: it is at slot ${write.slot}, the key's own slot is ${slot}`);
    }
    write.pathIndices.forEach((bit, level) => {
      if (Number(bit) !== Math.floor(slot / 2 ** level) % 2) {
        throw new WitnessInputError(`${what}: path index ${level} is not bit ${level} of slot ${slot}`);
      }
    });
    for (const [name, value] of [
      ["value before", write.valueBefore],
      ["value after", write.valueAfter],
    ] as const) {
      if (value < 0n || value > maxValue) {
        throw new WitnessInputError(
          limbs === 1
            ? `${what}: its ${name} ${value} is not an unsigned 64-bit integer`
            : `${what}: its ${name} ${value} does not pack ${limbs} unsigned 64-bit fields`,
        );
      }
    }
    if (write.inserted && !allowInsert) {
      throw new WitnessInputError(`${what}: it adds the key, and ${template} updates held keys only`);
    }
    if (write.inserted && write.valueBefore !== 0n) {
      throw new WitnessInputError(`${what}: it adds the key, yet its value before is ${write.valueBefore}`);
    }
    const path = { pathElements: [...write.pathElements], pathIndices: write.pathIndices.map(Number) };
    const leafBefore = write.inserted ? 0n : poseidon([write.keyField, write.valueBefore]);
    if (rootFromPath(leafBefore, path) !== root) {
      throw new WitnessInputError(
        `${what}: its leaf before is not in the tree as ${w === 0 ? "the run found it" : `write ${w - 1} left it`}`,
      );
    }
    root = rootFromPath(poseidon([write.keyField, write.valueAfter]), path);
    input.stateWriteEnabled.push(1n);
    input.stateWriteKey.push(write.keyField);
    input.stateWriteValueBefore.push(write.valueBefore);
    input.stateWriteValueAfter.push(write.valueAfter);
    input.stateWriteInserted.push(write.inserted ? 1n : 0n);
    input.stateWritePathElements.push([...write.pathElements]);
  });
  if (root !== move.rootAfter) {
    throw new WitnessInputError(`the writes of "${move.domain}" do not lead to the move's rootAfter`);
  }
  for (let w = move.writes.length; w < maxWrites; w += 1) {
    input.stateWriteEnabled.push(0n);
    input.stateWriteKey.push(0n);
    input.stateWriteValueBefore.push(0n);
    input.stateWriteValueAfter.push(0n);
    input.stateWriteInserted.push(0n);
    input.stateWritePathElements.push(new Array<bigint>(depth).fill(0n));
  }
  return input;
}
