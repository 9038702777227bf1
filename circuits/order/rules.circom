pragma circom 2.1.9;

include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";
include "../lib/state.circom";

// OrderRules()
// The business rules of the e-commerce order (circuits/order/order.circom's template) over the records of
// its six forward steps, which SagaWorkflow always puts in slots 0..5 (forward step j in slot j), so
// the caller passes request[0..5] and response[0..5] of the trace. Step j's rules apply when step j
// completed OK, i.e. j < failedStep (failedStep = 6: none failed, the run committed); records of a
// failed step and the compensations that follow it in slots j >= failedStep are not looked at.
//
// Record fields (src/scenarios/order/workflow.ts and operations.ts):
//   0 create_order       request  [orderId, customerId, sku, quantity]
//                        response [unitPriceCents, netCents, taxCents, taxRateBps]
//   1 reserve_inventory  request  [orderId, sku, quantity, 0]
//                        response [stockBefore, stockAfter, 0, 0]
//   2 payment.charge     request  [orderId, customerId, amountCents, currency]
//                        response [status, paymentRef, amountCents (captured), 0]
//   3 logistics.ship     request  [orderId, sku, quantity, destination]
//   4 invoice.issue      request  [orderId, customerId, amountCents, taxCents]
//                        response [status, invoiceNumber, amountCents (invoiced), 0]
//   5 accounting         request  [orderId, grossCents, netCents, taxCents]
//                        response [debitsCents, creditsCents, entries, 0]
//
// Rules, with gross = net + tax:
//   create_order (j = 0): quantity, unitPrice, net, tax, gross are 64-bit; quantity >= 1;
//     taxRateBps <= 10000;
//     net = quantity * unitPrice; tax = floor((net * taxRateBps + 5000) / 10000), i.e. JavaScript's
//     Math.round(net * rate / 10000) for net >= 0, proven as net * rate + 5000 = 10000 * tax + r
//     with 0 <= r < 10000 (r is a linear combination of checked signals: no hint);
//   reserve (j = 1): orderId, sku, quantity = create_order's; stockBefore and stockAfter 64-bit
//     (so neither is negative) and stockAfter = stockBefore - quantity;
//   payment (j = 2): orderId, customerId = create_order's; amount charged = amount captured = gross;
//   logistics (j = 3): orderId, sku, quantity = create_order's;
//   invoice (j = 4): orderId, customerId = create_order's; amount = invoiced amount = gross;
//     taxCents = tax;
//   accounting (j = 5): request [orderId, gross, net, tax] = create_order's; debits = credits = gross.
// Every value the rules compare is 64-bit, being equal to a checked one; a product of two 64-bit
// values (< 2^128) or net * rate (< 2^78) never wraps the field, so the equations hold over the
// integers. Both LessThan(14) get 14-bit-checked inputs (the constants 10000 and 10001 < 2^14).
// How: the create_order values are gated, v * done[0] (0 when step 0 did not complete), and range
// checked gated; each later rule is done[j] * (a - b) === 0 (done[j] = 1 implies done[0] = 1).
// Not checked here: the failed step's record, the compensations (their amounts, the stock
// released), the free-text fields (currency, destination, references).
template OrderRules() {
    var N = 6;
    var FIELDS = 4;
    signal input failedStep;
    signal input request[N][FIELDS];
    signal input response[N][FIELDS];

    // ---- done[j] = 1 when forward step j completed OK (j < failedStep)
    component isK[N + 1];
    signal sel[N + 1];
    var selSum = 0;
    for (var k = 0; k <= N; k++) {
        isK[k] = IsEqual();
        isK[k].in[0] <== failedStep;
        isK[k].in[1] <== k;
        sel[k] <== isK[k].out;
        selSum += sel[k];
    }
    selSum === 1;
    signal done[N];
    for (var j = 0; j < N; j++) {
        var completed = 0;
        for (var k = j + 1; k <= N; k++) {
            completed += sel[k];
        }
        done[j] <== completed;
    }

    // ---- create_order (slot 0): the order's figures, gated by done[0]
    signal orderId <== request[0][0];
    signal customerId <== request[0][1];
    signal sku <== request[0][2];
    signal quantity <== done[0] * request[0][3];
    signal unitPrice <== done[0] * response[0][0];
    signal net <== done[0] * response[0][1];
    signal tax <== done[0] * response[0][2];
    signal taxRate <== done[0] * response[0][3];
    signal gross <== net + tax;

    component quantity64 = Uint64();
    quantity64.in <== quantity;
    component unitPrice64 = Uint64();
    unitPrice64.in <== unitPrice;
    component net64 = Uint64();
    net64.in <== net;
    component tax64 = Uint64();
    tax64.in <== tax;
    component gross64 = Uint64();
    gross64.in <== gross;

    component taxRateBits = Num2Bits(14);
    taxRateBits.in <== taxRate;
    component taxRateMax = LessThan(14);
    taxRateMax.in[0] <== taxRate;
    taxRateMax.in[1] <== 10001;
    taxRateMax.out === 1;

    // quantity >= 1 once the order was created (an order of 0 would commit and move nothing)
    component quantityZero = IsZero();
    quantityZero.in <== quantity;
    done[0] * quantityZero.out === 0;

    // net = quantity * unitPrice
    net === quantity * unitPrice;

    // tax = floor((net * rate + 5000) / 10000): net * rate + 5000 = 10000 * tax + remainder, 0 <= remainder < 10000
    signal netTimesRate <== net * taxRate;
    signal remainder <== netTimesRate + 5000 * done[0] - 10000 * tax;
    component remainderBits = Num2Bits(14);
    remainderBits.in <== remainder;
    component remainderMax = LessThan(14);
    remainderMax.in[0] <== remainder;
    remainderMax.in[1] <== 10000;
    remainderMax.out === 1;

    // ---- reserve_inventory (slot 1)
    done[1] * (request[1][0] - orderId) === 0;
    done[1] * (request[1][1] - sku) === 0;
    done[1] * (request[1][2] - request[0][3]) === 0;
    signal stockBefore <== done[1] * response[1][0];
    signal stockAfter <== done[1] * response[1][1];
    component stockBefore64 = Uint64();
    stockBefore64.in <== stockBefore;
    component stockAfter64 = Uint64();
    stockAfter64.in <== stockAfter;
    done[1] * (response[1][0] - response[1][1] - request[1][2]) === 0;

    // ---- payment.charge (slot 2)
    done[2] * (request[2][0] - orderId) === 0;
    done[2] * (request[2][1] - customerId) === 0;
    done[2] * (request[2][2] - gross) === 0;
    done[2] * (response[2][2] - gross) === 0;

    // ---- logistics.ship (slot 3)
    done[3] * (request[3][0] - orderId) === 0;
    done[3] * (request[3][1] - sku) === 0;
    done[3] * (request[3][2] - request[0][3]) === 0;

    // ---- invoice.issue (slot 4)
    done[4] * (request[4][0] - orderId) === 0;
    done[4] * (request[4][1] - customerId) === 0;
    done[4] * (request[4][2] - gross) === 0;
    done[4] * (request[4][3] - tax) === 0;
    done[4] * (response[4][2] - gross) === 0;

    // ---- accounting (slot 5)
    done[5] * (request[5][0] - orderId) === 0;
    done[5] * (request[5][1] - gross) === 0;
    done[5] * (request[5][2] - net) === 0;
    done[5] * (request[5][3] - tax) === 0;
    done[5] * (response[5][0] - response[5][1]) === 0;
    done[5] * (response[5][1] - gross) === 0;
}
