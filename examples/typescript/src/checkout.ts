// Buys, holds, confirms and reads an order through the typed client, and shows that a
// retried call with its Idempotency-Key makes one effect. Exits non-zero when anything is
// not as the contract says. Usage: node dist/checkout.js [base-url] (default :8080).
import { connect, once } from "./client.js";

const base = process.argv[2] ?? process.env.STOCKWATCH_URL ?? "http://127.0.0.1:8080";
const sw = connect(base, process.env.STOCKWATCH_TOKEN);
const sku = `ts-${Date.now()}`;

function check(ok: boolean, what: string, detail?: unknown): void {
  if (!ok) {
    console.error(`FAILED: ${what}`, detail ?? "");
    process.exit(1);
  }
  console.log(`ok: ${what}`);
}

// Admin: stock to sell (a PUT sets the level; repeating it is harmless).
const stocked = await sw.PUT("/v1/skus/{sku}/stock", {
  params: { path: { sku } },
  body: { available: 10 },
});
check(stocked.response.status === 200 && stocked.data?.available === 10, "stock set to 10", stocked.error);

// A purchase, as one logical call.
const bought = await once((key) =>
  sw.POST("/v1/purchases", {
    params: { query: { strategy: "watch" }, header: { "Idempotency-Key": key } },
    body: { sku, quantity: 2, user_id: "alice" },
  }),
);
check(bought.response.status === 201 && bought.data?.remaining === 8, "bought 2, 8 left", bought.error);

// The same logical call again (what a retry after a lost reply sends): one effect.
const key = `retry-${sku}`;
const first = await sw.POST("/v1/purchases", {
  params: { header: { "Idempotency-Key": key } },
  body: { sku, quantity: 1, user_id: "bob" },
});
const again = await sw.POST("/v1/purchases", {
  params: { header: { "Idempotency-Key": key } },
  body: { sku, quantity: 1, user_id: "bob" },
});
check(
  first.response.status === 201 && again.data?.order_id === first.data?.order_id,
  "a retried purchase answers the first order again",
  { first: first.data, again: again.data },
);

// A hold, then its confirmation: the sale.
const held = await once((k) =>
  sw.POST("/v1/reservations", {
    params: { header: { "Idempotency-Key": k } },
    body: { user_id: "carol", items: [{ sku, quantity: 3 }], ttl_seconds: 300 },
  }),
);
check(held.response.status === 201 && held.data !== undefined, "held 3 for 5 minutes", held.error);
const reservationId = held.data!.reservation_id;
const confirmed = await once((k) =>
  sw.POST("/v1/reservations/{id}/confirm", {
    params: { path: { id: reservationId }, header: { "Idempotency-Key": k } },
  }),
);
check(confirmed.response.status === 201 && confirmed.data !== undefined, "the hold is confirmed", confirmed.error);

// The order, read back by its id.
const order = await sw.GET("/v1/orders/{id}", { params: { path: { id: confirmed.data!.order_id } } });
check(order.response.status === 200 && order.data?.user_id === "carol", "the order reads back", order.error);

// Stock: 10 - 2 - 1 - 3 sold, nothing held.
const stock = await sw.GET("/v1/skus/{sku}", { params: { path: { sku } } });
check(
  stock.data?.available === 4 && stock.data?.sold === 6 && stock.data?.reserved === 0,
  "stock is 4 available, 6 sold, 0 reserved",
  stock.data,
);

// A refusal is an answer, typed by the contract: 409 insufficient_stock.
const tooMany = await sw.POST("/v1/purchases", { body: { sku, quantity: 99, user_id: "dave" } });
check(
  tooMany.response.status === 409 && tooMany.error?.error === "insufficient_stock",
  "99 more is refused with 409 insufficient_stock",
  tooMany.error,
);
