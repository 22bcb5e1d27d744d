import autocannon from 'autocannon';
const users = Array.from({ length: 10000 }, (_, i) => `bench-u-${String(i).padStart(6, '0')}`).sort(() => Math.random() - 0.5);
let k = 0;
const r = await autocannon({ url: `http://127.0.0.1:${process.argv[2]}`, connections: 32, duration: 10,
  headers: process.argv[3] ? { authorization: `Bearer ${process.argv[3]}` } : {},
  requests: [{ setupRequest: (req) => ({ ...req, path: process.argv[4].replace('ID', users[k++ % users.length]) }) }] });
console.log(r.requests.average, r.non2xx);
