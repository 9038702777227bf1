/**
 * The simulated ERP's master data: the products it can plan, each with its bill of materials per
 * unit (at most 3 materials, the slots of a plan's fields) and its quality specification, the range
 * the quality lab's measured value must lie in (inclusive, in the product's unit of measurement).
 */
export interface ErpProduct {
  description: string;
  bom: readonly { material: string; perUnit: number }[];
  spec: { min: number; max: number; measures: string };
}

export const ERP_PRODUCTS: Readonly<Record<string, ErpProduct>> = {
  "GEARBOX-7": {
    description: "gearbox, 7 speeds",
    bom: [
      { material: "STEEL", perUnit: 12 },
      { material: "BEARING", perUnit: 4 },
      { material: "OIL", perUnit: 1 },
    ],
    spec: { min: 4_950, max: 5_050, measures: "shaft bore, µm" },
  },
  "PUMP-3": {
    description: "centrifugal pump, 3 kW",
    bom: [
      { material: "STEEL", perUnit: 5 },
      { material: "SEAL", perUnit: 2 },
    ],
    spec: { min: 180, max: 220, measures: "flow at 2 bar, l/min" },
  },
  "VALVE-1": {
    description: "ball valve, 1 inch",
    bom: [{ material: "BRASS", perUnit: 3 }],
    spec: { min: 0, max: 15, measures: "leak rate at 10 bar, ml/h" },
  },
};
