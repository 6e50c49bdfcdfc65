import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay, RECONNECT_DEFAULTS } from "../../src/index.js";

test("the ceiling doubles per attempt from the initial delay up to the cap", () => {
  const options = { initialDelay: 100, maxDelay: 1000, maxAttempts: Infinity };
  const justBelowOne = () => 0.999999;
  assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options, justBelowOne)), [99, 199, 399, 799, 999, 999]);
});

test("full jitter: the delay is anywhere from 0 to the ceiling", () => {
  const options = { initialDelay: 100, maxDelay: 1000, maxAttempts: Infinity };
  assert.equal(backoffDelay(3, options, () => 0), 0);
  assert.equal(backoffDelay(3, options, () => 0.5), 200);
});

test("defaults are 500 ms initial, 30 s cap, never give up", () => {
  assert.deepEqual(RECONNECT_DEFAULTS, { initialDelay: 500, maxDelay: 30_000, maxAttempts: Infinity });
  assert.equal(backoffDelay(30, RECONNECT_DEFAULTS, () => 0.999999), 29_999);
});
