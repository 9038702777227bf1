import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { keccak256, toBeHex } from "ethers";
import { z } from "zod";
import { VERIFIERS_DIR, publicSignalNamesOf, type CircuitInstance, type InstanceKind } from "./instances";

/** The order of BN254's scalar field (public signals and the batch's coefficients are below it). */
const SCALAR_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** The order of BN254's base field (proof and key coordinates are below it). */
const BASE_FIELD = 21888242871839275222246405745257275088696311157297823662689037894645226208583n;

const decimal = z
  .string()
  .regex(/^\d+$/, "expected a decimal integer string")
  .transform((value) => BigInt(value))
  .refine((value) => value < BASE_FIELD, "coordinate is not below the BN254 base field");
const g1 = z.array(decimal).length(3);
const g2 = z.array(z.array(decimal).length(2)).length(3);

/** The fields of a snarkjs Groth16 verification key (groth16_vkey.json) a verifier is made of. */
const verificationKeySchema = z.object({
  protocol: z.literal("groth16"),
  curve: z.literal("bn128"),
  nPublic: z.number().int().positive(),
  vk_alpha_1: g1,
  vk_beta_2: g2,
  vk_gamma_2: g2,
  vk_delta_2: g2,
  IC: z.array(g1).min(2),
});

type VerificationKey = z.output<typeof verificationKeySchema>;

/** A G1 point as two words (x, y); a G2 point as four words in the pairing precompile's order. */
type G1Words = [bigint, bigint];
type G2Words = [bigint, bigint, bigint, bigint];

/** The batch verifier's contract name of an instance: `<Instance>BatchVerifier`. */
export function batchVerifierContractOf(instance: CircuitInstance): string {
  return `${instance.name}BatchVerifier`;
}

/** Where setup writes an instance's batch verifier: beside snarkjs's verifier in contracts/verifiers/. */
export function batchVerifierPathOf(instance: CircuitInstance): string {
  return path.join(VERIFIERS_DIR, `${batchVerifierContractOf(instance)}.sol`);
}

