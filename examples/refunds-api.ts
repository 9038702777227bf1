// A plain REST API, written as any would be (node:http, JSON in and out): credit notes and payouts of
// a shop's refunds. It signs nothing and knows nothing of wesflow; like many payment APIs it honours
// an `Idempotency-Key` header (a repeated key gets the first answer, nothing is done twice). The
// example workflow examples/refund.workflow.ts calls it through the signing notary:
//   npx ts-node --transpile-only examples/refunds-api.ts 4100          (this API on port 4100)
//   npx wesflow notary --upstream http://127.0.0.1:4100 --port 8600   (the notary in front of it)
//   WESFLOW_NOTARY_URL=http://127.0.0.1:8600 REFUNDS_API_URL=http://127.0.0.1:4100 \
//     npx wesflow run ./examples/refund.workflow.ts
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface CreditNote {
  id: string;
  orderId: string;
  amountCents: number;
  currency: string;
  status: "ISSUED" | "VOIDED";
}

export interface RefundsApi {
  url: string;
  creditNotes: Map<string, CreditNote>;
  payouts: { id: string; creditNoteId: string; amountCents: number }[];
  /** How many times each route performed something (repeated idempotency keys not counted). */
  performed: Record<string, number>;
  /** Holds the next `count` answers of a route for `ms` (after performing it): a lost answer. */
  delayAnswers(route: string, ms: number, count?: number): void;
  close(): Promise<void>;
}

/** Payouts above this are refused (HTTP 422): the refund needs a manual review. */
export const PAYOUT_LIMIT_CENTS = 50_000;

export async function startRefundsApi(port = 0): Promise<RefundsApi> {
  const creditNotes = new Map<string, CreditNote>();
  const payouts: RefundsApi["payouts"] = [];
  const performed: Record<string, number> = {};
  const answered = new Map<string, { status: number; body: string }>();
  const delays = new Map<string, { ms: number; count: number }>();

  const handle = (route: string, input: Record<string, unknown>): { status: number; body: unknown } => {
    performed[route] = (performed[route] ?? 0) + 1;
    if (route === "POST /credit-notes") {
      const { orderId, amountCents, currency } = input;
      if (typeof orderId !== "string" || typeof amountCents !== "number" || typeof currency !== "string")
        return { status: 400, body: { error: "orderId, amountCents and currency are required" } };
      const note: CreditNote = {
        id: `CN-${String(creditNotes.size + 1).padStart(5, "0")}`,
        orderId,
        amountCents,
        currency,
        status: "ISSUED",
      };
      creditNotes.set(note.id, note);
      return { status: 201, body: { creditNote: note, createdAt: new Date().toISOString() } };
    }
    if (route === "POST /credit-notes/void") {
      const note = creditNotes.get(String(input.creditNoteId));
      if (!note) return { status: 404, body: { error: `no credit note ${String(input.creditNoteId)}` } };
      note.status = "VOIDED";
      return { status: 200, body: { id: note.id, status: note.status } };
    }
    if (route === "POST /payouts") {
      const note = creditNotes.get(String(input.creditNoteId));
      if (!note || note.status !== "ISSUED") return { status: 409, body: { error: "no issued credit note" } };
      if (note.amountCents > PAYOUT_LIMIT_CENTS)
        return { status: 422, body: { error: "payout above the limit: manual review" } };
      const payout = {
        id: `PO-${String(payouts.length + 1).padStart(5, "0")}`,
        creditNoteId: note.id,
        amountCents: note.amountCents,
      };
      payouts.push(payout);
      return { status: 201, body: { payout, status: "PAID" } };
    }
    return { status: 404, body: { error: `no route ${route}` } };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const route = `${req.method ?? "GET"} ${new URL(req.url ?? "/", "http://x").pathname}`;
      const key = req.headers["idempotency-key"];
      const send = (answer: { status: number; body: string }) => {
        const delay = delays.get(route);
        const write = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { "content-type": "application/json" });
          res.end(answer.body);
        };
        if (delay && delay.count > 0) {
          delay.count -= 1;
          setTimeout(write, delay.ms);
        } else write();
      };
      const held = typeof key === "string" ? answered.get(`${route} ${key}`) : undefined;
      if (held) return send(held);
      let input: Record<string, unknown> = {};
      try {
        input = chunks.length
          ? (JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>)
          : {};
      } catch {
        return send({ status: 400, body: JSON.stringify({ error: "the body is not JSON" }) });
      }
      const result = handle(route, input);
      const answer = { status: result.status, body: JSON.stringify(result.body) };
      if (typeof key === "string") answered.set(`${route} ${key}`, answer);
      send(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    creditNotes,
    payouts,
    performed,
    delayAnswers: (route, ms, count = 1) => delays.set(route, { ms, count }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (require.main === module) {
  void startRefundsApi(Number(process.argv[2] ?? 4100)).then((api) =>
    process.stdout.write(`refunds API on ${api.url}\n`),
  );
}
