pragma circom 2.1.9;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// The clearing's field layouts (src/systems/venue/README.md, src/systems/bank/README.md,
// src/scenarios/clearing/): short codes (batch id, institutions) are up to 8 characters of A-Z, 0-9
// and '-', so each byte is below 128; the venue's batch packs them 7 bits a byte. A code's value (its
// state key, `encodeString`) is the big-endian number of its bytes, byte i (from the low end) at bits
// 8i..8i+6: a linear function of its 7-bit packing.

// ClearingBatch()
// Splits the trade venue's signed batch (venue.confirmBatch's request, 4 fields) into its parts. The
// fields are one bit string, field f holding bits 253f .. 253f + 252 (Num2Bits(253) each: below the
// modulus, so the split is unique):
//   [0, 56)     batch id (a code, 7 bits a byte)
//   [56, 58)    number of institutions - 1 (1..4 institutions)
//   [58, 61)    number of trades - 1 (1..8 trades)
//   [61, 285)   institutions 0..3 (codes, 56 bits each; 0 when not in the batch)
//   [285, 997)  trades 0..7, 89 bits each: payer slot (2), payee slot (2), amount (53: a JSON safe
//               integer), trade id (32); a slot is an institution's index 0..3
//   [997, 1012) 0
// Outputs the batch id, the counts, one-hot selectors `member[j]` (j < number of institutions) and
// `active[t]` (t < number of trades), the institutions' codes and, per trade, its amount and the
// one-hot selectors of its payer's and payee's slots. Checked here: the unused bits are 0, a trade
// after the last is all 0, an institution after the last is 0. The rules are ClearingRules'.
template ClearingBatch() {
    var FIELD_BITS = 253;
    var TRADE_OFF = 285;
    var TRADE_BITS = 89;
    signal input fields[4];
    signal output batchId;
    signal output institutions;
    signal output trades;
    signal output member[4];
    signal output code[4];
    signal output active[8];
    signal output amount[8];
    signal output paySlot[8][4];
    signal output receiveSlot[8][4];
    signal output payer[8];
    signal output payee[8];

    component split[4];
    signal bit[4 * FIELD_BITS];
    for (var f = 0; f < 4; f++) {
        split[f] = Num2Bits(FIELD_BITS);
        split[f].in <== fields[f];
        for (var i = 0; i < FIELD_BITS; i++) bit[f * FIELD_BITS + i] <== split[f].out[i];
    }
    for (var g = TRADE_OFF + 8 * TRADE_BITS; g < 4 * FIELD_BITS; g++) bit[g] === 0;

    var batch = 0;
    for (var i = 0; i < 8; i++) {
        for (var b = 0; b < 7; b++) batch += bit[7 * i + b] * (1 << (8 * i + b));
    }
    batchId <== batch;
    institutions <== 1 + bit[56] + 2 * bit[57];
    trades <== 1 + bit[58] + 2 * bit[59] + 4 * bit[60];

    // one-hot of the counts: member[j] = 1 for j < institutions, active[t] = 1 for t < trades
    component isM[4];
    for (var j = 0; j < 4; j++) {
        isM[j] = IsEqual();
        isM[j].in[0] <== institutions;
        isM[j].in[1] <== j + 1;
    }
    for (var j = 0; j < 4; j++) {
        var atLeast = 0;
        for (var u = j; u < 4; u++) atLeast += isM[u].out;
        member[j] <== atLeast;
    }
    component isT[8];
    for (var t = 0; t < 8; t++) {
        isT[t] = IsEqual();
        isT[t].in[0] <== trades;
        isT[t].in[1] <== t + 1;
    }
    for (var t = 0; t < 8; t++) {
        var atLeast = 0;
        for (var u = t; u < 8; u++) atLeast += isT[u].out;
        active[t] <== atLeast;
    }

    for (var j = 0; j < 4; j++) {
        var value = 0;
        for (var i = 0; i < 8; i++) {
            for (var b = 0; b < 7; b++) value += bit[61 + 56 * j + 7 * i + b] * (1 << (8 * i + b));
        }
        code[j] <== value;
        // an institution after the last is none
        (1 - member[j]) * code[j] === 0;
    }

    signal payPair[8];
    signal receivePair[8];
    for (var t = 0; t < 8; t++) {
        var base = TRADE_OFF + TRADE_BITS * t;
        var all = 0;
        for (var i = 0; i < TRADE_BITS; i++) all += bit[base + i] * (1 << i);
        // a trade after the last is all 0
        (1 - active[t]) * all === 0;
        var value = 0;
        for (var i = 0; i < 53; i++) value += bit[base + 4 + i] * (1 << i);
        amount[t] <== value;
        payer[t] <== bit[base] + 2 * bit[base + 1];
        payee[t] <== bit[base + 2] + 2 * bit[base + 3];
        // slot selectors from the two bits of each slot
        payPair[t] <== bit[base] * bit[base + 1];
        paySlot[t][0] <== 1 - bit[base] - bit[base + 1] + payPair[t];
        paySlot[t][1] <== bit[base] - payPair[t];
        paySlot[t][2] <== bit[base + 1] - payPair[t];
        paySlot[t][3] <== payPair[t];
        receivePair[t] <== bit[base + 2] * bit[base + 3];
        receiveSlot[t][0] <== 1 - bit[base + 2] - bit[base + 3] + receivePair[t];
        receiveSlot[t][1] <== bit[base + 2] - receivePair[t];
        receiveSlot[t][2] <== bit[base + 3] - receivePair[t];
        receiveSlot[t][3] <== receivePair[t];
    }
}

