import { toHex32, verifySignature } from "../crypto";
import {
  receiptCallsOf,
  receiptChain,
  receiptMessage,
  receiptSystemsOf,
  type ProviderSet,
  type RunReceipt,
  type SystemName,
  type Trace,
} from "../trace";
import { DEFAULT_CALL_TIMEOUT_MS } from "./host";
import {
  describeZodError,
  ErrorBodySchema,
  ReceiptResponseBodySchema,
  type ReceiptRequestBody,
} from "./protocol";

/** A system did not give a receipt of the run that checks (unreachable, refused, or not matching). */
export class ReceiptError extends Error {
  override name = "ReceiptError";
  constructor(
    message: string,
    readonly system: string,
    /** Worth asking again later (unreachable, 5xx, timeout), rather than final. */
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Asks every system with signed calls in a finished run for its receipt of them (`POST /receipt`,
 * src/trace/receipt.ts) and checks each: the key registered for the system in the provider set, a
 * signature over Poseidon(RECEIPT_TAG, workflowId, count, chain) with the count and chain of the
 * trace's own signed calls of that system. Retries an unreachable or busy system (`attempts`, with a
 * short backoff); a refusal (409: the system did not answer those calls so) is final. Receipts
 * are a pure read of what the systems already signed: asking again (a resume) gives the same one.
 */
export async function requestReceipts(args: {
  trace: Pick<Trace, "workflowId" | "calls">;
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  timeoutMs?: number;
  attempts?: number;
}): Promise<RunReceipt[]> {
  const receipts: RunReceipt[] = [];
  for (const system of receiptSystemsOf(args.trace)) {
    receipts.push(await receiptOf({ ...args, system }));
  }
  return receipts.sort((a, b) => a.systemCode - b.systemCode);
}

async function receiptOf(args: {
  trace: Pick<Trace, "workflowId" | "calls">;
  system: string;
  endpoints: Partial<Record<SystemName, string>>;
  providers: ProviderSet;
  timeoutMs?: number;
  attempts?: number;
}): Promise<RunReceipt> {
  const { trace, system, providers } = args;
  const endpoint = args.endpoints[system as SystemName];
  if (!endpoint)
    throw new ReceiptError(`no endpoint for ${system}: its receipt cannot be asked for`, system, false);
  const registered = providers.keyOf(system);
  if (!registered) throw new ReceiptError(`${system} has no key in the provider set`, system, false);
  const calls = receiptCallsOf(trace, system);
  const body: ReceiptRequestBody = {
    workflowId: toHex32(trace.workflowId),
    calls: calls.map((c) => ({
      callSeq: c.callSeq,
      operation: c.operationName,
      requestHash: c.requestHash.toString(),
      responseHash: c.responseHash.toString(),
    })),
  };
  const attempts = args.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      const answer = await post(
        new URL("/receipt", endpoint),
        body,
        system,
        args.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS,
      );
      const parsed = ReceiptResponseBodySchema.safeParse(answer);
      if (!parsed.success) {
        throw new ReceiptError(
          `${system}'s receipt is malformed: ${describeZodError(parsed.error, "receipt")}`,
          system,
          false,
        );
      }
      const { count, chain, attestation } = parsed.data;
      const expected = receiptChain(calls);
      if (count !== calls.length || chain !== expected) {
        throw new ReceiptError(
          `${system}'s receipt covers ${count} calls with another chain than the run's ${calls.length} signed calls of it`,
          system,
          false,
        );
      }
      if (
        attestation.publicKey[0] !== registered.publicKey[0] ||
        attestation.publicKey[1] !== registered.publicKey[1]
      ) {
        throw new ReceiptError(
          `${system}'s receipt is signed with a key not registered for it`,
          system,
          false,
        );
      }
      const message = receiptMessage(trace.workflowId, count, chain);
      if (!(await verifySignature(message, attestation.signature, registered.publicKey))) {
        throw new ReceiptError(
          `${system}'s receipt signature does not verify under its registered key`,
          system,
          false,
        );
      }
      return {
        system,
        systemCode: registered.systemCode,
        count,
        chain,
        publicKey: registered.publicKey,
        signature: attestation.signature,
      };
    } catch (error) {
      const retryable = error instanceof ReceiptError && error.retryable;
      if (!retryable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (attempt - 1)));
    }
  }
}

async function post(url: URL, body: ReceiptRequestBody, system: string, timeoutMs: number): Promise<unknown> {
  let status: number;
  let text: string;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.status;
    text = await res.text();
  } catch (cause) {
    throw new ReceiptError(
      `cannot get ${system}'s receipt from ${url.origin}: ${(cause as Error).message}`,
      system,
      true,
      {
        cause,
      },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status === 200) return json;
  const problem = ErrorBodySchema.safeParse(json);
  const detail = problem.success
    ? `${problem.data.error.code}: ${problem.data.error.message}`
    : text.slice(0, 200);
  throw new ReceiptError(
    `${system} refused the run's receipt: HTTP ${status} ${detail}`,
    system,
    status >= 500 || status === 429,
  );
}
