/** The receipt request of a concatenated SMPP submit, from the registered_delivery of its parts. Pure. */

/**
 * The receipt a concatenated message asks for, from all its parts: Kannel sets
 * registered_delivery on the first part only, Jasmin on every part, others on the last.
 * SMPP values: 1 any final outcome, 2 failure only, 3 success only (SMPP 5.0); 1 wins over
 * the narrower ones, and failure-only plus success-only together is any outcome.
 */
export function receiptRequest(registered: readonly number[]): number {
  const asked = new Set(registered.map((r) => r & 0x03));
  if (asked.has(1) || (asked.has(2) && asked.has(3))) return 1;
  if (asked.has(2)) return 2;
  if (asked.has(3)) return 3;
  return 0;
}
