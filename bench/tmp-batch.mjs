const tok = process.argv[2].trim();
for (let r = 0; r < 8; r++) {
  const ids = Array.from({ length: 10000 }, () => `bench-c-${String(Math.floor(Math.random() * 1e6)).padStart(7, '0')}`);
  const t = performance.now();
  const res = await fetch('http://127.0.0.1:4777/v1/training-eligibility/batch', { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: JSON.stringify({ chatIds: ids }) });
  const body = await res.text();
  console.log(res.status, (performance.now() - t).toFixed(1), body.length);
}
