import type { WitnessTester } from "circomkit";
import { encodeRunClaim } from "../../src/chain";
import { derivePublicKey, signMessage } from "../../src/crypto";
import type { CircuitInput } from "../../src/prover";
import { orderTemplateInput } from "../../src/scenarios/order/witness";

const orderWorkflowInput = (args: Omit<Parameters<typeof orderTemplateInput>[0], "template">) =>
  orderTemplateInput({ template: "OrderWorkflow", ...args });
import { attestationMessage, hashFields, ProviderSet, type Trace } from "../../src/trace";
import { OPERATION_CODES, SYSTEM_CODES } from "../../src/systems";
import { circomkit } from "../fixtures/circomkit";
import {
  PROVIDER_DEPTH,
  providerFixtures,
  providerSetOf,
  signedOrderTrace,
  TRACE_DEPTH,
  type ProviderFixture,
} from "../fixtures/orderTrace";

const SUBMITTER = 0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266n;

const clone = (input: CircuitInput): CircuitInput => structuredClone(input);

describe("OrderWorkflow(4, 3) circuit", function () {
  this.timeout(600_000);
  let circuit: WitnessTester<string[], string[]>;
  let providers: ProviderFixture[];
  let providerSet: ProviderSet;
  let trace: Trace;
  let valid: CircuitInput;

  before(async () => {
    circuit = await circomkit.WitnessTester("OrderWorkflow_4_3", {
      file: "order/order",
      template: "OrderWorkflow",
      params: [TRACE_DEPTH, PROVIDER_DEPTH],
      pubs: ["workflowId", "traceRoot", "providerSetRoot"],
    });
    providers = await providerFixtures();
    providerSet = providerSetOf(providers);
    trace = await signedOrderTrace({ providers });
    valid = orderWorkflowInput({
      trace,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: TRACE_DEPTH,
    });
  });

  it("accepts a committed run whose traceRoot src/trace computed (TypeScript and circuit agree)", async () => {
    // Its one public output, the run claim: the submitter and the outcome (COMMITTED) in one signal.
    await circuit.expectPass(valid, { runClaim: encodeRunClaim(SUBMITTER, 1n) });
  });

  it("rejects a response field altered after signing (payment amount)", async () => {
    const input = clone(valid);
    (input.response as bigint[][])[2][2] = 1n;
    await circuit.expectFail(input);
  });

  it("rejects a request field altered after signing (shipping destination)", async () => {
    const input = clone(valid);
    (input.request as bigint[][])[3][3] = 42n;
    await circuit.expectFail(input);
  });

  it("rejects a forged signature (S of another message)", async () => {
    const payment = providers.find((p) => p.system === "payment")!;
    const other = await signMessage(payment.privateKey, 12345n);
    const input = clone(valid);
    (input.signatureS as bigint[])[0] = other.S;
    (input.signatureR8 as bigint[][])[0] = [...other.R8];
    await circuit.expectFail(input);
  });

  it("rejects a signature by a key outside the provider set", async () => {
    const foreignKey = Buffer.alloc(32, 99);
    const foreignPub = await derivePublicKey(foreignKey);
    const call = trace.calls[0];
    const signature = await signMessage(
      foreignKey,
      attestationMessage({
        workflowId: trace.workflowId,
        callSeq: call.callSeq,
        operation: call.operation,
        requestHash: call.requestHash,
        responseHash: call.responseHash,
      }),
    );
    // A set that does contain the foreign key gives it a valid path, but to another root.
    const foreignSet = new ProviderSet(PROVIDER_DEPTH, [
      { system: "payment", systemCode: SYSTEM_CODES.payment, publicKey: foreignPub },
      ...providerSet.providers.slice(1),
    ]);
    const path = foreignSet.pathOf(SYSTEM_CODES.payment, foreignPub);
    const input = clone(valid);
    (input.providerKey as bigint[][])[0] = [...foreignPub];
    (input.signatureR8 as bigint[][])[0] = [...signature.R8];
    (input.signatureS as bigint[])[0] = signature.S;
    (input.providerPathElements as bigint[][])[0] = path.pathElements;
    (input.providerPathIndices as bigint[][])[0] = path.pathIndices.map(BigInt);
    await circuit.expectFail(input);
  });

  it("rejects a call signed by another registered system (logistics key signing the payment)", async () => {
    const logistics = providers.find((p) => p.system === "logistics")!;
    const call = trace.calls[0];
    const signature = await signMessage(
      logistics.privateKey,
      attestationMessage({
        workflowId: trace.workflowId,
        callSeq: call.callSeq,
        operation: call.operation,
        requestHash: call.requestHash,
        responseHash: call.responseHash,
      }),
    );
    const path = providerSet.pathOf(SYSTEM_CODES.logistics, logistics.publicKey);
    const input = clone(valid);
    (input.providerKey as bigint[][])[0] = [...logistics.publicKey];
    (input.signatureR8 as bigint[][])[0] = [...signature.R8];
    (input.signatureS as bigint[])[0] = signature.S;
    (input.providerPathElements as bigint[][])[0] = path.pathElements;
    (input.providerPathIndices as bigint[][])[0] = path.pathIndices.map(BigInt);
    await circuit.expectFail(input);
  });

  it("rejects a signed call whose status is not success (a declined payment cannot commit)", async () => {
    const payment = providers.find((p) => p.system === "payment")!;
    const declined = [...trace.steps[2].response];
    declined[0] = 2n;
    const call = trace.calls[0];
    const signature = await signMessage(
      payment.privateKey,
      attestationMessage({
        workflowId: trace.workflowId,
        callSeq: 1,
        operation: OPERATION_CODES["payment.charge"],
        requestHash: call.requestHash,
        responseHash: hashFields(declined),
      }),
    );
    const tampered: Trace = {
      ...trace,
      steps: trace.steps.map((s, i) => (i === 2 ? { ...s, response: declined } : s)),
    };
    const input = orderWorkflowInput({
      trace: tampered,
      providers: providerSet,
      submitter: SUBMITTER,
      traceDepth: TRACE_DEPTH,
    });
    (input.signatureR8 as bigint[][])[0] = [...signature.R8];
    (input.signatureS as bigint[])[0] = signature.S;
    await circuit.expectFail(input);
  });

  it("rejects a traceRoot the trace does not hash to", async () => {
    const input = clone(valid);
    input.traceRoot = (valid.traceRoot as bigint) + 1n;
    await circuit.expectFail(input);
  });

  it("rejects a signature made for another workflow id (no replay of attestations across runs)", async () => {
    const input = clone(valid);
    input.workflowId = 777n;
    await circuit.expectFail(input);
  });

  it("rejects outcome ROLLED_BACK for a template that proves committed runs", async () => {
    const input = clone(valid);
    input.outcome = 2n;
    await circuit.expectFail(input);
  });

  it("binds the submitter: a witness with the submitter changed alone violates the constraints", async () => {
    const witness = await circuit.calculateWitness(valid);
    await circuit.expectConstraintPass(witness);
    const tampered = await circuit.editWitness(witness, { "main.submitter": SUBMITTER + 1n });
    await circuit.expectConstraintFail(tampered);
  });

  it("binds the run claim: a witness whose public runClaim names another submitter or outcome fails", async () => {
    const witness = await circuit.calculateWitness(valid);
    for (const runClaim of [encodeRunClaim(SUBMITTER + 1n, 1n), encodeRunClaim(SUBMITTER, 2n)]) {
      const tampered = await circuit.editWitness(witness, { "main.runClaim": runClaim });
      await circuit.expectConstraintFail(tampered);
    }
  });
});
