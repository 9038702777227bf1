// Minimal typings for the parts of circomlibjs that wesflow uses (the package ships none).
declare module "circomlibjs" {
  type FieldElement = Uint8Array;
  interface Field {
    e(value: bigint | number | string): FieldElement;
    toObject(element: FieldElement): bigint;
  }
  interface Signature {
    R8: [FieldElement, FieldElement];
    S: bigint;
  }
  interface Eddsa {
    F: Field;
    prv2pub(privateKey: Uint8Array): [FieldElement, FieldElement];
    signPoseidon(privateKey: Uint8Array, message: FieldElement): Signature;
    verifyPoseidon(
      message: FieldElement,
      signature: Signature,
      publicKey: [FieldElement, FieldElement],
    ): boolean;
  }
  export function buildEddsa(): Promise<Eddsa>;
}
