import { toHex32 } from "../crypto";
import { httpOperationByCode, NOTARY_SYSTEM, type HttpDeclaration } from "../host";
import {
  ProviderSet,
  type CallRecord,
  type RunReceipt,
  type StepRecord,
  type Trace,
  type WorkflowLayout,
} from "../trace";
import {
  BUNDLE_FORMAT,
  type BundleCall,
  type BundleReceipt,
  type BundleStep,
  type RunBundle,
} from "./schema";

const dec = (x: bigint | number) => x.toString();

/** The bundle of a run that has been executed (proof and submission are added later). */
export function bundleFromTrace(args: {
  trace: Trace;
  templateId: string;
  traceRoot: bigint;
  traceDepth: number;
  providers: ProviderSet;
  executeMs: number;
  /** A generic template's run: the definition its proof is bound to. */
  definition?: { name: string; hash: bigint; layout: WorkflowLayout };
}): RunBundle {
  const { trace, providers } = args;
  return {
    format: BUNDLE_FORMAT,
    workflowId: toHex32(trace.workflowId),
    binding: {
      submitter: trace.binding.submitter,
      workflowTag: dec(trace.binding.workflowTag),
      runNonce: dec(trace.binding.runNonce),
    },
    scenario: trace.scenario,
    template: trace.template,
    templateId: args.templateId,
    outcome: trace.outcome,
    traceRoot: toHex32(args.traceRoot),
    traceDepth: args.traceDepth,
    steps: trace.steps.map((step) => ({
      ...step,
      request: step.request.map(dec),
      response: step.response.map(dec),
      salt: dec(step.salt),
    })),
    calls: trace.calls.map((call) => ({
      ...httpCallOf(call),
      callSeq: call.callSeq,
      stepIndex: call.stepIndex,
      system: call.system,
      operation: call.operation,
      operationName: call.operationName,
      idempotencyKey: call.idempotencyKey,
      requestHash: dec(call.requestHash),
      responseHash: dec(call.responseHash),
      request: call.requestJson,
      response: httpCallOf(call).response ?? call.responseJson,
      attestation: call.attestation && {
        system: call.attestation.system,
        systemCode: call.attestation.systemCode,
        publicKey: [dec(call.attestation.publicKey[0]), dec(call.attestation.publicKey[1])],
        signature: {
          R8: [dec(call.attestation.signature.R8[0]), dec(call.attestation.signature.R8[1])],
          S: dec(call.attestation.signature.S),
        },
      },
    })),
    ...(trace.receipts
      ? {
          receipts: trace.receipts.map((r) => ({
            system: r.system,
            systemCode: r.systemCode,
            count: r.count,
            chain: dec(r.chain),
            publicKey: [dec(r.publicKey[0]), dec(r.publicKey[1])] as [string, string],
            signature: {
              R8: [dec(r.signature.R8[0]), dec(r.signature.R8[1])] as [string, string],
              S: dec(r.signature.S),
            },
          })),
        }
      : {}),
    providerSet: {
      root: dec(providers.root),
      depth: providers.depth,
      providers: providers.providers.map((p) => ({
        system: p.system,
        systemCode: p.systemCode,
        publicKey: [dec(p.publicKey[0]), dec(p.publicKey[1])],
      })),
    },
    ...(args.definition
      ? {
          definition: {
            name: args.definition.name,
            hash: dec(args.definition.hash),
            layout: args.definition.layout,
          },
        }
      : {}),
    timings: { executeMs: args.executeMs },
    createdAt: new Date().toISOString(),
  };
}

/**
 * An HTTP call's declaration (the notary's calls of operations defined with defineHttpOperation), and
 * its answer as the notary relayed and signed it (`{url, status, text}`: not the body the step parsed).
 */
function httpCallOf(call: CallRecord): { http?: HttpDeclaration; response?: unknown } {
  if (call.system !== NOTARY_SYSTEM) return {};
  const spec = httpOperationByCode(call.operation);
  if (!spec) return {};
  const answer = call.responseJson as { url?: unknown; status?: unknown; text?: unknown } | null;
  return {
    http: spec.http,
    ...(answer ? { response: { url: answer.url, status: answer.status, text: answer.text } } : {}),
  };
}

/** A bundle's trace record with its fields back as bigints. */
export function stepRecordOf(step: BundleStep): StepRecord {
  return {
    ...step,
    request: step.request.map(BigInt),
    response: step.response.map(BigInt),
    salt: BigInt(step.salt),
  };
}

/** A bundle's call record with its hashes, key and signature back as bigints. */
export function callRecordOf(call: BundleCall): CallRecord {
  return {
    callSeq: call.callSeq,
    stepIndex: call.stepIndex,
    system: call.system,
    operation: call.operation,
    operationName: call.operationName,
    idempotencyKey: call.idempotencyKey,
    requestHash: BigInt(call.requestHash),
    responseHash: BigInt(call.responseHash),
    requestJson: call.request,
    responseJson: call.response,
    attestation: call.attestation && {
      system: call.attestation.system,
      systemCode: call.attestation.systemCode,
      publicKey: [BigInt(call.attestation.publicKey[0]), BigInt(call.attestation.publicKey[1])],
      signature: {
        R8: [BigInt(call.attestation.signature.R8[0]), BigInt(call.attestation.signature.R8[1])],
        S: BigInt(call.attestation.signature.S),
      },
    },
  };
}

/** The trace held by a bundle, with field elements back as bigints. */
export function traceFromBundle(bundle: RunBundle): Trace {
  return {
    workflowId: BigInt(bundle.workflowId),
    binding: {
      submitter: bundle.binding.submitter,
      workflowTag: BigInt(bundle.binding.workflowTag),
      runNonce: BigInt(bundle.binding.runNonce),
    },
    scenario: bundle.scenario,
    template: bundle.template,
    outcome: bundle.outcome,
    steps: bundle.steps.map(stepRecordOf),
    calls: bundle.calls.map(callRecordOf),
    ...(bundle.receipts ? { receipts: bundle.receipts.map(receiptOf) } : {}),
  };
}

/** A bundle's receipt with its chain, key and signature back as bigints. */
export function receiptOf(receipt: BundleReceipt): RunReceipt {
  return {
    system: receipt.system,
    systemCode: receipt.systemCode,
    count: receipt.count,
    chain: BigInt(receipt.chain),
    publicKey: [BigInt(receipt.publicKey[0]), BigInt(receipt.publicKey[1])],
    signature: {
      R8: [BigInt(receipt.signature.R8[0]), BigInt(receipt.signature.R8[1])],
      S: BigInt(receipt.signature.S),
    },
  };
}

export function providerSetFromBundle(bundle: RunBundle): ProviderSet {
  return new ProviderSet(
    bundle.providerSet.depth,
    bundle.providerSet.providers.map((p) => ({
      system: p.system,
      systemCode: p.systemCode,
      publicKey: [BigInt(p.publicKey[0]), BigInt(p.publicKey[1])],
    })),
  );
}