/** Reads and checks a snarkjs verification key file (groth16 on bn128, one IC point per public signal + 1). */
export function readVerificationKey(file: string): VerificationKey {
  const parsed = verificationKeySchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${file} is not a Groth16 bn128 verification key: ${issue.path.join(".")}: ${issue.message}`,
    );
  }
  if (parsed.data.IC.length !== parsed.data.nPublic + 1) {
    throw new Error(`${file}: ${parsed.data.IC.length} IC points for ${parsed.data.nPublic} public signals`);
  }
  return parsed.data;
}

const g1Words = (point: readonly bigint[]): G1Words => [point[0], point[1]];
/** snarkjs writes an F_p² element as (c0, c1); the pairing precompile takes (c1, c0). */
const g2Words = (point: readonly (readonly bigint[])[]): G2Words => [
  point[0][1],
  point[0][0],
  point[1][1],
  point[1][0],
];

/**
 * The words a verification key is committed to, in order: α (2), β, γ, δ (4 each, the precompile's
 * order), then IC₀…ICₙ (2 each). Their keccak256 is the batch verifier's VERIFYING_KEY_HASH, the first
 * word hashed into every batch's Fiat–Shamir seed.
 */
export function verificationKeyWords(vkey: VerificationKey): bigint[] {
  return [
    ...g1Words(vkey.vk_alpha_1),
    ...g2Words(vkey.vk_beta_2),
    ...g2Words(vkey.vk_gamma_2),
    ...g2Words(vkey.vk_delta_2),
    ...vkey.IC.flatMap((point) => g1Words(point)),
  ];
}

/** keccak256 over {@link verificationKeyWords}, as bytes32 hex: the batch verifier's VERIFYING_KEY_HASH. */
export function verifyingKeyHash(vkey: VerificationKey): string {
  return keccak256(
    `0x${verificationKeyWords(vkey)
      .map((word) => toBeHex(word, 32).slice(2))
      .join("")}`,
  );
}

/** What a batch verifier's `verifyBatch` takes, by instance kind. */
function batchShape(kind: InstanceKind, nPublic: number) {
  const interfaceName = {
    saga: "IWorkflowBatchVerifier",
    state: "IWorkflowStateBatchVerifier",
    definition: "IWorkflowDefinitionBatchVerifier",
  }[kind];
  // A definition instance's last public signal (definitionHash) is the same for every proof of a
  // batch: it is passed once, and its MSM term costs one ecMul per batch.
  const shared = kind === "definition" ? 1 : 0;
  return { interfaceName, perProof: nPublic - shared, shared: shared === 1 };
}

/**
 * The Solidity source of a Groth16 batch verifier for one verification key. `verifyBatch` checks N
 * proofs with one random linear combination: with coefficients r₀ = 1, rᵢ = (keccak256(seed, i) mod
 * (r − 1)) + 1 (never zero), where seed = keccak256(VERIFYING_KEY_HASH, N, every proof, every public
 * signal[, the shared signal]) (Fiat–Shamir over the whole batch and the key, no block data), it
 * checks
 *
 *   Πᵢ e(−rᵢ·Aᵢ, Bᵢ) · e((Σrᵢ)·α, β) · e(Σᵢ rᵢ·Lᵢ, γ) · e(Σᵢ rᵢ·Cᵢ, δ) = 1
 *
 * (N + 3 pairings), each proof's equation e(Aᵢ, Bᵢ) = e(α, β)·e(Lᵢ, γ)·e(Cᵢ, δ) raised to rᵢ and
 * multiplied together, with Lᵢ = IC₀ + Σⱼ xᵢⱼ·ICⱼ, so Σᵢ rᵢ·Lᵢ = (Σrᵢ)·IC₀ + Σⱼ (Σᵢ rᵢ·xᵢⱼ mod r)·ICⱼ:
 * one ecMul per public signal per batch. Per proof: 2 ecMul (rᵢ·Aᵢ, rᵢ·Cᵢ; none for the first), one
 * ecAdd, one pairing.
 */
export function renderBatchVerifier(args: {
  contractName: string;
  instanceName: string;
  kind: InstanceKind;
  vkey: VerificationKey;
  /** sha256 of the verification key file, named in the header. */
  vkeySha256: string;
}): string {
  const { contractName, instanceName, kind, vkey } = args;
  const { interfaceName, perProof, shared } = batchShape(kind, vkey.nPublic);
  const [alphaX, alphaY] = g1Words(vkey.vk_alpha_1);
  const beta = g2Words(vkey.vk_beta_2);
  const gamma = g2Words(vkey.vk_gamma_2);
  const delta = g2Words(vkey.vk_delta_2);
  const ic = vkey.IC.map((point) => g1Words(point));
  const stride = perProof * 32;
  // Fixed memory from 0x80 (the assembly returns itself; no Solidity memory is used): the seed and the
  // index hashed into each coefficient, the accumulators t_j, the running sum of the r_i * C_i with a
  // scratch point after it, three words of ecMul input, and the pairing input, which also holds the
  // seed's preimage before it is written. Never the scratch space 0x00-0x3f: the optimizer's constant
  // loads (codecopy to 0x00) may overwrite it between any two statements.
  const word = (address: number) => `0x${address.toString(16)}`;
  const seedAt = 0x80;
  const tAt = (j: number) => word(seedAt + 0x40 + j * 32);
  const acc = seedAt + 0x40 + perProof * 32;
  const mulIn = acc + 0x80;
  const pairing = mulIn + 0x60;
  const lines: string[] = [];
  const emit = (indent: number, text: string) => lines.push(`${" ".repeat(indent)}${text}`);

  const signalsParameter = `uint256[${perProof}][] calldata pubSignals`;
  const parameters = [
    "Groth16Proof[] calldata proofs",
    signalsParameter,
    ...(shared ? ["uint256 definitionHash"] : []),
  ];

  emit(0, "// SPDX-License-Identifier: MIT");
  emit(0, `// Generated by wesflow setup (src/prover/batchVerifier.ts) from the Groth16 verification key of`);
  emit(
    0,
    `// ${instanceName} (build/circuits/${instanceName}/groth16_vkey.json, sha256 ${args.vkeySha256}).`,
  );
  emit(0, "// Do not edit: `npx wesflow setup` writes it again whenever the key changes.");
  emit(0, "pragma solidity ^0.8.28;");
  emit(0, "");
  emit(0, `import {Groth16Proof} from "../interfaces/Groth16Proof.sol";`);
  emit(0, `import {${interfaceName}} from "../interfaces/${interfaceName}.sol";`);
  emit(0, "");
  emit(0, `/// @title ${contractName}`);
  emit(0, `/// @notice Verifies a batch of ${instanceName} proofs with one random linear combination:`);
  emit(
    0,
    "///         N + 3 pairings for N proofs instead of 4N, and one ecMul per public signal per batch.",
  );
  emit(
    0,
    "/// @dev Coefficients by Fiat-Shamir: seed = keccak256(VERIFYING_KEY_HASH, N, proofs, signals" +
      (shared ? "," : ")"),
  );
  if (shared) emit(0, "///      definitionHash)");
  emit(
    0,
    "///      (the proofs and signals as laid out in calldata); r_0 = 1, r_i = (keccak256(seed, i) mod (R - 1)) + 1.",
  );
  emit(
    0,
    "///      Checked here: N >= 1 and one signal row per proof, every public signal < R (the sums are",
  );
  emit(
    0,
    "///      taken mod R: a signal >= R would alias another), A_0.y < Q (negated here). Coordinates < Q,",
  );
  emit(
    0,
    "///      on-curve and G2 subgroup membership: by the precompile each point goes through, which fails",
  );
  emit(
    0,
    "///      on an invalid one (EIP-196/197): ecMul for A_i, C_i (i >= 1), ecAdd for C_0 (N >= 2), the",
  );
  emit(0, "///      pairing for every B_i, A_0, and C_0 when N = 1. Any failure answers false.");
  emit(0, `contract ${contractName} is ${interfaceName} {`);
  emit(4, "/// @notice keccak256 of the verification key's words: alpha, beta, gamma, delta (G2 in the");
  emit(4, "///         pairing precompile's order), IC_0..IC_n.");
  emit(4, `bytes32 public constant VERIFYING_KEY_HASH = ${verifyingKeyHash(vkey)};`);
  emit(4, "/// @notice The circuit's public signals per proof (the shared definition hash included).");
  emit(4, `uint256 public constant PUBLIC_SIGNALS = ${vkey.nPublic};`);
  emit(0, "");
  emit(4, "// Scalar field, base field");
  emit(4, `uint256 private constant R = ${SCALAR_FIELD};`);
  emit(4, `uint256 private constant R_MINUS_1 = ${SCALAR_FIELD - 1n};`);
  emit(4, `uint256 private constant Q = ${BASE_FIELD};`);
  emit(0, "");
  emit(4, "// Verification key");
  emit(4, `uint256 private constant ALPHA_X = ${alphaX};`);
  emit(4, `uint256 private constant ALPHA_Y = ${alphaY};`);
  for (const [name, words] of [
    ["BETA", beta],
    ["GAMMA", gamma],
    ["DELTA", delta],
  ] as const) {
    emit(4, `uint256 private constant ${name}_X1 = ${words[0]};`);
    emit(4, `uint256 private constant ${name}_X0 = ${words[1]};`);
    emit(4, `uint256 private constant ${name}_Y1 = ${words[2]};`);
    emit(4, `uint256 private constant ${name}_Y0 = ${words[3]};`);
  }
  ic.forEach(([x, y], j) => {
    emit(4, `uint256 private constant IC${j}_X = ${x};`);
    emit(4, `uint256 private constant IC${j}_Y = ${y};`);
  });
  emit(0, "");
  emit(4, `/// @inheritdoc ${interfaceName}`);
  emit(4, `function verifyBatch(${parameters.join(", ")}) external view returns (bool) {`);
  emit(8, "assembly {");
  emit(12, "function fail() {");
  emit(16, `mstore(${word(seedAt)}, 0)`);
  emit(16, `return(${word(seedAt)}, 0x20)`);
  emit(12, "}");
  emit(0, "");
  emit(12, "let n := proofs.length");
  emit(12, "if iszero(n) { fail() }");
  emit(12, "if iszero(eq(n, pubSignals.length)) { fail() }");
  if (shared) emit(12, "if iszero(lt(definitionHash, R)) { fail() }");
  emit(0, "");
  emit(
    12,
    "// Fiat-Shamir: seed = keccak256(VERIFYING_KEY_HASH, N, proofs, signals" +
      (shared ? ", definitionHash" : "") +
      ")",
  );
  emit(12, "{");
  emit(16, `mstore(${word(pairing)}, VERIFYING_KEY_HASH)`);
  emit(16, `mstore(${word(pairing + 0x20)}, n)`);
  emit(16, `calldatacopy(${word(pairing + 0x40)}, proofs.offset, shl(8, n))`);
  emit(16, `let length := add(0x40, shl(8, n))`);
  emit(16, `calldatacopy(add(${word(pairing)}, length), pubSignals.offset, mul(n, ${stride}))`);
  emit(16, `length := add(length, mul(n, ${stride}))`);
  if (shared) {
    emit(16, `mstore(add(${word(pairing)}, length), definitionHash)`);
    emit(16, "length := add(length, 0x20)");
  }
  emit(16, `mstore(${word(seedAt)}, keccak256(${word(pairing)}, length))`);
  emit(12, "}");
  emit(0, "");
  emit(12, "// Proof 0, r_0 = 1: t_j = x_0j; -A_0 by negation, whose y must be below Q (every other");
  emit(
    12,
    "// coordinate is checked by the precompile it goes through); C_0 starts the sum of the r_i * C_i.",
  );
  emit(
    12,
    "// The field orders on the stack: as literals in the loop the optimizer would load each from code.",
  );
  emit(12, "let r := R");
  emit(12, "let bad := 0");
  emit(12, "{");
  emit(16, "let x := 0");
  for (let j = 0; j < perProof; j += 1) {
    emit(16, `x := calldataload(add(pubSignals.offset, ${j * 32}))`);
    emit(16, "bad := or(bad, iszero(lt(x, r)))");
    emit(16, `mstore(${tAt(j)}, x)`);
  }
  emit(16, "let proof := proofs.offset");
  emit(16, "let y := calldataload(add(proof, 0x20))");
  emit(16, "bad := or(bad, iszero(lt(y, Q)))");
  emit(16, `mstore(${word(pairing)}, calldataload(proof))`);
  emit(16, `mstore(${word(pairing + 0x20)}, mod(sub(Q, y), Q))`);
  emit(16, `calldatacopy(${word(pairing + 0x40)}, add(proof, 0x40), 0x80)`);
  emit(16, `mstore(${word(acc)}, calldataload(add(proof, 0xc0)))`);
  emit(16, `mstore(${word(acc + 0x20)}, calldataload(add(proof, 0xe0)))`);
  emit(12, "}");
  emit(12, "let s := 1");
  emit(12, "// Proofs 1..N-1: r_i = (keccak256(seed, i) mod (R - 1)) + 1. The precompiles get capped gas");
  emit(12, "// (their pre-Istanbul prices): a failing call burns no more than that.");
  emit(12, "for { let i := 1 } lt(i, n) { i := add(i, 1) } {");
  emit(16, `mstore(${word(seedAt + 0x20)}, i)`);
  emit(16, `let ri := add(mod(keccak256(${word(seedAt)}, 0x40), sub(r, 1)), 1)`);
  emit(16, "s := addmod(s, ri, r)");
  emit(16, `let signals := add(pubSignals.offset, mul(i, ${stride}))`);
  emit(16, "let x := 0");
  for (let j = 0; j < perProof; j += 1) {
    emit(16, `x := calldataload(add(signals, ${j * 32}))`);
    emit(16, "bad := or(bad, iszero(lt(x, r)))");
    emit(16, `mstore(${tAt(j)}, addmod(mload(${tAt(j)}), mulmod(ri, x, r), r))`);
  }
  emit(16, "let proof := add(proofs.offset, shl(8, i))");
  emit(16, `let slot := add(${word(pairing)}, mul(i, 0xc0))`);
  emit(16, "// -(r_i * A_i) = (R - r_i) * A_i, then B_i as given (the precompile's order)");
  emit(16, `mstore(${word(mulIn)}, calldataload(proof))`);
  emit(16, `mstore(${word(mulIn + 0x20)}, calldataload(add(proof, 0x20)))`);
  emit(16, `mstore(${word(mulIn + 0x40)}, sub(r, ri))`);
  emit(16, `if iszero(staticcall(40000, 0x07, ${word(mulIn)}, 0x60, slot, 0x40)) { fail() }`);
  emit(16, "calldatacopy(add(slot, 0x40), add(proof, 0x40), 0x80)");
  emit(16, "// sum += r_i * C_i");
  emit(16, `mstore(${word(mulIn)}, calldataload(add(proof, 0xc0)))`);
  emit(16, `mstore(${word(mulIn + 0x20)}, calldataload(add(proof, 0xe0)))`);
  emit(16, `mstore(${word(mulIn + 0x40)}, ri)`);
  emit(16, `if iszero(staticcall(40000, 0x07, ${word(mulIn)}, 0x60, ${word(acc + 0x40)}, 0x40)) { fail() }`);
  emit(16, `if iszero(staticcall(500, 0x06, ${word(acc)}, 0x80, ${word(acc)}, 0x40)) { fail() }`);
  emit(12, "}");
  emit(12, "if bad { fail() }");
  emit(0, "");
  emit(12, "// p := p + k * (x, y), with the word pair after p as scratch");
  emit(12, "function addTerm(p, x, y, k) {");
  emit(16, "if k {");
  emit(20, `mstore(${word(mulIn)}, x)`);
  emit(20, `mstore(${word(mulIn + 0x20)}, y)`);
  emit(20, `mstore(${word(mulIn + 0x40)}, k)`);
  emit(20, `if iszero(staticcall(40000, 0x07, ${word(mulIn)}, 0x60, add(p, 0x40), 0x40)) { fail() }`);
  emit(20, "if iszero(staticcall(500, 0x06, p, 0x80, p, 0x40)) { fail() }");
  emit(16, "}");
  emit(12, "}");
  emit(12, `let slot := add(${word(pairing)}, mul(n, 0xc0))`);
  emit(12, "// e((sum r_i) * alpha, beta)");
  emit(12, `mstore(${word(mulIn)}, ALPHA_X)`);
  emit(12, `mstore(${word(mulIn + 0x20)}, ALPHA_Y)`);
  emit(12, `mstore(${word(mulIn + 0x40)}, s)`);
  emit(12, `if iszero(staticcall(40000, 0x07, ${word(mulIn)}, 0x60, slot, 0x40)) { fail() }`);
  const g2Stores = (name: string) => {
    emit(12, `mstore(add(slot, 0x40), ${name}_X1)`);
    emit(12, `mstore(add(slot, 0x60), ${name}_X0)`);
    emit(12, `mstore(add(slot, 0x80), ${name}_Y1)`);
    emit(12, `mstore(add(slot, 0xa0), ${name}_Y0)`);
  };
  g2Stores("BETA");
  emit(12, "// e(sum r_i * L_i, gamma) = e((sum r_i) * IC_0 + sum_j t_j * IC_j, gamma)");
  emit(12, "slot := add(slot, 0xc0)");
  emit(12, `mstore(${word(mulIn)}, IC0_X)`);
  emit(12, `mstore(${word(mulIn + 0x20)}, IC0_Y)`);
  emit(12, `mstore(${word(mulIn + 0x40)}, s)`);
  emit(12, `if iszero(staticcall(40000, 0x07, ${word(mulIn)}, 0x60, slot, 0x40)) { fail() }`);
  for (let j = 0; j < perProof; j += 1) {
    emit(12, `addTerm(slot, IC${j + 1}_X, IC${j + 1}_Y, mload(${tAt(j)}))`);
  }
  if (shared) {
    emit(12, "// the shared definition hash: its coefficient is (sum r_i) * definitionHash");
    emit(12, `addTerm(slot, IC${perProof + 1}_X, IC${perProof + 1}_Y, mulmod(s, definitionHash, R))`);
  }
  g2Stores("GAMMA");
  emit(12, "// e(sum r_i * C_i, delta)");
  emit(12, "slot := add(slot, 0xc0)");
  emit(12, `mstore(slot, mload(${word(acc)}))`);
  emit(12, `mstore(add(slot, 0x20), mload(${word(acc + 0x20)}))`);
  g2Stores("DELTA");
  emit(0, "");
  emit(12, `mstore(${word(seedAt)}, 0)`);
  emit(
    12,
    `let ok := staticcall(gas(), 0x08, ${word(pairing)}, mul(add(n, 3), 0xc0), ${word(seedAt)}, 0x20)`,
  );
  emit(12, `mstore(${word(seedAt)}, and(ok, eq(mload(${word(seedAt)}), 1)))`);
  emit(12, `return(${word(seedAt)}, 0x20)`);
  emit(8, "}");
  emit(4, "}");
  emit(0, "}");
  return lines.join("\n") + "\n";
}