// ClearingRules()
// The clearing's business rules over its committed run's records (ClearingWorkflow puts forward step
// j in slot j) and its four state writes (StateUpdates' inputs, domain clearing/balances: key = an
// institution's code, value = its balance at the settlement bank).
//
//   slot 0 confirm_trades   venue.confirmBatch  request: the batch (ClearingBatch); response: status, confirmation, 0, 0
//   slot 1 compute_clearing (local)             request: batch id, institutions, trades, gross; response: net 0..3
//   slot 2 transfer_funds   bank.transferBatch  request: batch id, codes 0|1|2, code 3|amount 0|amount 1,
//                                               amount 2|amount 3|sides; response: status, transfer, legs hash, 0
//   slot 3 reconcile        bank.statement      request: batch id, codes 0|1|2, code 3|expected 0|expected 1,
//                                               expected 2|expected 3; response: status, balance 0|1|2, balance 3, statement
//   slots 4..7 settle_1..4  (local)             request: code j, net j, balance before, balance after; response: settled, 0, 0, 0
// (a|b|c: 64-bit limbs of one field, a lowest; a net is a field element, negative ones p - |net|.)
//
// Rules, checked in this order (so a tampered record fails at the rule it breaks):
//   - institutions: in the batch's count, distinct and non-zero; a trade's payer and payee are
//     institutions of the batch (registered: each institution's balance is written below, and the
//     state template opens only keys the domain holds) and differ;
//   - the netting record: the batch's id, counts and gross (Σ amounts); its nets sum to zero; each
//     net = Σ amounts received − Σ amounts paid by that institution over the batch's trades;
//   - the bank's legs: the batch's id, the batch's institutions in order, leg j (amount, side PAY =
//     negative) = net j; the bank's answer carries legsHash = Poseidon(code 0, leg 0, ..., code 3, leg 3);
//   - the balances: write j is institution j's (enabled exactly for the batch's institutions), balance
//     after = balance before + net j; StateUpdates range-checks both to 64 bits: never negative;
//   - reconciliation: the statement asks of the batch's institutions with the balances after as the
//     expected ones, and the bank's signed statement shows exactly those balances;
//   - settle_j records institution j's code, net and balances (zeros for a slot without one).
// Every amount is a range-checked integer: trade amounts 53 bits, legs, balances and statement limbs
// 64 bits; a net is below 8 * 2^53 in magnitude, so no equation wraps around the field.
template ClearingRules() {
    var L64 = 1 << 64;
    var L128 = 1 << 128;
    signal input request[8][4];
    signal input response[8][4];
    signal input writeEnabled[4];
    signal input writeKey[4];
    signal input valueBefore[4];
    signal input valueAfter[4];

    // ---- the venue's batch
    component batch = ClearingBatch();
    batch.fields <== request[0];

    // institutions distinct and non-zero
    component none[4];
    for (var j = 0; j < 4; j++) {
        none[j] = IsZero();
        none[j].in <== batch.code[j];
        batch.member[j] * none[j].out === 0;
    }
    component same[6];
    var pair = 0;
    for (var i = 0; i < 4; i++) {
        for (var j = i + 1; j < 4; j++) {
            same[pair] = IsEqual();
            same[pair].in[0] <== batch.code[i];
            same[pair].in[1] <== batch.code[j];
            batch.member[j] * same[pair].out === 0;
            pair++;
        }
    }
    // a trade's payer and payee are institutions of the batch, and differ
    signal payKnown[8][4];
    signal receiveKnown[8][4];
    component selfTrade[8];
    for (var t = 0; t < 8; t++) {
        var payerIn = 0;
        var payeeIn = 0;
        for (var j = 0; j < 4; j++) {
            payKnown[t][j] <== batch.paySlot[t][j] * batch.member[j];
            receiveKnown[t][j] <== batch.receiveSlot[t][j] * batch.member[j];
            payerIn += payKnown[t][j];
            payeeIn += receiveKnown[t][j];
        }
        payerIn === 1;
        payeeIn === 1;
        selfTrade[t] = IsEqual();
        selfTrade[t].in[0] <== batch.payer[t];
        selfTrade[t].in[1] <== batch.payee[t];
        batch.active[t] * selfTrade[t].out === 0;
    }

    // ---- the netting: nets sum to zero, each the institution's received - paid
    signal paid[8][4];
    signal received[8][4];
    var gross = 0;
    for (var t = 0; t < 8; t++) gross += batch.amount[t];
    request[1][0] === batch.batchId;
    request[1][1] === batch.institutions;
    request[1][2] === batch.trades;
    request[1][3] === gross;
    response[1][0] + response[1][1] + response[1][2] + response[1][3] === 0;
    for (var j = 0; j < 4; j++) {
        var net = 0;
        for (var t = 0; t < 8; t++) {
            paid[t][j] <== batch.amount[t] * batch.paySlot[t][j];
            received[t][j] <== batch.amount[t] * batch.receiveSlot[t][j];
            net += received[t][j] - paid[t][j];
        }
        response[1][j] === net;
    }

    // ---- the bank's legs: the batch's institutions, leg j = net j, their hash in the bank's answer
    request[2][0] === batch.batchId;
    request[2][1] === batch.code[0] + batch.code[1] * L64 + batch.code[2] * L128;
    component legLimbs = Num2Bits(192);
    legLimbs.in <== request[2][2];
    component legTail = Num2Bits(132);
    legTail.in <== request[2][3];
    var code3 = 0;
    var legAmount[4] = [0, 0, 0, 0];
    for (var i = 0; i < 64; i++) {
        code3 += legLimbs.out[i] * (1 << i);
        legAmount[0] += legLimbs.out[64 + i] * (1 << i);
        legAmount[1] += legLimbs.out[128 + i] * (1 << i);
        legAmount[2] += legTail.out[i] * (1 << i);
        legAmount[3] += legTail.out[64 + i] * (1 << i);
    }
    code3 === batch.code[3];
    signal payAmount[4];
    signal leg[4];
    for (var j = 0; j < 4; j++) {
        payAmount[j] <== legTail.out[128 + j] * legAmount[j];
        leg[j] <== legAmount[j] - 2 * payAmount[j];
        leg[j] === response[1][j];
    }
    component legsHash = Poseidon(8);
    for (var j = 0; j < 4; j++) {
        legsHash.inputs[2 * j] <== batch.code[j];
        legsHash.inputs[2 * j + 1] <== leg[j];
    }
    response[2][2] === legsHash.out;

    // ---- the balances: one write per institution of the batch, balance after = before + net
    signal after[4];
    signal before[4];
    for (var j = 0; j < 4; j++) {
        writeEnabled[j] === batch.member[j];
        writeKey[j] === batch.code[j];
        valueAfter[j] === valueBefore[j] + response[1][j];
        after[j] <== batch.member[j] * valueAfter[j];
        before[j] <== batch.member[j] * valueBefore[j];
    }

    // ---- reconciliation: the statement of the balances after, as the bank signed it
    request[3][0] === batch.batchId;
    request[3][1] === batch.code[0] + batch.code[1] * L64 + batch.code[2] * L128;
    request[3][2] === batch.code[3] + after[0] * L64 + after[1] * L128;
    request[3][3] === after[2] + after[3] * L64;
    response[3][1] === after[0] + after[1] * L64 + after[2] * L128;
    response[3][2] === after[3];

    // ---- settle_j: institution j's leg and balance move
    for (var j = 0; j < 4; j++) {
        request[4 + j][0] === batch.code[j];
        request[4 + j][1] === response[1][j];
        request[4 + j][2] === before[j];
        request[4 + j][3] === after[j];
        response[4 + j][0] === batch.member[j];
        response[4 + j][1] === 0;
        response[4 + j][2] === 0;
        response[4 + j][3] === 0;
    }
}

