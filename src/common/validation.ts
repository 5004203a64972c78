// Checks on input that no route schema covers (request shapes are checked by the contract's schemas:
// see contract-route.ts).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` can name a row keyed by uuid (anything else is answered 404 without a query that would fail). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