/**
 * Writes an instance's batch verifier (contracts/verifiers/<Instance>BatchVerifier.sol) from its
 * verification key; the key's public signals must be the instance's.
 */
export function exportBatchVerifier(instance: CircuitInstance): string {
  const vkey = readVerificationKey(instance.paths.vkey);
  const signals = publicSignalNamesOf(instance);
  if (vkey.nPublic !== signals.length) {
    throw new Error(
      `${instance.paths.vkey} has ${vkey.nPublic} public signals, ${instance.name} declares ${signals.length} ` +
        `(${signals.join(", ")})`,
    );
  }
  const source = renderBatchVerifier({
    contractName: batchVerifierContractOf(instance),
    instanceName: instance.name,
    kind: instance.kind,
    vkey,
    vkeySha256: createHash("sha256").update(fs.readFileSync(instance.paths.vkey)).digest("hex"),
  });
  const file = batchVerifierPathOf(instance);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, source);
  return file;
}

/** Whether an instance's batch verifier exists and was generated from its current verification key. */
export function isBatchVerifierCurrent(instance: CircuitInstance): boolean {
  const file = batchVerifierPathOf(instance);
  if (!fs.existsSync(file) || !fs.existsSync(instance.paths.vkey)) return false;
  const sha = createHash("sha256").update(fs.readFileSync(instance.paths.vkey)).digest("hex");
  return fs.readFileSync(file, "utf8").includes(`sha256 ${sha}`);
}