// ClearingReversal(SLOTS)
// A rolled-back clearing whose transfer took effect was reversed: wherever the layout (failedStep k,
// settlement m) puts the compensation of transfer_funds (bank.reverseBatch), its request is [batch id,
// transfer, legs hash, 0] of the transfer record (slot 2: its request's batch id, its response's
// transfer reference and legs hash) and the bank's answer carries the same legs hash. The layouts
// with that compensation, and its slot (circuits/clearing/clearing.circom's steps; the compensations
// of compute_clearing and transfer_funds are the only ones): (k, m) = (2, 2): 4; (3, 0): 4; (3, 1): 5;
// (3, 2): 5; (4..7, 0): k + 1.
template ClearingReversal(SLOTS) {
    assert(SLOTS >= 10);
    signal input failedStep;
    signal input settlement;
    signal input request[SLOTS][4];
    signal input response[SLOTS][4];

    var LAYOUTS = 8;
    var K[8] = [2, 3, 3, 3, 4, 5, 6, 7];
    var M[8] = [2, 0, 1, 2, 0, 0, 0, 0];
    var AT[8] = [4, 4, 5, 5, 5, 6, 7, 8];
    component isK[LAYOUTS];
    component isM[LAYOUTS];
    signal sel[LAYOUTS];
    signal term[LAYOUTS][4];
    var reversed = 0;
    var batchId = 0;
    var transfer = 0;
    var legs = 0;
    var answered = 0;
    for (var l = 0; l < LAYOUTS; l++) {
        isK[l] = IsEqual();
        isK[l].in[0] <== failedStep;
        isK[l].in[1] <== K[l];
        isM[l] = IsEqual();
        isM[l].in[0] <== settlement;
        isM[l].in[1] <== M[l];
        sel[l] <== isK[l].out * isM[l].out;
        reversed += sel[l];
        term[l][0] <== sel[l] * request[AT[l]][0];
        term[l][1] <== sel[l] * request[AT[l]][1];
        term[l][2] <== sel[l] * request[AT[l]][2];
        term[l][3] <== sel[l] * response[AT[l]][2];
        batchId += term[l][0];
        transfer += term[l][1];
        legs += term[l][2];
        answered += term[l][3];
    }
    signal hasReversal <== reversed;
    signal expectBatch <== hasReversal * request[2][0];
    signal expectTransfer <== hasReversal * response[2][1];
    signal expectLegs <== hasReversal * response[2][2];
    batchId === expectBatch;
    transfer === expectTransfer;
    legs === expectLegs;
    answered === expectLegs;
}
